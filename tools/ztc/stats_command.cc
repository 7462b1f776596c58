// ztc stats: collects the counters of the policy's rules, set sizes, ztc's
// routes per table, the load record, drift and preflight findings.
#include "tools/ztc/stats_command.h"

#include <map>
#include <ostream>
#include <sstream>

#include "backend/counter_values.h"
#include "backend/diff.h"
#include "backend/load_record.h"
#include "backend/nft_canonical.h"
#include "backend/sysctl_state.h"
#include "tools/ztc/node_access.h"
#include "tools/ztc/policy_input.h"
#include "tools/ztc/preflight_command.h"

namespace ztc {
namespace {

// The chain a counter's rule is in: the name up to its identity hash.
std::string hook_of(const std::string& counter) {
  size_t end = counter.find('_');
  if (counter.rfind("nat_", 0) == 0) end = counter.find('_', 4);
  return counter.substr(0, end);
}

std::optional<uint64_t> set_size(NodeAccess& node, const nft::Table& table, const nft::Set& set) {
  std::vector<nft::Element> members;
  if (node.sets) {
    nft::SetDescription description;
    if (!node.sets->describe(table.family, table.name, set.name, &description)) {
      if (!description.set_exists) return std::nullopt;
      if (!node.sets->list(table.family, table.name, set.name, &members)) return members.size();
    }
  }
  members = node.nft->list_set_elements(table.family, table.name, set.name);
  return members.size();
}

}  // namespace

int run_stats(const StatsOptions& options, std::ostream& out, std::ostream& err) {
  Diagnostics diagnostics;
  auto compiled = compile_from_options(options.policy, diagnostics);
  err << diagnostics.render();
  if (!compiled) return kExitFailure;
  std::string error;
  auto node = open_node(options.node, "stats", &error);
  if (!node) {
    err << "ztc: error: " << error << "\n";
    return kExitFailure;
  }
  const nft::Table& table = compiled->table;
  Stats stats;
  stats.table = nft::table_spec(table.family, table.name);
  stats.policy_fingerprint = policy_fingerprint(table, compiled->routing);

  // The counters with their values: `list counters` is stateful (run()).
  nft::ApplyResult listed = node->nft->run("list counters table " + stats.table, false);
  std::map<std::string, nft::CounterValue> live;
  if (listed.success) live = nft::counters_in_listing(listed.output);
  stats.loaded = listed.success && node->nft->list_table(table.family, table.name, false);

  std::optional<LoadRecord> record;
  if (auto file = LoadRecordFile::open(&error)) {
    record = file->read(&error);
    if (record && record->table != stats.table) record.reset();
  }
  if (!error.empty()) err << "ztc: warning: " << error << "\n";
  if (record) {
    stats.loaded_at = record->loaded_at;
    stats.loaded_fingerprint = record->fingerprint;
  }
  for (const nft::NamedCounter& counter : table.counters) {
    RuleCount rule;
    rule.location = counter.location.str();
    for (const Location& merged : counter.merged) rule.merged.push_back(merged.str());
    rule.hook = hook_of(counter.name);
    rule.counter = counter.name;
    auto value = live.find(counter.name);
    rule.loaded = value != live.end();
    if (rule.loaded) {
      rule.packets = value->second.packets;
      rule.bytes = value->second.bytes;
      if (record) {
        auto since = record->counters_since.find(counter.name);
        if (since != record->counters_since.end()) rule.since = since->second;
      }
    }
    stats.rules.push_back(std::move(rule));
  }
  for (const nft::Set& set : table.sets) {
    SetCount count{set.name, set.managed, std::nullopt};
    if (stats.loaded) count.elements = set_size(*node, table, set);
    stats.sets.push_back(std::move(count));
  }

  std::vector<route::Route> routes;
  std::vector<route::Rule> rules;
  if (auto e = node->routing->list_routes(&routes)) {
    err << "ztc: error: cannot list routes: " << *e << "\n";
    return kExitFailure;
  }
  if (auto e = node->routing->list_rules(&rules)) {
    err << "ztc: error: cannot list rules: " << *e << "\n";
    return kExitFailure;
  }
  std::map<uint32_t, uint64_t> per_table;
  for (const route::Route& route : routes) ++per_table[route.table];
  stats.routes_per_table.assign(per_table.begin(), per_table.end());
  stats.ztc_ip_rules = rules.size();

  std::optional<SysctlState> sysctl_state = SysctlState::open(&error);
  if (sysctl_state) {
    Kernels kernels{*node->nft, *node->routing, node->sets.get(), nullptr, &*sysctl_state};
    DiffReport drift = diff(table, compiled->routing, kernels, nft::canonical_listing);
    if (drift.ok) {
      stats.drift = drift.nft_lines.size() + drift.routing.diff.size() + drift.stray_tables.size() +
                    (drift.table_missing ? 1 : 0);
    }
  }
  std::ostringstream findings_text;  // the findings themselves are preflight's to print
  int findings = preflight_warnings(*compiled, PreflightDepth::without_named_maps, findings_text);
  if (findings >= 0) stats.preflight_findings = static_cast<uint64_t>(findings);

  if (options.json) {
    out << stats_json(stats);
  } else if (options.prometheus) {
    out << stats_prometheus(stats);
  } else {
    out << stats_text(stats);
  }
  return kExitOk;
}

}  // namespace ztc
