// Reads a policy from files: the top file and everything it includes,
// spliced in place, in order. File access goes through FileSystem so tests
// can use an in-memory one.
//
// Includes are confined: an included file must resolve (symlinks and `..`
// followed) to a regular file inside the directory of the top policy file or
// of an include directory given to load_policy (`--include-dir`). A policy
// cannot make ztc read /etc/shadow, block on a FIFO or read a device.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "compiler/ast.h"
#include "model/diagnostics.h"

namespace ztc {

// Policies are small; a larger file is hostile or a mistake, and reading it
// whole would cost that much memory.
constexpr size_t kMaxPolicyBytes = 64u << 20;
// Deep enough for any layering of common files; a cycle is reported by name.
constexpr int kMaxIncludeDepth = 16;
// An include tree that fans out (each file including the next one twice)
// would read exponentially many files: a policy reads at most this many files
// and kMaxPolicyBytes in all, and holds at most kMaxPolicyTokens (parse.h).
constexpr int kMaxPolicyFiles = 256;

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Reads a regular file whole. On failure returns false with a short reason
  // ("No such file or directory", "is a directory", "is a FIFO, not a regular
  // file", "file too large: ...").
  virtual bool read(const std::string& path, std::string* contents, std::string* error) = 0;
  // The absolute path with every symlink, `.` and `..` resolved (what
  // realpath gives); false with a reason when it does not exist.
  virtual bool resolve(const std::string& path, std::string* resolved, std::string* error) = 0;
};

class RealFileSystem : public FileSystem {
 public:
  bool read(const std::string& path, std::string* contents, std::string* error) override;
  bool resolve(const std::string& path, std::string* resolved, std::string* error) override;
};

// Paths are resolved by their text alone (no symlinks); relative ones against
// "/" (so "a.zt" is "/a.zt").
class MemoryFileSystem : public FileSystem {
 public:
  void add(const std::string& path, std::string contents);
  bool read(const std::string& path, std::string* contents, std::string* error) override;
  bool resolve(const std::string& path, std::string* resolved, std::string* error) override;

 private:
  std::map<std::string, std::string> files_;  // by resolved path
};

// `path` with `.`, `..` and repeated slashes removed, by its text alone;
// relative paths are taken from `/`.
std::string normalized_path(const std::string& path);

// Includes are resolved against the including file's directory and must lie
// in the top file's directory or one of `include_dirs` (or below).
ast::Policy load_policy(const std::string& path, FileSystem& files, Diagnostics& diagnostics,
                        const std::vector<std::string>& include_dirs = {});

}  // namespace ztc
