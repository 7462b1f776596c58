#include "backend/nft_errors.h"

#include <cctype>
#include <regex>
#include <string>

namespace ztc::nft {
namespace {

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(begin, end - begin));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    begin = end + 1;
  }
  return lines;
}

// The line under an echoed source line: spaces, '^' under the error, '~' under
// related expressions.
bool is_marker_line(const std::string& line) {
  bool has_mark = false;
  for (char c : line) {
    if (c == '^' || c == '~') {
      has_mark = true;
    } else if (c != ' ' && c != '\t') {
      return false;
    }
  }
  return has_mark;
}

std::string trim(std::string_view text) {
  size_t begin = 0, end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  return std::string(text.substr(begin, end - begin));
}

bool is_word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '@' || c == '$';
}

// Could the caret span [first, last] (1-based) of a record sit on this line?
// It must cover text that starts and ends on token boundaries; a caret just past
// the end of the line is how "unexpected newline" is marked.
bool span_fits(const std::string& line, int first, int last) {
  int size = static_cast<int>(line.size());
  if (first == size + 1 && last == first) return size > 0;
  if (first < 1 || last < first || last > size) return false;
  std::string_view span(line.data() + first - 1, last - first + 1);
  if (trim(span).empty()) return false;
  if (first > 1 && is_word_char(line[first - 2]) && is_word_char(line[first - 1])) return false;
  if (last < size && is_word_char(line[last - 1]) && is_word_char(line[last])) return false;
  return true;
}

// Digits to int, saturating (positions past a billion mean nothing anyway).
int small_int(const std::string& digits) {
  long value = 0;
  for (char c : digits) {
    value = value * 10 + (c - '0');
    if (value > 1000000000) return 1000000000;
  }
  return static_cast<int>(value);
}

struct Guess {
  int line = 0;        // 0: no idea
  int candidates = 0;  // how many lines fit
};

Guess guess_line(const NftErrorRecord& record, const std::vector<std::string>& lines) {
  Guess guess;
  // An echoed line other than the first is taken at its word (newer nft may echo
  // the right line); the first line is what 1.0.6 echoes for every error.
  if (!record.echoed_line.empty() && (lines.empty() || record.echoed_line != lines[0])) {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (lines[i] == record.echoed_line) {
        if (guess.candidates++ == 0) guess.line = static_cast<int>(i) + 1;
      }
    }
    if (guess.candidates > 0) return guess;
  }
  if (record.first_column <= 0) return guess;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (span_fits(lines[i], record.first_column, record.last_column)) {
      if (guess.candidates++ == 0) guess.line = static_cast<int>(i) + 1;
    }
  }
  return guess;
}

}  // namespace

std::vector<NftErrorRecord> parse_nft_errors(std::string_view error_text) {
  // "name:LINE:COL-COL: Error: message" (file input) or "[netlink: ]Error: message".
  static const std::regex kPositioned(R"(^(.*):(\d+):(\d+)-(\d+): (Error|Warning): (.*)$)");
  static const std::regex kBare(R"(^(?:[a-z]+: )?(Error|Warning): (.*)$)");
  std::vector<NftErrorRecord> records;
  std::vector<std::string> lines = split_lines(error_text);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (trim(line).empty()) continue;
    NftErrorRecord record;
    std::smatch match;
    if (std::regex_match(line, match, kPositioned)) {
      record.line = small_int(match[2].str());
      record.first_column = small_int(match[3].str());
      record.last_column = small_int(match[4].str());
      record.severity = match[5] == "Warning" ? Severity::warning : Severity::error;
      record.message = match[6].str();
    } else if (std::regex_match(line, match, kBare)) {
      record.severity = match[1] == "Warning" ? Severity::warning : Severity::error;
      record.message = match[2].str();
    } else {
      // Text that is no record of its own (a stray message): keep it as one.
      record.message = trim(line);
    }
    // An echoed source line and its markers follow when the error has a position.
    if (i + 2 < lines.size() && is_marker_line(lines[i + 2])) {
      record.echoed_line = lines[i + 1];
      const std::string& markers = lines[i + 2];
      size_t first = markers.find('^');
      size_t last = markers.rfind('^');
      if (record.first_column == 0 && first != std::string::npos) {
        record.first_column = static_cast<int>(first) + 1;
        record.last_column = static_cast<int>(last) + 1;
      }
      i += 2;
    }
    records.push_back(std::move(record));
  }
  return records;
}

Diagnostics map_nft_errors(std::string_view error_text, std::string_view buffer,
                           const std::vector<Location>& line_origin) {
  Diagnostics diagnostics;
  std::vector<std::string> lines = split_lines(buffer);
  for (const NftErrorRecord& record : parse_nft_errors(error_text)) {
    int line = record.line;
    std::string how;  // how the line was found, when nft did not say
    if (line == 0) {
      Guess guess = guess_line(record, lines);
      line = guess.line;
      if (guess.candidates == 1) {
        how = "nft gave no line number; the error's position fits only this line";
      } else if (guess.candidates > 1) {
        how = "nft gave no line number; " + std::to_string(guess.candidates) +
              " lines fit the error's position, the first is shown";
      }
    }
    Location where;
    if (line >= 1 && static_cast<size_t>(line) <= line_origin.size()) where = line_origin[line - 1];
    std::string message = "nft: " + record.message;
    if (record.severity == Severity::warning) {
      diagnostics.warning(where, message);
    } else {
      diagnostics.error(where, message);
    }
    if (line >= 1 && static_cast<size_t>(line) <= lines.size()) {
      std::string note =
          "generated nft line " + std::to_string(line) + ": " + trim(lines[line - 1]);
      if (!how.empty()) note += " (" + how + ")";
      // At the error's own location, so that renderers sorting by location keep
      // the note right under its error.
      diagnostics.note(where, note);
    } else if (!record.echoed_line.empty() && record.line == 0) {
      diagnostics.note(where, "nft gave no line number and no generated line fits");
    }
  }
  return diagnostics;
}

}  // namespace ztc::nft
