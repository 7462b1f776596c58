#include "compiler/load.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "compiler/parse.h"

namespace ztc {

namespace {

const char* not_regular_reason(mode_t mode) {
  if (S_ISDIR(mode)) return "is a directory";
  if (S_ISFIFO(mode)) return "is a FIFO, not a regular file";
  if (S_ISSOCK(mode)) return "is a socket, not a regular file";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "is a device, not a regular file";
  return "is not a regular file";
}

}  // namespace

bool RealFileSystem::read(const std::string& path, std::string* contents, std::string* error) {
  // The system would read the name up to the NUL: another file.
  if (path.find('\0') != std::string::npos) {
    *error = "a file name cannot hold a NUL byte";
    return false;
  }
  // Look before opening: opening a device can have effects of its own, and
  // opening a FIFO for reading waits for a writer.
  struct stat info {};
  if (stat(path.c_str(), &info) != 0) {
    *error = std::strerror(errno);
    return false;
  }
  if (!S_ISREG(info.st_mode)) {
    *error = not_regular_reason(info.st_mode);
    return false;
  }
  // O_NONBLOCK: should the name have become a FIFO since, open does not wait;
  // fstat then says what was opened.
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    *error = std::strerror(errno);
    return false;
  }
  auto fail = [&](std::string reason) {
    close(fd);
    *error = std::move(reason);
    return false;
  };
  if (fstat(fd, &info) != 0) return fail(std::strerror(errno));
  if (!S_ISREG(info.st_mode)) return fail(not_regular_reason(info.st_mode));
  if (static_cast<size_t>(info.st_size) > kMaxPolicyBytes) {
    return fail("file too large (" + std::to_string(info.st_size) + " bytes; the limit is " +
                std::to_string(kMaxPolicyBytes >> 20) + " MiB)");
  }
  // Bounded read: the file may grow while it is read.
  std::string data;
  char buffer[1 << 16];
  while (true) {
    ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return fail(std::strerror(errno));
    if (got == 0) break;
    data.append(buffer, static_cast<size_t>(got));
    if (data.size() > kMaxPolicyBytes) {
      return fail("file too large (the limit is " + std::to_string(kMaxPolicyBytes >> 20) +
                  " MiB)");
    }
  }
  close(fd);
  *contents = std::move(data);
  return true;
}

bool RealFileSystem::resolve(const std::string& path, std::string* resolved, std::string* error) {
  if (path.find('\0') != std::string::npos) {
    *error = "a file name cannot hold a NUL byte";
    return false;
  }
  char* real = realpath(path.c_str(), nullptr);
  if (real == nullptr) {
    *error = std::strerror(errno);
    return false;
  }
  *resolved = real;
  free(real);
  return true;
}

std::string normalized_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t begin = 0;
  while (begin <= path.size()) {
    size_t slash = path.find('/', begin);
    if (slash == std::string::npos) slash = path.size();
    std::string part = path.substr(begin, slash - begin);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    begin = slash + 1;
  }
  std::string out;
  for (const std::string& part : parts) out += "/" + part;
  return out.empty() ? "/" : out;
}

void MemoryFileSystem::add(const std::string& path, std::string contents) {
  files_[normalized_path(path)] = std::move(contents);
}

bool MemoryFileSystem::read(const std::string& path, std::string* contents, std::string* error) {
  auto it = files_.find(normalized_path(path));
  if (it == files_.end()) {
    *error = "No such file or directory";
    return false;
  }
  *contents = it->second;
  return true;
}

bool MemoryFileSystem::resolve(const std::string& path, std::string* resolved, std::string* error) {
  *resolved = normalized_path(path);
  return true;
}

namespace {

std::string directory_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

// The directory itself counts: reading it then says "is a directory".
bool is_within(const std::string& path, const std::string& directory) {
  if (directory == "/" || path == directory) return true;
  return path.size() > directory.size() && path.compare(0, directory.size(), directory) == 0 &&
         path[directory.size()] == '/';
}

class Loader {
 public:
  Loader(FileSystem& files, Diagnostics& diagnostics) : files_(files), diagnostics_(diagnostics) {}

