// Files for tests: reading a whole file, and a private scratch directory that
// is removed with everything in it when the test ends, failed or not.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ztc::testing {

// The whole file, bytes as they are; empty when it cannot be read.
std::string read_file(const std::string& path);

class TempDir {
 public:
  TempDir();  // /tmp/ztc-test-XXXXXX, mode 0755 (readable by the privilege tests' user)
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Writes `text` to NAME in the directory (mode 0644) and returns its path.
  std::string write(const std::string& name, const std::string& text) const;

 private:
  std::string path_;
};

// The number (from 1) of the first line of the file at `path` that holds
// `needle`; the test fails when none does.
int line_of(const std::string& path, const std::string& needle);

// `text` with each `from` replaced by `to`; each `from` must occur exactly once
// (a test that edits a policy must not edit the wrong line silently).
std::string replaced_once(std::string text,
                          const std::vector<std::pair<std::string, std::string>>& swaps);

}  // namespace ztc::testing
