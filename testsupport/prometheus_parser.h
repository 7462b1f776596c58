// A strict reader of Prometheus' text exposition format (0.0.4), for tests of
// what `ztc stats --prometheus` writes: it refuses what node_exporter's
// textfile collector (or promtool check metrics) would, and a little more.
//   - metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*
//     not starting with "__", no label twice in a sample;
//   - label values quoted, escapes only \\ \" \n; HELP text escapes only \\ \n;
//   - at most one HELP and one TYPE per family, TYPE before its samples, the
//     type one of counter gauge histogram summary untyped;
//   - a family's samples in one block (not interleaved with another's);
//   - a counter's name ends in _total; a counter value is not negative;
//   - values are Go floats (NaN, +Inf, -Inf too), an optional integer timestamp;
//   - no series (name and label set) twice; the text ends in a newline.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ztc::testing {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;  // unescaped
  double value = 0;
};

struct PromText {
  std::map<std::string, std::string> types;  // family -> type
  std::map<std::string, std::string> help;   // family -> text (unescaped)
  std::vector<PromSample> samples;

  // The value of the one sample of `name` with exactly `labels`; nullopt if none.
  std::optional<double> value(const std::string& name,
                              const std::map<std::string, std::string>& labels) const;
};

// nullopt with `error` ("line 3: ...") at the first violation.
std::optional<PromText> parse_prometheus_text(const std::string& text, std::string* error);

}  // namespace ztc::testing
