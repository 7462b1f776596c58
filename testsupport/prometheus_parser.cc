#include "testsupport/prometheus_parser.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>

namespace ztc::testing {
namespace {

bool metric_name_char(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
         (!first && std::isdigit(static_cast<unsigned char>(c)));
}

bool label_name_char(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
         (!first && std::isdigit(static_cast<unsigned char>(c)));
}

bool valid_metric_name(const std::string& name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!metric_name_char(name[i], i == 0)) return false;
  }
  return true;
}

// Go's strconv.ParseFloat as Prometheus uses it, without hex floats.
bool parse_value(const std::string& text, double* out) {
  if (text == "NaN") return *out = std::nan(""), true;
  if (text == "+Inf" || text == "Inf") return *out = HUGE_VAL, true;
  if (text == "-Inf") return *out = -HUGE_VAL, true;
  if (text.empty() || text.find_first_not_of("0123456789+-.eE") != std::string::npos) return false;
  char* end = nullptr;
  *out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

// Reads an escaped text up to `until` (or the end), allowing `escapes`.
bool unescape(const std::string& line, size_t* at, char until, const std::string& escapes,
              std::string* out, std::string* why) {
  while (*at < line.size() && line[*at] != until) {
    char c = line[(*at)++];
    if (c != '\\') {
      *out += c;
      continue;
    }
    if (*at >= line.size() || escapes.find(line[*at]) == std::string::npos) {
      *why = "invalid escape";
      return false;
    }
    char e = line[(*at)++];
    *out += e == 'n' ? '\n' : e;
  }
  return true;
}

}  // namespace

std::optional<double> PromText::value(const std::string& name,
                                      const std::map<std::string, std::string>& labels) const {
  for (const PromSample& sample : samples) {
    if (sample.name == name && sample.labels == labels) return sample.value;
  }
  return std::nullopt;
}

std::optional<PromText> parse_prometheus_text(const std::string& text, std::string* error) {
  PromText parsed;
  if (!text.empty() && text.back() != '\n') {
    *error = "the text does not end in a newline";
    return std::nullopt;
  }
  std::set<std::string> finished;  // families whose block of samples ended
  std::string current;             // family of the samples being read
  std::set<std::string> series;
  std::istringstream lines(text);
  int number = 0;
  auto fail = [&](const std::string& why) {
    *error = "line " + std::to_string(number) + ": " + why;
    return std::nullopt;
  };
  for (std::string line; std::getline(lines, line);) {
    ++number;
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream words(line);
      std::string hash, keyword, name;
      words >> hash >> keyword >> name;
      if (hash != "#" || (keyword != "HELP" && keyword != "TYPE")) continue;  // a comment
      if (!valid_metric_name(name)) return fail("invalid metric name '" + name + "'");
      std::string prefix = "# " + keyword + " " + name;
      if (line.size() > prefix.size() && line[prefix.size()] != ' ') {
        return fail("no space after the metric name");
      }
      std::string rest = line.size() > prefix.size() + 1 ? line.substr(prefix.size() + 1) : "";
      if (keyword == "HELP") {
        if (parsed.help.count(name)) return fail("second HELP for " + name);
        std::string help, why;
        size_t at = 0;
        if (!unescape(rest, &at, '\0', "\\n", &help, &why)) return fail(why + " in HELP");
        parsed.help[name] = help;
        continue;
      }
      static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                   "untyped"};
      if (!kTypes.count(rest)) return fail("unknown type '" + rest + "'");
      if (parsed.types.count(name)) return fail("second TYPE for " + name);
      if (finished.count(name) || current == name) return fail("TYPE after samples of " + name);
      if (rest == "counter" &&
          (name.size() < 6 || name.compare(name.size() - 6, 6, "_total") != 0)) {
        return fail("counter " + name + " does not end in _total");
      }
      parsed.types[name] = rest;
      continue;
    }
    PromSample sample;
    size_t at = 0;
    while (at < line.size() && metric_name_char(line[at], at == 0)) ++at;
    sample.name = line.substr(0, at);
    if (sample.name.empty()) return fail("no metric name");
    std::string key = sample.name + "{";
    if (at < line.size() && line[at] == '{') {
      ++at;
      while (at < line.size() && line[at] != '}') {
        size_t begin = at;
        while (at < line.size() && label_name_char(line[at], at == begin)) ++at;
        std::string label = line.substr(begin, at - begin);
        if (label.empty()) return fail("invalid label name");
        if (label.rfind("__", 0) == 0) return fail("label " + label + " is reserved");
        if (at + 1 >= line.size() || line[at] != '=' || line[at + 1] != '"') {
          return fail("label " + label + " has no quoted value");
        }
        at += 2;
        std::string value, why;
        if (!unescape(line, &at, '"', "\\\"n", &value, &why)) return fail(why + " in " + label);
        if (at >= line.size()) return fail("unterminated value of " + label);
        ++at;  // the closing quote
        if (!sample.labels.emplace(label, value).second) return fail("label " + label + " twice");
        if (at < line.size() && line[at] == ',') {
          ++at;
        } else if (at >= line.size() || line[at] != '}') {
          return fail("expected ',' or '}' after label " + label);
        }
      }
      if (at >= line.size()) return fail("unterminated label set");
      ++at;
    }
    for (const auto& [label, value] : sample.labels) key += label + "=" + value + "\x01";
    if (at >= line.size() || line[at] != ' ') return fail("no space before the value");
    std::istringstream rest(line.substr(at + 1));
    std::string value_text, timestamp, extra;
    rest >> value_text >> timestamp >> extra;
    if (!extra.empty()) return fail("text after the timestamp");
    if (!parse_value(value_text, &sample.value)) return fail("invalid value '" + value_text + "'");
    if (!timestamp.empty() && timestamp.find_first_not_of("-0123456789") != std::string::npos) {
      return fail("invalid timestamp '" + timestamp + "'");
    }
    // The family: for a histogram or summary the name less its suffix.
    std::string family = sample.name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      std::string s = suffix;
      if (family.size() > s.size() && family.compare(family.size() - s.size(), s.size(), s) == 0) {
        std::string base = family.substr(0, family.size() - s.size());
        auto type = parsed.types.find(base);
        if (type != parsed.types.end() &&
            (type->second == "histogram" || type->second == "summary")) {
          family = base;
        }
      }
    }
    if (family != current) {
      if (finished.count(family)) return fail("samples of " + family + " in two blocks");
      if (!current.empty()) finished.insert(current);
      current = family;
    }
    auto type = parsed.types.find(family);
    if (type != parsed.types.end() && type->second == "counter" && sample.value < 0) {
      return fail("negative counter " + sample.name);
    }
    if (!series.insert(key).second) return fail("series " + sample.name + " twice");
    parsed.samples.push_back(std::move(sample));
  }
  return parsed;
}

}  // namespace ztc::testing