  // The trees includes may read from: the top file's directory and `extra`.
  bool set_include_dirs(const std::string& top_path, const std::vector<std::string>& extra) {
    std::string top_dir = directory_of(top_path);
    std::string resolved, error;
    if (!files_.resolve(top_dir.empty() ? "." : top_dir, &resolved, &error)) {
      diagnostics_.error(Location{}, "cannot read '" + top_path + "': " + error);
      return false;
    }
    include_dirs_.push_back(resolved);
    bool ok = true;
    for (const std::string& dir : extra) {
      if (!files_.resolve(dir, &resolved, &error)) {
        diagnostics_.error(Location{}, "--include-dir " + dir + ": " + error);
        ok = false;
        continue;
      }
      include_dirs_.push_back(resolved);
    }
    return ok;
  }

  // `path` (as written, joined to the including file's directory) names the
  // file in diagnostics; its resolved form is what is read and what cycles
  // and the include directories are checked against.
  void load(const std::string& path, const Location& included_at, ast::Policy& out) {
    const bool included = included_at.file != nullptr;
    auto refuse = [&](const std::string& reason) {
      if (included) {
        diagnostics_.error(included_at, "cannot include '" + path + "': " + reason);
      } else {
        diagnostics_.error(Location{}, "cannot read '" + path + "': " + reason);
      }
    };
    std::string resolved, error;
    if (!files_.resolve(path, &resolved, &error)) return refuse(error);
    if (included && !within_include_dirs(resolved)) {
      return refuse("it is outside the include directories (" + include_dirs_text() +
                    "); --include-dir DIR allows another");
    }
    for (const std::string& open : stack_) {
      if (open == resolved) {
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
    if (!files_.read(resolved, &text, &error)) return refuse(error);
    bytes_read_ += text.size();
    if (bytes_read_ > kMaxPolicyBytes) {
      diagnostics_.error(included_at, "cannot include '" + path +
                                          "': the policy and its includes are larger than " +
                                          std::to_string(kMaxPolicyBytes >> 20) + " MiB in all");
      return;
    }
    auto file = std::make_shared<const SourceFile>(path, std::move(text), files_read_ - 1);
    if (!out.file) out.file = file;
    Diagnostics parse_errors;
    ast::Policy parsed = parse_source(file, parse_errors, &tokens_left_);
    if (included_at.file && parse_errors.has_errors()) {
      report_unparsable_include(parse_errors, path, included_at);
      return;
    }
    diagnostics_.append(parse_errors);
    stack_.push_back(resolved);
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
  // An included file that does not parse may not be a policy at all (a
  // mistyped path, or one chosen to print a secret): its first error only,
  // with its source line only when that line is text; otherwise the error is
  // at the include.
  void report_unparsable_include(const Diagnostics& errors, const std::string& path,
                                 const Location& included_at) {
    const Diagnostic* first = nullptr;
    int count = 0;
    for (const Diagnostic& d : errors.all()) {
      if (d.severity != Severity::error) continue;
      ++count;
      auto place = [](const Diagnostic& x) {
        return std::make_pair(x.location.line, x.location.column);
      };
      if (!first || place(d) < place(*first)) first = &d;
    }
    if (!first) return;
    const Location& at = first->location;
    std::string more =
        count > 1 ? " (" + std::to_string(count - 1) + " more in '" + path + "' not shown)" : "";
    std::string_view line = at.known() ? at.file->line(at.line) : std::string_view();
    if (at.known() && printable_text(line) == line) {
      diagnostics_.error(at, first->message + more);
    } else {
      diagnostics_.error(included_at, "cannot include '" + path + "': it is not a policy (line " +
                                          std::to_string(at.line) + " is not text)");
    }
  }

  bool within_include_dirs(const std::string& resolved) const {
    for (const std::string& dir : include_dirs_) {
      if (is_within(resolved, dir)) return true;
    }
    return false;
  }

  std::string include_dirs_text() const {
    std::string text;
    for (const std::string& dir : include_dirs_) text += (text.empty() ? "" : ", ") + dir;
    return text;
  }

  FileSystem& files_;
  Diagnostics& diagnostics_;
  std::vector<std::string> include_dirs_;  // resolved
  std::vector<std::string> stack_;         // resolved paths of the files being read
  int files_read_ = 0;
  size_t bytes_read_ = 0;
  size_t tokens_left_ = kMaxPolicyTokens;
};

}  // namespace

ast::Policy load_policy(const std::string& path, FileSystem& files, Diagnostics& diagnostics,
                        const std::vector<std::string>& include_dirs) {
  ast::Policy out;
  Loader loader(files, diagnostics);
  if (!loader.set_include_dirs(path, include_dirs)) return out;
  loader.load(path, Location{}, out);
  return out;
}

}  // namespace ztc
