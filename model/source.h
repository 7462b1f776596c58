// Source files and locations. Every AST node, IR object, nft statement and
// routing op carries a Location so that any error, including one the kernel
// reports at apply time, can be shown at the policy line that caused it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ztc {

class SourceFile {
 public:
  // ordinal: the file's place in the order a policy's files are read (the
  // top file is 0); it names things made from this file's lines, where two
  // files can have a line and column in common.
  SourceFile(std::string path, std::string text, int ordinal = 0);

  const std::string& path() const { return path_; }
  int ordinal() const { return ordinal_; }
  const std::string& text() const { return text_; }
  // 1-based; empty when out of range.
  std::string_view line(int number) const;

 private:
  std::string path_;
  std::string text_;
  int ordinal_ = 0;
  std::vector<size_t> line_starts_;
};

using SourceFilePtr = std::shared_ptr<const SourceFile>;

struct Location {
  SourceFilePtr file;  // null for objects with no policy origin
  int line = 0;        // 1-based
  int column = 0;      // 1-based

  bool known() const { return file != nullptr && line > 0; }
  // "path:line:col"; "path" for the file as a whole (line 0); "<unknown>"
  // without a file.
  std::string str() const;
};

}  // namespace ztc
