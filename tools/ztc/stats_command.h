// ztc stats: what the loaded policy counted, told in the policy's lines.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "tools/ztc/commands.h"

namespace ztc {

struct StatsOptions {
  PolicyOptions policy;
  NodeOptions node;
  bool json = false;
  bool prometheus = false;
};

// Exit 0 with the report; 1 when the policy does not compile or the node
// cannot be read; 2 on usage errors.
int run_stats(const StatsOptions& options, std::ostream& out, std::ostream& err);

// What `ztc stats` found; printed as text, JSON or Prometheus text.
struct RuleCount {
  std::string location;             // file:line:col of the policy rule
  std::vector<std::string> merged;  // rules lowered into the same match, counted together
  std::string hook;                 // the chain: prerouting, nat_output, ...
  std::string counter;              // the counter object's name
  bool loaded = false;              // the table holds the counter
  uint64_t packets = 0;
  uint64_t bytes = 0;
  std::string since;  // when it was last reset (RFC 3339 UTC); empty: unknown
};

struct SetCount {
  std::string name;
  bool managed = false;
  std::optional<uint64_t> elements;  // nullopt: not loaded
};

struct Stats {
  std::string table;  // "ip ztunnel"
  bool loaded = false;
  std::string loaded_at;           // empty: no record of the load
  std::string loaded_fingerprint;  // of the last load (load record)
  std::string policy_fingerprint;  // of FILE with these -D values
  std::vector<RuleCount> rules;
  std::vector<SetCount> sets;
  std::vector<std::pair<uint32_t, uint64_t>> routes_per_table;  // ztc's routes
  uint64_t ztc_ip_rules = 0;
  std::optional<uint64_t> drift;               // lines `ztc diff` prints; nullopt: unknown
  std::optional<uint64_t> preflight_findings;  // nullopt: the node could not be read
};

std::string stats_text(const Stats& stats);
std::string stats_json(const Stats& stats);
std::string stats_prometheus(const Stats& stats);

}  // namespace ztc
