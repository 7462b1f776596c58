// Reads a policy from files: the top file and everything it includes,
// spliced in place, in order. File access goes through FileSystem so tests
// can use an in-memory one.
#pragma once

#include <map>
#include <string>

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
  // On failure returns false with a short reason ("No such file or
  // directory", "is a directory", "file too large: ...").
  virtual bool read(const std::string& path, std::string* contents, std::string* error) = 0;
};

class RealFileSystem : public FileSystem {
 public:
  bool read(const std::string& path, std::string* contents, std::string* error) override;
};

class MemoryFileSystem : public FileSystem {
 public:
  void add(const std::string& path, std::string contents) { files_[path] = std::move(contents); }
  bool read(const std::string& path, std::string* contents, std::string* error) override;

 private:
  std::map<std::string, std::string> files_;
};

// Includes are resolved against the including file's directory.
ast::Policy load_policy(const std::string& path, FileSystem& files, Diagnostics& diagnostics);

}  // namespace ztc
