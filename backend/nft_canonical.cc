#include "backend/nft_canonical.h"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <sstream>
#include <string_view>
#include <thread>
#include <vector>

#include "backend/libnft_kernel.h"

namespace ztc::nft {

namespace {

constexpr int kListAttempts = 50;  // 5 s at most; a 200k set settles in well under 1 s

}  // namespace

bool lists_an_element_twice(const std::string& listing) {
  std::istringstream lines(with_sorted_elements(listing));
  bool in_elements = false;
  std::string previous;
  for (std::string line; std::getline(lines, line);) {
    if (line.size() >= 12 && line.compare(line.size() - 12, 12, "elements = {") == 0) {
      in_elements = true;
      previous.clear();
      continue;
    }
    if (!in_elements) continue;
    if (line.find('}') != std::string::npos &&
        line.find_first_not_of("\t }") == std::string::npos) {
      in_elements = false;
      continue;
    }
    if (line == previous) return true;
    previous = line;
  }
  return false;
}

std::optional<std::string> canonical_listing(const std::string& buffer, Family family,
                                             const std::string& table, std::string* error) {
  std::optional<std::string> listing;
  std::string failure;
  // unshare(CLONE_NEWNET) moves only the calling thread; the thread (and with
  // it the scratch namespace) is gone when it returns.
  std::thread worker([&] {
    if (unshare(CLONE_NEWNET) != 0) {
      failure = std::string("cannot create a scratch network namespace: ") + std::strerror(errno);
      return;
    }
    LibNftKernel kernel;
    ApplyResult result = kernel.run(buffer, /*dry_run=*/false);
    if (!result.success) {
      failure = result.error;
      return;
    }
    // A hash set just filled is still being resized by the kernel (the
    // rhashtable grows in a worker), and a dump that meets a resize lists
    // some elements twice and leaves others out: at 200k elements about 11k.
    // The live table was loaded long before, so list until settled (bounded).
    for (int attempt = 0; attempt < kListAttempts; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      listing = kernel.list_table(family, table, /*json=*/false);
      if (!listing || !lists_an_element_twice(*listing)) break;
    }
    if (!listing) failure = "the table did not list back";
  });
  worker.join();
  if (!listing && error) *error = failure;
  return listing;
}

std::optional<TableDefinitions> scratch_definitions(const std::string& buffer, Family family,
                                                    const std::string& table,
                                                    const std::set<std::string>& managed,
                                                    std::string* error) {
  std::optional<TableDefinitions> definitions;
  std::string failure;
  std::thread worker([&] {
    if (unshare(CLONE_NEWNET) != 0) {
      failure = std::string("cannot create a scratch network namespace: ") + std::strerror(errno);
      return;
    }
    LibNftKernel kernel;
    ApplyResult result = kernel.run(buffer, /*dry_run=*/false);
    if (!result.success) {
      failure = result.error;
      return;
    }
    definitions = read_definitions(kernel, family, table, managed, &failure);
  });
  worker.join();
  if (!definitions && error) *error = failure;
  return definitions;
}

namespace {

std::string_view trimmed(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\n");
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(" \t\n");
  return text.substr(begin, end - begin + 1);
}

}  // namespace

std::string with_sorted_elements(const std::string& listing) {
  static constexpr std::string_view kOpen = "elements = {";
  std::string out;
  size_t at = 0;
  while (true) {
    size_t open = listing.find(kOpen, at);
    if (open == std::string::npos) break;
    size_t line_start = listing.rfind('\n', open);
    line_start = line_start == std::string::npos ? 0 : line_start + 1;
    std::string indent = listing.substr(line_start, open - line_start);
    // Elements up to the closing brace; commas and braces inside quotes
    // (comments) are text.
    std::vector<std::string_view> elements;
    size_t begin = open + kOpen.size();
    size_t i = begin;
    bool quoted = false;
    int depth = 0;  // nested braces: concatenations or intervals never nest, but be safe
    for (; i < listing.size(); ++i) {
      char c = listing[i];
      if (c == '"') quoted = !quoted;
      if (quoted) continue;
      if (c == '{') ++depth;
      if (c == '}' && depth-- == 0) break;
      if (c == ',' && depth == 0) {
        elements.push_back(trimmed(std::string_view(listing).substr(begin, i - begin)));
        begin = i + 1;
      }
    }
    if (i >= listing.size()) break;  // unbalanced: leave the rest as it is
    std::string_view last = trimmed(std::string_view(listing).substr(begin, i - begin));
    if (!last.empty()) elements.push_back(last);
    std::sort(elements.begin(), elements.end());
    out.append(listing, at, open - at);
    out += kOpen;
    out += "\n";
    for (std::string_view element : elements) {
      out += indent;
      out += '\t';
      out += element;
      out += ",\n";
    }
    out += indent;
    out += "}";
    at = i + 1;
  }
  out.append(listing, at, std::string::npos);
  return out;
}

namespace {

struct Object {
  std::string kind;  // "chain", "set", "ct helper", ...
  std::string name;
  std::string text;  // its lines, header and closing brace included
};

bool opens_block(const std::string& line) {
  return line.size() > 3 && line.compare(line.size() - 2, 2, " {") == 0;
}

// The table's own lines, then its objects: each run of one kind (nft lists
// kind by kind) sorted by name, a blank line between objects as nft prints.
void append_sorted_table(const std::string& header, const std::vector<std::string>& attributes,
                         std::vector<Object> objects, std::string* out) {
  for (size_t run = 0; run < objects.size();) {
    size_t end = run;
    while (end < objects.size() && objects[end].kind == objects[run].kind) ++end;
    std::stable_sort(objects.begin() + run, objects.begin() + end,
                     [](const Object& a, const Object& b) { return a.name < b.name; });
    run = end;
  }
  *out += header + "\n";
  for (const std::string& line : attributes) *out += line + "\n";
  for (size_t i = 0; i < objects.size(); ++i) {
    if (i > 0) *out += "\n";
    *out += objects[i].text;
  }
  *out += "}\n";
}

}  // namespace

std::string with_sorted_objects(const std::string& listing) {
  std::string out;
  std::istringstream lines(listing);
  std::string header;  // of the table being read; empty outside one
  std::vector<std::string> attributes;
  std::vector<Object> objects;
  Object* open = nullptr;
  for (std::string line; std::getline(lines, line);) {
    if (header.empty()) {
      if (line.rfind("table ", 0) == 0 && opens_block(line)) {
        header = line;
      } else {
        out += line + "\n";
      }
      continue;
    }
    if (open) {
      open->text += line + "\n";
      if (line == "\t}") open = nullptr;
      continue;
    }
    if (line == "}") {
      append_sorted_table(header, attributes, std::move(objects), &out);
      header.clear();
      attributes.clear();
      objects.clear();
      continue;
    }
    if (line.empty()) continue;
    if (line[0] == '\t' && line[1] != '\t' && opens_block(line)) {
      std::string words = line.substr(1, line.size() - 3);
      size_t space = words.rfind(' ');
      Object object;
      object.kind = space == std::string::npos ? std::string() : words.substr(0, space);
      object.name = words.substr(space == std::string::npos ? 0 : space + 1);
      object.text = line + "\n";
      objects.push_back(std::move(object));
      open = &objects.back();
      continue;
    }
    attributes.push_back(line);
  }
  // An unterminated table (a cut listing): what was read, unsorted.
  if (!header.empty()) {
    out += header + "\n";
    for (const std::string& line : attributes) out += line + "\n";
    for (size_t i = 0; i < objects.size(); ++i) out += (i > 0 ? "\n" : "") + objects[i].text;
  }
  return out;
}

}  // namespace ztc::nft
