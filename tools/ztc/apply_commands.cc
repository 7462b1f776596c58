// ztc load / unload / diff / status.
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "backend/apply.h"
#include "backend/apply_lock.h"
#include "backend/diff.h"
#include "backend/nft_canonical.h"
#include "backend/sysctl_state.h"
#include "tools/ztc/commands.h"
#include "tools/ztc/node_access.h"
#include "tools/ztc/policy_input.h"
#include "tools/ztc/preflight_command.h"
#include "tools/ztc/wording.h"

namespace ztc {
namespace {

// The common start of load, unload and diff: compile, open the node, lock.
struct Prepared {
  CompiledPolicy compiled;
  NodeAccess node;
  std::unique_ptr<ApplyLock> lock;
  std::optional<SysctlState> sysctl_state;
};

std::optional<Prepared> prepare(const LoadOptions& options, const std::string& command,
                                std::ostream& err, int* exit_code, int error_code) {
  Diagnostics diagnostics;
  auto compiled = compile_from_options(options.policy, diagnostics);
  err << diagnostics.render();
  if (!compiled) {
    *exit_code = error_code;
    return std::nullopt;
  }
  std::string error;
  auto node = open_node(options.node, command, &error);
  if (!node) {
    err << "ztc: error: " << error << "\n";
    *exit_code = error_code;
    return std::nullopt;
  }
  auto lock = std::make_unique<ApplyLock>(
      compiled->table.family, compiled->table.name, options.node.lock_timeout_ms,
      options.node.netns, [&err](const std::string& line) { err << line << std::endl; });
  if (!lock->ok()) {
    err << "ztc: error: " << lock->error() << "\n";
    *exit_code = error_code;
    return std::nullopt;
  }
  std::optional<SysctlState> sysctl_state = SysctlState::open(&error);
  if (!sysctl_state) {
    err << "ztc: error: " << error << "\n";
    *exit_code = error_code;
    return std::nullopt;
  }
  return Prepared{std::move(*compiled), std::move(*node), std::move(lock), std::move(sysctl_state)};
}

void print_routing_changes(const route::ReconcileResult& routing, std::ostream& out) {
  if (routing.changed()) out << routing.diff_text();
}

}  // namespace

int run_load(const LoadOptions& options, std::ostream& out, std::ostream& err) {
  int code = kExitFailure;
  auto prepared = prepare(options, "load", err, &code, kExitFailure);
  if (!prepared) return code;
  if (preflight_warnings(prepared->compiled, err) != 0 && options.strict) {
    err << "ztc: load refused (--strict): preflight found conflicts; the node was not changed\n";
    return kExitFailure;
  }
  HeldSignals held;
  Kernels kernels{*prepared->node.nft, *prepared->node.routing, prepared->node.sets.get(), &held,
                  &*prepared->sysctl_state};
  ApplyReport report = load(prepared->compiled.table, prepared->compiled.routing, kernels,
                            options.dry_run, options.replace);
  NodeState state = node_state(report.ok, report.node_unchanged);
  err << report.diagnostics.render();
  if (!report.ok) {
    err << (report.node_unchanged
                ? "ztc: load failed; the node was left as it was\n"
                : "ztc: load failed and could not be fully rolled back; see the errors above\n");
    return exit_after_held_signals(held, "load", state, kExitFailure, err);
  }
  const nft::Table& table = prepared->compiled.table;
  if (options.dry_run) {
    out << "# dry run: the kernel accepted the table; nothing was changed\n";
    out << report.nft_buffer;
    out << "# routing changes that a load would make: " << report.routing.diff.size() << "\n";
    print_routing_changes(report.routing, out);
    // Routes of others are not read (only ztc's are), so a key they hold is
    // found only by the write.
    out << "# not checked without writing: a route of another program at the same table, "
           "destination and metric; a sysctl that reads but cannot be written (the load then "
           "fails and undoes itself)\n";
    return kExitOk;
  }
  out << "loaded table " << nft::family_name(table.family) << " " << table.name;
  if (report.incremental) {
    out << " (nft: " << plural(report.nft_changes.size(), "change", "changes")
        << ", members untouched)";
  } else if (report.members_carried > 0) {
    out << " (" << plural(report.members_carried, "member kept", "members kept") << ")";
  }
  for (const std::string& removed : report.tables_removed) out << "; removed table " << removed;
  out << "; routing: " << plural(report.routing.diff.size(), "change", "changes") << "\n";
  for (const std::string& change : report.nft_changes) out << change << "\n";
  print_routing_changes(report.routing, out);
  out.flush();
  return exit_after_held_signals(held, "load", state, kExitOk, err);
}

int run_unload(const LoadOptions& options, std::ostream& out, std::ostream& err) {
  int code = kExitFailure;
  auto prepared = prepare(options, "unload", err, &code, kExitFailure);
  if (!prepared) return code;
  HeldSignals held;
  Kernels kernels{*prepared->node.nft, *prepared->node.routing, prepared->node.sets.get(), &held,
                  &*prepared->sysctl_state};
  const nft::Table& table = prepared->compiled.table;
  ApplyReport report = unload(table.family, table.name, kernels, options.dry_run);
  NodeState state = node_state(report.ok, report.node_unchanged);
  err << report.diagnostics.render();
  if (!report.ok) {
    err << (report.node_unchanged
                ? "ztc: unload failed; the node was left as it was\n"
                : "ztc: unload failed and could not be fully rolled back; see the errors above\n");
    return exit_after_held_signals(held, "unload", state, kExitFailure, err);
  }
  if (report.tables_removed.empty()) {
    out << "no table managed by ztc";
  } else {
    out << (options.dry_run ? "would remove" : "removed");
    const char* separator = " table ";
    for (const std::string& removed : report.tables_removed) {
      out << separator << removed;
      separator = ", table ";
    }
  }
  out << "; routing: " << report.routing.diff.size()
      << (options.dry_run ? " entries to remove" : " entries removed");
  if (!report.sysctls_restored.empty()) {
    out << "; sysctls: " << report.sysctls_restored.size()
        << (options.dry_run ? " to put back" : " put back");
  }
  out << "\n";
  print_routing_changes(report.routing, out);
  for (const route::DiffLine& line : report.sysctls_restored) {
    out << line.sign << " " << line.text << "\n";
  }
  out.flush();
  return exit_after_held_signals(held, "unload", state, kExitOk, err);
}

const std::string kMembersNotCompared =
    "(members of managed sets and their routes not compared: --members compares them)";

int run_diff(const LoadOptions& options, std::ostream& out, std::ostream& err) {
  int code = kExitUsage;
  auto prepared = prepare(options, "diff", err, &code, kExitUsage);
  if (!prepared) return code;
  Kernels kernels{*prepared->node.nft, *prepared->node.routing, prepared->node.sets.get(), nullptr,
                  &*prepared->sysctl_state};
  DiffReport report = diff(prepared->compiled.table, prepared->compiled.routing, kernels,
                           nft::canonical_listing, options.members);
  err << report.diagnostics.render();
  if (!report.ok) return kExitUsage;
  if (report.equal()) {
    out << "no differences" << (report.members_compared ? "" : " " + kMembersNotCompared) << "\n";
    return kExitOk;
  }
  out << report.text();
  if (!report.members_compared) out << kMembersNotCompared << "\n";
  return kExitFailure;
}

int run_status(const NodeOptions& options, std::ostream& out, std::ostream& err) {
  std::string error;
  auto node = open_node(options, "status", &error);
  if (!node) {
    err << "ztc: error: " << error << "\n";
    return kExitFailure;
  }
  std::optional<std::vector<LiveTable>> tables = live_tables(*node->nft, &error);
  if (!tables) {
    err << "ztc: error: " << error << (error.empty() || error.back() != '\n' ? "\n" : "");
    return kExitFailure;
  }
  int owned = 0;
  for (const LiveTable& live : *tables) {
    if (!live.managed) continue;
    ++owned;
    auto json_text = node->nft->list_table(live.family, live.name, true);
    size_t chains = 0, rules = 0;
    std::vector<std::pair<std::string, size_t>> sets;
    auto document = nlohmann::json::parse(json_text.value_or("{}"), nullptr, false);
    if (document.is_object() && document.contains("nftables")) {
      for (const auto& item : document["nftables"]) {
        if (item.contains("chain")) ++chains;
        if (item.contains("rule")) ++rules;
        if (item.contains("set")) {
          const auto& set = item["set"];
          size_t size = set.contains("elem") ? set["elem"].size() : 0;
          sets.emplace_back(set.value("name", "?"), size);
        }
      }
    }
    out << "table " << live.ref() << ": " << plural(chains, "chain", "chains") << ", "
        << plural(rules, "rule", "rules");
    for (const auto& [set, size] : sets)
      out << "; set " << set << " " << plural(size, "element", "elements");
    out << "\n";
  }
  if (owned == 0) out << "no table managed by ztc\n";
  std::vector<route::Rule> rules;
  std::vector<route::Route> routes;
  if (auto e = node->routing->list_rules(&rules)) {
    err << "ztc: error: cannot list rules: " << *e << "\n";
    return kExitFailure;
  }
  if (auto e = node->routing->list_routes(&routes)) {
    err << "ztc: error: cannot list routes: " << *e << "\n";
    return kExitFailure;
  }
  out << "routing (protocol " << static_cast<int>(route::kZtcProtocol)
      << "): " << plural(rules.size(), "rule", "rules") << ", "
      << plural(routes.size(), "route", "routes") << "\n";
  return kExitOk;
}

}  // namespace ztc
