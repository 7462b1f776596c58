// Prometheus' text exposition format (version 0.0.4), as node_exporter's
// textfile collector reads it: per metric family one `# HELP` and one
// `# TYPE` line, then its samples, `name{label="value",...} value`.
// Label values and help text are escaped here (`\\`, `\"` in label values,
// `\n`); names are the caller's (checked by the tests' strict parser).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ztc::prometheus {

struct Sample {
  std::vector<std::pair<std::string, std::string>> labels;
  std::string value;  // as printed: "12", "1.5", "NaN"
};

struct Family {
  std::string name;  // a counter's ends in _total
  std::string type;  // counter, gauge
  std::string help;
  std::vector<Sample> samples;
};

std::string value(uint64_t number);
std::string value(double number);

// Families without samples are left out (a HELP/TYPE without samples is
// legal, but says nothing).
std::string exposition(const std::vector<Family>& families);

}  // namespace ztc::prometheus
