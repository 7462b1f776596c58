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

// Source lines can hold anything (binary input): show them printable and
// bounded so that a caret still lines up and a terminal is not garbled.
std::string printable_line(std::string_view line, int column, int* caret_column) {
  constexpr size_t kMaxShown = 160;
  size_t begin = 0;
  if (static_cast<size_t>(column) > kMaxShown) begin = column - kMaxShown / 2;
  std::string out;
  if (begin > 0) out += "...";
  *caret_column = column - static_cast<int>(begin) + (begin > 0 ? 3 : 0);
  for (size_t i = begin; i < line.size() && i < begin + kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    out += (c == '\t' || (c >= 0x20 && c < 0x7f)) ? static_cast<char>(c) : '?';
  }
  if (line.size() > begin + kMaxShown) out += "...";
  return out;
}

}  // namespace

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
  for (char c : message) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\n    ";
    } else {
      out += (byte < 0x20 && c != '\t') || byte == 0x7f ? '?' : c;
    }
  }
  out += "\n";
  if (loc.known()) {
    int caret_column = 0;
    std::string line = printable_line(loc.file->line(loc.line), loc.column, &caret_column);
    out += "    " + line + "\n";
    std::string pad;
    // Tabs in the source line are kept so the caret lines up under them.
    for (int i = 0; i + 1 < caret_column && i < static_cast<int>(line.size()); ++i) {
      pad += line[i] == '\t' ? '\t' : ' ';
    }
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
