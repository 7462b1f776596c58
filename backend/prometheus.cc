#include "backend/prometheus.h"

#include <cmath>
#include <cstdio>

namespace ztc::prometheus {
namespace {

std::string escaped(const std::string& text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string value(uint64_t number) { return std::to_string(number); }

std::string value(double number) {
  if (std::isnan(number)) return "NaN";
  if (std::isinf(number)) return number > 0 ? "+Inf" : "-Inf";
  char text[64];
  std::snprintf(text, sizeof text, "%.17g", number);
  return text;
}

std::string exposition(const std::vector<Family>& families) {
  std::string out;
  for (const Family& family : families) {
    if (family.samples.empty()) continue;
    out += "# HELP " + family.name + " " + escaped(family.help, false) + "\n";
    out += "# TYPE " + family.name + " " + family.type + "\n";
    for (const Sample& sample : family.samples) {
      out += family.name;
      if (!sample.labels.empty()) {
        out += "{";
        for (size_t i = 0; i < sample.labels.size(); ++i) {
          if (i > 0) out += ",";
          out += sample.labels[i].first + "=\"" + escaped(sample.labels[i].second, true) + "\"";
        }
        out += "}";
      }
      out += " " + sample.value + "\n";
    }
  }
  return out;
}

}  // namespace ztc::prometheus
