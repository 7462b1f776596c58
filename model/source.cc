#include "model/source.h"

#include <utility>

namespace ztc {

SourceFile::SourceFile(std::string path, std::string text, int ordinal)
    : path_(std::move(path)), text_(std::move(text)), ordinal_(ordinal) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i) {
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
  }
}

std::string_view SourceFile::line(int number) const {
  if (number < 1 || static_cast<size_t>(number) > line_starts_.size()) return {};
  size_t begin = line_starts_[number - 1];
  size_t end = text_.find('\n', begin);
  if (end == std::string::npos) end = text_.size();
  std::string_view view(text_.data() + begin, end - begin);
  if (!view.empty() && view.back() == '\r') view.remove_suffix(1);
  return view;
}

std::string Location::str() const {
  if (!file) return "<unknown>";
  if (line <= 0) return file->path();
  return file->path() + ":" + std::to_string(line) + ":" + std::to_string(column);
}

}  // namespace ztc
