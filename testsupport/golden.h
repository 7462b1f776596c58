// Golden-file comparison for tests: the expected text lives in a file under
// testdata/. On a mismatch the actual text is written beside it as
// `<file>.got`, to review with diff and move into place; with ZTC_REGEN=1 in
// the environment the expected file is (re)written instead.
#pragma once

#include <string>

#include "compiler/load.h"
#include "testsupport/files.h"

namespace ztc::testing {

// Absolute path of a file in the source tree.
std::string source_path(const std::string& relative);

// Empty when `actual` equals the golden file's contents (or was written
// because ZTC_REGEN=1); otherwise a message naming the .got file.
std::string compare_golden(const std::string& relative_path, const std::string& actual);

// Reads paths relative to the source tree, so diagnostics name
// "testdata/bad/x.zt" whatever the build directory.
class SourceTreeFileSystem : public FileSystem {
 public:
  bool read(const std::string& path, std::string* contents, std::string* error) override {
    return disk_.read(path[0] == '/' ? path : source_path(path), contents, error);
  }
  bool resolve(const std::string& path, std::string* resolved, std::string* error) override {
    return disk_.resolve(path[0] == '/' ? path : source_path(path), resolved, error);
  }

 private:
  RealFileSystem disk_;
};

}  // namespace ztc::testing
