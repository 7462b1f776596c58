#include "compiler/load.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "compiler/parse.h"

namespace ztc {

bool RealFileSystem::read(const std::string& path, std::string* contents, std::string* error) {
  // The system would read the name up to the NUL: another file.
  if (path.find('\0') != std::string::npos) {
    *error = "a file name cannot hold a NUL byte";
    return false;
  }
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) {
    *error = std::strerror(errno);
    return false;
  }
  if (S_ISDIR(info.st_mode)) {
    *error = "is a directory";
    return false;
  }
  if (S_ISREG(info.st_mode) && static_cast<size_t>(info.st_size) > kMaxPolicyBytes) {
    *error = "file too large (" + std::to_string(info.st_size) + " bytes; the limit is " +
             std::to_string(kMaxPolicyBytes >> 20) + " MiB)";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = std::strerror(errno);
    return false;
  }
  // Bounded read: pipes and /proc files report no size.
  std::string data;
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    data.append(buffer, static_cast<size_t>(in.gcount()));
    if (data.size() > kMaxPolicyBytes) {
      *error = "file too large (the limit is " + std::to_string(kMaxPolicyBytes >> 20) + " MiB)";
      return false;
    }
  }
  *contents = std::move(data);
  return true;
}

bool MemoryFileSystem::read(const std::string& path, std::string* contents, std::string* error) {
  auto it = files_.find(path);
  if (it == files_.end()) {
    *error = "No such file or directory";
    return false;
  }
  *contents = it->second;
  return true;
}

namespace {

std::string directory_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

class Loader {
 public:
  Loader(FileSystem& files, Diagnostics& diagnostics) : files_(files), diagnostics_(diagnostics) {}

  void load(const std::string& path, const Location& included_at, ast::Policy& out) {
    for (const std::string& open : stack_) {
      if (open == path) {
        diagnostics_.error(included_at, "include cycle: '" + path + "' includes itself");
        return;
      }
    }
    if (static_cast<int>(stack_.size()) >= kMaxIncludeDepth) {
      diagnostics_.error(included_at, "includes nested more than " +
                                          std::to_string(kMaxIncludeDepth) + " deep");
      return;
    }
    if (++files_read_ > kMaxPolicyFiles) {
      if (files_read_ == kMaxPolicyFiles + 1) {
        diagnostics_.error(included_at, "cannot include '" + path + "': a policy reads at most " +
                                            std::to_string(kMaxPolicyFiles) + " files");
      }
      return;
    }
    std::string text;
    std::string error;
    if (!files_.read(path, &text, &error)) {
      if (included_at.file) {
        diagnostics_.error(included_at, "cannot include '" + path + "': " + error);
      } else {
        diagnostics_.error(Location{}, "cannot read '" + path + "': " + error);
      }
      return;
    }
    bytes_read_ += text.size();
    if (bytes_read_ > kMaxPolicyBytes) {
      diagnostics_.error(included_at, "cannot include '" + path +
                                          "': the policy and its includes are larger than " +
                                          std::to_string(kMaxPolicyBytes >> 20) + " MiB in all");
      return;
    }
    auto file = std::make_shared<const SourceFile>(path, std::move(text));
    if (!out.file) out.file = file;
    ast::Policy parsed = parse_source(file, diagnostics_, &tokens_left_);
    stack_.push_back(path);
    for (ast::Statement& statement : parsed.statements) {
      if (auto* include = std::get_if<ast::Include>(&statement)) {
        std::string target = include->path;
        if (target.empty() || target[0] != '/') target = directory_of(path) + target;
        load(target, include->location, out);
      } else {
        out.statements.push_back(std::move(statement));
      }
    }
    stack_.pop_back();
  }

 private:
  FileSystem& files_;
  Diagnostics& diagnostics_;
  std::vector<std::string> stack_;
  int files_read_ = 0;
  size_t bytes_read_ = 0;
  size_t tokens_left_ = kMaxPolicyTokens;
};

}  // namespace

ast::Policy load_policy(const std::string& path, FileSystem& files, Diagnostics& diagnostics) {
  ast::Policy out;
  Loader(files, diagnostics).load(path, Location{}, out);
  return out;
}

}  // namespace ztc
