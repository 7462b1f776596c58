#include "backend/counter_values.h"

#include <cinttypes>
#include <cstdio>
#include <string_view>

namespace ztc::nft {

std::map<std::string, CounterValue> counters_in_listing(const std::string& listing) {
  // nft 1.0.6 prints a counter object as
  //   \tcounter NAME {\n\t\tpackets N bytes M\n\t}
  // (the values line missing when listed stateless). Rules reference them as
  // `counter name "NAME"`, which is never at one tab: only objects match.
  std::map<std::string, CounterValue> counters;
  constexpr std::string_view kObject = "\tcounter ";
  std::string_view text = listing;
  size_t at = 0;
  while ((at = text.find(kObject, at)) != std::string_view::npos) {
    bool line_start = at == 0 || text[at - 1] == '\n';
    size_t line_end = text.find('\n', at);
    if (line_end == std::string_view::npos) line_end = text.size();
    std::string_view line = text.substr(at + kObject.size(), line_end - at - kObject.size());
    at = line_end;
    if (!line_start || line.size() < 3 || line.substr(line.size() - 2) != " {") continue;
    std::string name(line.substr(0, line.size() - 2));
    CounterValue value;
    size_t next_end = text.find('\n', line_end + 1);
    if (line_end < text.size() && next_end != std::string_view::npos) {
      std::string values(text.substr(line_end + 1, next_end - line_end - 1));
      uint64_t packets = 0, bytes = 0;
      if (std::sscanf(values.c_str(), " packets %" SCNu64 " bytes %" SCNu64, &packets, &bytes) ==
          2) {
        value = {packets, bytes};
      }
    }
    counters[name] = value;
  }
  return counters;
}

std::vector<std::string> carry_counters(Table* table,
                                        const std::map<std::string, CounterValue>& live) {
  std::vector<std::string> carried;
  for (NamedCounter& counter : table->counters) {
    auto found = live.find(counter.name);
    if (found == live.end()) continue;
    counter.packets = found->second.packets;
    counter.bytes = found->second.bytes;
    carried.push_back(counter.name);
  }
  return carried;
}

}  // namespace ztc::nft
