#include "model/diagnostics.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

namespace ztc {
namespace {

const char* severity_name(Severity severity) {
  switch (severity) {
    case Severity::error: return "error";
    case Severity::warning: return "warning";
    case Severity::note: return "note";
  }
  return "error";
}

// Length of the well-formed UTF-8 sequence at the start of `text` (RFC 3629:
// no overlong forms, no surrogates, nothing above U+10FFFF), 0 if there is
// none; its code point in *code_point.
size_t utf8_sequence(std::string_view text, char32_t* code_point) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(0);
  if (lead < 0x80) {
    *code_point = lead;
    return 1;
  }
  size_t length = 0;
  unsigned char low = 0x80, high = 0xbf;  // the allowed range of the second byte
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;
    if (lead == 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;
  } else {
    return 0;
  }
  if (text.size() < length || byte(1) < low || byte(1) > high) return 0;
  char32_t value = lead & (0xff >> (length + 1));
  for (size_t i = 1; i < length; ++i) {
    if (i > 1 && (byte(i) & 0xc0) != 0x80) return 0;
    value = (value << 6) | (byte(i) & 0x3f);
  }
  *code_point = value;
  return length;
}

// Characters a terminal would act on or that hide or reorder text: C0 and C1
// controls, DEL, zero-width and bidirectional formatting, the byte order mark.
bool shown_escaped(char32_t c) {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x200b && c <= 0x200f) ||
         (c >= 0x202a && c <= 0x202e) || (c >= 0x2060 && c <= 0x2069) || c == 0xfeff;
}

// Calls shown(text, width, source_bytes) for each piece of `text` as it is
// shown: a character as it is, or each of its bytes as \xNN.
template <typename Shown>
void for_each_shown(std::string_view text, Shown shown) {
  static const char kHex[] = "0123456789abcdef";
  size_t i = 0;
  while (i < text.size()) {
    char32_t code_point = 0;
    size_t length = utf8_sequence(text.substr(i), &code_point);
    if (length > 0 && code_point != '\t' && shown_escaped(code_point)) length = 0;
    if (length > 0) {
      shown(text.substr(i, length), 1, length);
      i += length;
      continue;
    }
    auto byte = static_cast<unsigned char>(text[i]);
    // An escaped character shows all its bytes.
    size_t escaped = 1;
    char32_t ignored = 0;
    size_t sequence = utf8_sequence(text.substr(i), &ignored);
    if (sequence > 0) escaped = sequence;
    for (size_t k = 0; k < escaped; ++k) {
      byte = static_cast<unsigned char>(text[i + k]);
      const char hex[] = {'\\', 'x', kHex[byte >> 4], kHex[byte & 0xf]};
      shown(std::string_view(hex, 4), 4, 1);
    }
    i += escaped;
  }
}

// Source lines can hold anything (binary input): show them as printable_text
// does and bounded, with the caret under the character the column's byte
// starts, so that a terminal is not garbled and the caret still lines up.
// `caret_pad` is what precedes the caret: tabs kept, everything else spaces.
std::string printable_line(std::string_view line, int column, std::string* caret_pad) {
  constexpr size_t kMaxShown = 160;  // bytes of the source line
  size_t begin = 0;
  if (static_cast<size_t>(column) > kMaxShown) begin = column - kMaxShown / 2;
  // Start on a character, not inside one.
  for (int k = 0; k < 3 && begin > 0 && begin < line.size() &&
                  (static_cast<unsigned char>(line[begin]) & 0xc0) == 0x80;
       ++k) {
    ++begin;
  }
  size_t end = std::min(line.size(), begin + kMaxShown);
  std::string out;
  if (begin > 0) {
    out += "...";
    *caret_pad += "   ";
  }
  const size_t caret_byte = static_cast<size_t>(std::max(column, 1)) - 1;
  size_t at = begin;
  std::string_view window = line.substr(begin < line.size() ? begin : line.size());
  // A character that crosses the clipping point is shown whole.
  for_each_shown(window, [&](std::string_view piece, size_t width, size_t bytes) {
    if (at >= end) return;
    out += piece;
    if (at + bytes <= caret_byte) {
      *caret_pad += piece == "\t" ? std::string("\t") : std::string(width, ' ');
    }
    at += bytes;
  });
  if (line.size() > at) out += "...";
  return out;
}

}  // namespace

std::string printable_text(std::string_view text) {
  std::string out;
  for_each_shown(text, [&](std::string_view piece, size_t, size_t) { out += piece; });
  return out;
}

void Diagnostics::error(const Location& where, std::string message) {
  // The same rule checked for several hooks reports its errors once.
  if (!seen_.insert(where.str() + '\n' + message).second) return;
  if (error_count_ >= kMaxErrors) {
    ++dropped_;
    return;
  }
  ++error_count_;
  items_.push_back({Severity::error, where, std::move(message)});
}

void Diagnostics::warning(const Location& where, std::string message) {
  items_.push_back({Severity::warning, where, std::move(message)});
}

void Diagnostics::note(const Location& where, std::string message) {
  items_.push_back({Severity::note, where, std::move(message)});
}

void Diagnostics::append(const Diagnostics& other) {
  for (const Diagnostic& d : other.items_) {
    if (d.severity == Severity::error) {
      error(d.location, d.message);
    } else {
      items_.push_back(d);
    }
  }
  dropped_ += other.dropped_;
}

std::string render(const Diagnostic& diagnostic) {
  const Location& loc = diagnostic.location;
  std::string out;
  if (loc.file) out += loc.str() + ": ";
  out += severity_name(diagnostic.severity);
  out += ": ";
  // Messages quote user text (names, strings): never pass control bytes to
  // a terminal. A kernel's multi-line reason continues indented.
  std::string_view message = diagnostic.message;
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.remove_suffix(1);
  }
  // One line at a time: a newline continues the message, indented.
  for (size_t start = 0;;) {
    size_t newline = message.find('\n', start);
    out += printable_text(message.substr(start, newline - start));
    if (newline == std::string_view::npos) break;
    out += "\n    ";
    start = newline + 1;
  }
  out += "\n";
  if (loc.known()) {
    std::string pad;
    std::string line = printable_line(loc.file->line(loc.line), loc.column, &pad);
    out += "    " + line + "\n";
    out += "    " + pad + "^\n";
  }
  return out;
}

std::string Diagnostics::render() const {
  // Source order within a file reads best; stages find problems in their
  // own order. Diagnostics without a location (command line) come first.
  // Files keep the order in which they first had a diagnostic.
  std::map<const SourceFile*, size_t> file_rank;
  for (const Diagnostic& d : items_) {
    if (d.location.file) file_rank.emplace(d.location.file.get(), file_rank.size() + 1);
  }
  auto key = [&](const Diagnostic* d) {
    const Location& l = d->location;
    size_t rank = l.file ? file_rank[l.file.get()] : 0;
    return std::make_tuple(rank, l.line, l.column);
  };
  std::vector<const Diagnostic*> sorted;
  for (const Diagnostic& d : items_) sorted.push_back(&d);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](const Diagnostic* a, const Diagnostic* b) { return key(a) < key(b); });
  std::string out;
  for (const Diagnostic* d : sorted) out += ztc::render(*d);
  if (dropped_ > 0) {
    out += "error: " + std::to_string(dropped_) + (dropped_ == 1 ? " more error" : " more errors") +
           " not shown\n";
  }
  return out;
}

}  // namespace ztc
