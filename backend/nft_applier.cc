#include "backend/nft_applier.h"

#include <nftables/libnftables.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <regex>
#include <utility>

#include "backend/netns.h"
#include "backend/nft_text.h"

namespace ztc::nft {
namespace {

// Owns one libnftables context; contexts open their netlink socket at creation,
// so one is made per call, inside the kernel object's namespace.
class Context {
 public:
  explicit Context(unsigned output_flags) : ctx_(nft_ctx_new(NFT_CTX_DEFAULT)) {
    if (!ctx_) return;
    nft_ctx_buffer_output(ctx_);
    nft_ctx_buffer_error(ctx_);
    nft_ctx_output_set_flags(ctx_, output_flags);
  }
  ~Context() {
    if (ctx_) nft_ctx_free(ctx_);
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  nft_ctx* get() const { return ctx_; }
  std::string output() const {
    const char* text = nft_ctx_get_output_buffer(ctx_);
    return text ? text : "";
  }
  std::string error() const {
    const char* text = nft_ctx_get_error_buffer(ctx_);
    return text ? text : "";
  }

 private:
  nft_ctx* ctx_;
};

// nft object names that can be pasted into a command without quoting.
bool plain_name(const std::string& name) {
  if (name.empty() || name.size() > 255) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) {
      return false;
    }
  }
  return true;
}

// The buffer as an anonymous in-memory file. libnftables reports file input with
// "path:LINE:COL-COL:" and the real offending line; buffer input gets neither.
int buffer_as_memfd(const std::string& buffer) {
  int fd = memfd_create("ztc-ruleset", MFD_CLOEXEC);
  if (fd < 0) return -1;
  size_t done = 0;
  while (done < buffer.size()) {
    ssize_t n = write(fd, buffer.data() + done, buffer.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      close(fd);
      return -1;
    }
    done += static_cast<size_t>(n);
  }
  return fd;
}

void replace_all(std::string* text, const std::string& from, const std::string& to) {
  for (size_t at = text->find(from); at != std::string::npos; at = text->find(from, at)) {
    text->replace(at, from.size(), to);
    at += to.size();
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// LibNftKernel

LibNftKernel::LibNftKernel() { netns_fd_ = open_current_netns(nullptr); }

LibNftKernel::~LibNftKernel() {
  if (netns_fd_ >= 0) close(netns_fd_);
}

ApplyResult LibNftKernel::run(const std::string& buffer, bool dry_run) {
  ApplyResult result;
  NetnsSwitch in_namespace(netns_fd_);
  if (!in_namespace.ok()) {
    result.error = "Error: " + in_namespace.error() + "\n";
    return result;
  }
  Context ctx(0);
  if (!ctx.get()) {
    result.error = "Error: cannot create a libnftables context\n";
    return result;
  }
  nft_ctx_set_dry_run(ctx.get(), dry_run);
  int fd = buffer_as_memfd(buffer);
  int rc;
  if (fd >= 0) {
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    rc = nft_run_cmd_from_filename(ctx.get(), path.c_str());
    close(fd);
    result.error = ctx.error();
    // The memfd path means nothing to a reader.
    replace_all(&result.error, path + ":", "ruleset:");
  } else {
    rc = nft_run_cmd_from_buffer(ctx.get(), buffer.c_str());
    result.error = ctx.error();
  }
  result.output = ctx.output();
  result.success = rc == 0;
  if (!result.success && result.error.empty()) result.error = "Error: libnftables failed\n";
  return result;
}

std::optional<std::string> LibNftKernel::list_table(Family family, const std::string& name,
                                                    bool json) {
  if (!plain_name(name)) return std::nullopt;
  NetnsSwitch in_namespace(netns_fd_);
  if (!in_namespace.ok()) return std::nullopt;
  unsigned flags = NFT_CTX_OUTPUT_STATELESS;
  if (json) flags |= NFT_CTX_OUTPUT_JSON;
  Context ctx(flags);
  if (!ctx.get()) return std::nullopt;
  std::string command = std::string("list table ") + family_name(family) + " " + name;
  if (nft_run_cmd_from_buffer(ctx.get(), command.c_str()) != 0) return std::nullopt;
  return ctx.output();
}

std::vector<Element> LibNftKernel::list_set_elements(Family family, const std::string& table,
                                                     const std::string& set) {
  if (!plain_name(table) || !plain_name(set)) return {};
  NetnsSwitch in_namespace(netns_fd_);
  if (!in_namespace.ok()) return {};
  Context ctx(NFT_CTX_OUTPUT_JSON);
  if (!ctx.get()) return {};
  std::string command = std::string("list set ") + family_name(family) + " " + table + " " + set;
  if (nft_run_cmd_from_buffer(ctx.get(), command.c_str()) != 0) return {};
  return parse_set_elements_json(ctx.output());
}

std::optional<std::string> LibNftKernel::list_definitions() {
  NetnsSwitch in_namespace(netns_fd_);
  if (!in_namespace.ok()) return std::nullopt;
  Context ctx(NFT_CTX_OUTPUT_STATELESS | NFT_CTX_OUTPUT_TERSE);
  if (!ctx.get()) return std::nullopt;
  if (nft_run_cmd_from_buffer(ctx.get(), "list ruleset") != 0) return std::nullopt;
  return ctx.output();
}

std::string restore_table_buffer(Family family, const std::string& name,
                                 const std::optional<std::string>& previous) {
  std::string table = std::string(family_name(family)) + " " + name;
  // `table X {}` first so that `delete table X` cannot fail when X is absent.
  std::string buffer = "table " + table + " {}\ndelete table " + table + "\n";
  if (previous) buffer += *previous;
  return buffer;
}

// ---------------------------------------------------------------------------
// FakeNftKernel

ApplyResult FakeNftKernel::run(const std::string& buffer, bool dry_run) {
  calls.push_back({buffer, dry_run});
  bool fail = fail_every_;
  if (fail_countdown_ > 0 && --fail_countdown_ == 0) fail = true;
  ApplyResult result;
  if (fail) {
    result.error = fail_text_;
    return result;
  }
  if (!dry_run) committed.push_back(buffer);
  result.success = true;
  return result;
}

std::optional<std::string> FakeNftKernel::list_table(Family family, const std::string& name,
                                                     bool json) {
  const auto& tables = json ? tables_json : tables_text;
  auto found = tables.find(std::string(family_name(family)) + " " + name);
  if (found == tables.end()) return std::nullopt;
  return found->second;
}

std::vector<Element> FakeNftKernel::list_set_elements(Family family, const std::string& table,
                                                      const std::string& set) {
  auto found = set_elements.find(std::string(family_name(family)) + " " + table + " " + set);
  if (found == set_elements.end()) return {};
  return found->second;
}

void FakeNftKernel::fail_call(int nth, std::string error_text) {
  fail_countdown_ = nth;
  fail_text_ = std::move(error_text);
}

void FakeNftKernel::fail_always(std::string error_text) {
  fail_every_ = true;
  fail_text_ = std::move(error_text);
}

// ---------------------------------------------------------------------------
// Error text

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
      std::string note = "generated nft line " + std::to_string(line) + ": " +
                         trim(lines[line - 1]);
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

// ---------------------------------------------------------------------------
// Set listings

namespace {

using nlohmann::json;

// nft prints values of string types (interface names) in quotes.
bool quoted_type(const std::string& type) { return type == "ifname" || type == "string"; }

std::string value_text(const json& value, const json& type, size_t part) {
  std::string type_name;
  if (type.is_string()) type_name = type.get<std::string>();
  if (type.is_array() && part < type.size() && type[part].is_string()) {
    type_name = type[part].get<std::string>();
  }
  if (value.is_string()) {
    std::string text = value.get<std::string>();
    return quoted_type(type_name) ? quoted_string(text) : text;
  }
  if (value.is_number_unsigned() || value.is_number_integer()) return value.dump();
  if (value.is_object()) {
    if (value.contains("prefix")) {
      const json& prefix = value["prefix"];
      return value_text(prefix.value("addr", json()), type, part) + "/" +
             prefix.value("len", json(0)).dump();
    }
    if (value.contains("range") && value["range"].is_array() && value["range"].size() == 2) {
      return value_text(value["range"][0], type, part) + "-" +
             value_text(value["range"][1], type, part);
    }
    if (value.contains("concat") && value["concat"].is_array()) {
      std::string text;
      for (size_t i = 0; i < value["concat"].size(); ++i) {
        if (i > 0) text += " . ";
        text += value_text(value["concat"][i], type, i);
      }
      return text;
    }
  }
  return value.dump();
}

}  // namespace

std::vector<Element> parse_set_elements_json(const std::string& json_text) {
  std::vector<Element> elements;
  json document = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (!document.is_object() || !document.contains("nftables")) return elements;
  const json& items = document["nftables"];
  if (!items.is_array()) return elements;
  for (const json& item : items) {
    if (!item.is_object() || !item.contains("set")) continue;
    const json& set = item["set"];
    json type = set.value("type", json());
    if (!set.contains("elem") || !set["elem"].is_array()) continue;
    for (const json& entry : set["elem"]) {
      Element element;
      // Elements with a comment (or timeout) come wrapped: {"elem": {"val": ..., "comment": ...}}.
      if (entry.is_object() && entry.contains("elem") && entry["elem"].is_object()) {
        const json& wrapped = entry["elem"];
        element.value = value_text(wrapped.value("val", json()), type, 0);
        if (wrapped.contains("comment") && wrapped["comment"].is_string()) {
          element.comment = wrapped["comment"].get<std::string>();
        }
      } else {
        element.value = value_text(entry, type, 0);
      }
      elements.push_back(std::move(element));
    }
  }
  return elements;
}

}  // namespace ztc::nft
