// The three forms of `ztc stats`: text for people, JSON for programs, and
// Prometheus text for node_exporter's textfile collector.
#include <ctime>
#include <nlohmann/json.hpp>

#include "backend/prometheus.h"
#include "tools/ztc/stats_command.h"
#include "tools/ztc/wording.h"

namespace ztc {
namespace {

// RFC 3339 UTC (as the load record writes it) -> seconds since the epoch.
std::optional<double> epoch_seconds(const std::string& utc) {
  std::tm parts{};
  if (!strptime(utc.c_str(), "%Y-%m-%dT%H:%M:%SZ", &parts)) return std::nullopt;
  return static_cast<double>(timegm(&parts));
}

std::string drift_text(const std::optional<uint64_t>& drift) {
  if (!drift) return "unknown (ztc diff could not compare)";
  if (*drift == 0) return "none";
  return plural(*drift, "line", "lines") + " (ztc diff shows them)";
}

}  // namespace

std::string stats_text(const Stats& stats) {
  std::string out = "table " + stats.table + ": ";
  out += stats.loaded ? "loaded" : "not loaded";
  if (!stats.loaded_at.empty()) out += ", last load " + stats.loaded_at;
  if (!stats.loaded_fingerprint.empty()) {
    out += ", fingerprint " + stats.loaded_fingerprint +
           (stats.loaded_fingerprint == stats.policy_fingerprint
                ? " (this policy)"
                : " (not this policy: " + stats.policy_fingerprint + ")");
  }
  out += "\nrules:\n";
  for (const RuleCount& rule : stats.rules) {
    out += "  " + rule.location + " " + rule.hook + ": ";
    if (!rule.loaded) {
      out += "not loaded\n";
      continue;
    }
    out += plural(rule.packets, "packet", "packets") + ", " + plural(rule.bytes, "byte", "bytes");
    out += rule.since.empty() ? ", since an unrecorded load" : ", since " + rule.since;
    if (!rule.merged.empty()) {
      out += " (with";
      for (const std::string& merged : rule.merged) out += " " + merged;
      out += ")";
    }
    out += "\n";
  }
  if (!stats.sets.empty()) out += "sets:\n";
  for (const SetCount& set : stats.sets) {
    out += "  " + set.name + ": " +
           (set.elements ? plural(*set.elements, "element", "elements") : "not loaded") + "\n";
  }
  out += "routing (ztc's): " + plural(stats.ztc_ip_rules, "rule", "rules");
  for (const auto& [table, count] : stats.routes_per_table) {
    out += "; table " + std::to_string(table) + " " + plural(count, "route", "routes");
  }
  out += "\ndrift: " + drift_text(stats.drift) + "\n";
  out += "preflight: " +
         (stats.preflight_findings ? plural(*stats.preflight_findings, "finding", "findings")
                                   : std::string("the node could not be read")) +
         "\n";
  return out;
}

std::string stats_json(const Stats& stats) {
  using nlohmann::json;
  json rules = json::array();
  for (const RuleCount& rule : stats.rules) {
    json entry = {{"location", rule.location},
                  {"hook", rule.hook},
                  {"counter", rule.counter},
                  {"loaded", rule.loaded},
                  {"packets", rule.packets},
                  {"bytes", rule.bytes},
                  {"since", rule.since.empty() ? json() : json(rule.since)}};
    if (!rule.merged.empty()) entry["merged"] = rule.merged;
    rules.push_back(std::move(entry));
  }
  json sets = json::array();
  for (const SetCount& set : stats.sets) {
    sets.push_back({{"name", set.name},
                    {"managed", set.managed},
                    {"elements", set.elements ? json(*set.elements) : json()}});
  }
  json routes = json::array();
  for (const auto& [table, count] : stats.routes_per_table) {
    routes.push_back({{"table", table}, {"routes", count}});
  }
  auto optional = [](const std::optional<uint64_t>& value) {
    return value ? json(*value) : json();
  };
  json document = {
      {"table", stats.table},
      {"loaded", stats.loaded},
      {"last_load", stats.loaded_at.empty() ? json() : json(stats.loaded_at)},
      {"loaded_fingerprint",
       stats.loaded_fingerprint.empty() ? json() : json(stats.loaded_fingerprint)},
      {"policy_fingerprint", stats.policy_fingerprint},
      {"rules", std::move(rules)},
      {"sets", std::move(sets)},
      {"routes", std::move(routes)},
      {"ip_rules", stats.ztc_ip_rules},
      {"drift", optional(stats.drift)},
      {"preflight_findings", optional(stats.preflight_findings)},
  };
  return document.dump(2) + "\n";
}

std::string stats_prometheus(const Stats& stats) {
  using prometheus::Family;
  using prometheus::value;
  Family packets{"ztc_rule_packets_total",
                 "counter",
                 "Packets matched by a policy rule (however it was lowered), since its last reset",
                 {}};
  Family bytes{"ztc_rule_bytes_total", "counter", "Bytes matched by a policy rule", {}};
  Family reset{"ztc_rule_reset_timestamp_seconds",
               "gauge",
               "When the rule's counter was last reset (the load that created it)",
               {}};
  for (const RuleCount& rule : stats.rules) {
    if (!rule.loaded) continue;
    std::vector<std::pair<std::string, std::string>> labels = {
        {"table", stats.table}, {"location", rule.location}, {"hook", rule.hook}};
    packets.samples.push_back({labels, value(rule.packets)});
    bytes.samples.push_back({labels, value(rule.bytes)});
    if (auto seconds = epoch_seconds(rule.since))
      reset.samples.push_back({labels, value(*seconds)});
  }
  Family set_elements{"ztc_set_elements", "gauge", "Elements of a set of the policy's table", {}};
  for (const SetCount& set : stats.sets) {
    if (set.elements) {
      set_elements.samples.push_back(
          {{{"table", stats.table}, {"set", set.name}}, value(*set.elements)});
    }
  }
  Family routes{
      "ztc_routes", "gauge", "ztc's routes (protocol 122, member routes 123) per route table", {}};
  for (const auto& [table, count] : stats.routes_per_table) {
    routes.samples.push_back({{{"route_table", std::to_string(table)}}, value(count)});
  }
  Family ip_rules{"ztc_ip_rules", "gauge", "ztc's ip rules (protocol 122)", {}};
  ip_rules.samples.push_back({{}, value(stats.ztc_ip_rules)});
  Family loaded{"ztc_table_loaded", "gauge", "1 when the policy's table is loaded", {}};
  loaded.samples.push_back({{{"table", stats.table}}, value(uint64_t{stats.loaded ? 1u : 0u})});
  Family last_load{
      "ztc_last_load_timestamp_seconds", "gauge", "When ztc last loaded the table", {}};
  if (auto seconds = epoch_seconds(stats.loaded_at)) {
    last_load.samples.push_back({{{"table", stats.table}}, value(*seconds)});
  }
  Family matches{"ztc_loaded_policy_matches",
                 "gauge",
                 "1 when the last load's fingerprint is the policy's",
                 {}};
  if (!stats.loaded_fingerprint.empty()) {
    matches.samples.push_back(
        {{{"table", stats.table},
          {"loaded_fingerprint", stats.loaded_fingerprint},
          {"policy_fingerprint", stats.policy_fingerprint}},
         value(uint64_t{stats.loaded_fingerprint == stats.policy_fingerprint ? 1u : 0u})});
  }
  Family drift{
      "ztc_drift_lines", "gauge", "Lines that ztc diff prints (0: the node is the policy)", {}};
  if (stats.drift) drift.samples.push_back({{{"table", stats.table}}, value(*stats.drift)});
  Family findings{"ztc_preflight_findings", "gauge", "What preflight finds on the node", {}};
  if (stats.preflight_findings) {
    findings.samples.push_back({{{"table", stats.table}}, value(*stats.preflight_findings)});
  }
  return prometheus::exposition({packets, bytes, reset, set_elements, routes, ip_rules, loaded,
                                 last_load, matches, drift, findings});
}

}  // namespace ztc
