#include "backend/diff.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "backend/line_diff.h"
#include "backend/nft_canonical.h"
#include "backend/nft_increment.h"
#include "backend/nft_text.h"

namespace ztc {

std::string DiffReport::text() const {
  std::string out;
  if (table_missing) out += "+ (the owned nft table is not loaded)\n";
  for (const std::string& table : stray_tables) {
    out += "- (table " + table + " is managed by ztc but not by this policy)\n";
  }
  if (!nft_lines.empty()) {
    out += "--- nft (live)\n+++ nft (policy)\n";
    for (const std::string& line : nft_lines) out += line + "\n";
  }
  if (routing.changed()) {
    out += "--- routing (live)\n+++ routing (policy)\n";
    out += routing.diff_text();
  }
  return out;
}

namespace {

// A table's definitions as text for line_diff: its attributes, then its
// objects in name order (nft lists them in the order they were made).
std::string definitions_text(const nft::TableDefinitions& table) {
  std::vector<const nft::Block*> blocks;
  for (const nft::Block& block : table.blocks) blocks.push_back(&block);
  std::sort(blocks.begin(), blocks.end(), [](const nft::Block* a, const nft::Block* b) {
    return std::tie(a->kind, a->name) < std::tie(b->kind, b->name);
  });
  std::string text;
  for (const std::string& line : table.attributes) text += line + "\n";
  for (const nft::Block* block : blocks) text += block->text;
  return text;
}

// The diff a re-load would act on (nft_increment.h): nullopt when the node
// needs the whole comparison (no table yet, member routes pending, a managed
// set's definition or member route template differs, a kernel that cannot
// list definitions).
std::optional<DiffReport> definitions_diff(const nft::Table& compiled, const route::Plan& plan,
                                           const Kernels& kernels) {
  if (!kernels.sets) return std::nullopt;
  std::optional<std::string> listing = kernels.nft.list_definitions();
  if (!listing) return std::nullopt;
  DiffReport report;
  report.members_compared = false;
  const std::string ref = nft::table_spec(compiled.family, compiled.name);
  for (const std::string& other : nft::managed_table_refs(*listing)) {
    if (other != ref) report.stray_tables.push_back(other);
  }
  std::optional<ReloadDefinitions> definitions =
      reload_definitions(compiled, kernels.nft, *listing, kernels.definitions_memo);
  if (!definitions) return std::nullopt;
  report.nft_lines =
      line_diff(definitions_text(definitions->live), definitions_text(definitions->wanted));
  std::string error;
  std::string add, undo;
  std::vector<std::string> missing;
  nft::Table added_members;
  if (!missing_declared_elements(compiled, *kernels.sets, &add, &undo, &missing, &added_members,
                                 &error)) {
    report.diagnostics.error(compiled.location, error);
    return report;
  }
  report.nft_lines.insert(report.nft_lines.end(), missing.begin(), missing.end());
  std::optional<SysctlValues> recorded = recorded_sysctls(kernels, &error);
  if (!recorded) {
    report.diagnostics.error(compiled.location, error);
    return report;
  }
  const route::Plan effective =
      with_sysctl_restores(plan, *recorded, kernels.routing, compiled.location);
  report.routing = route::reconcile_keeping_members(kernels.routing, effective,
                                                    derived_routes(plan, added_members), true);
  report.routing.planned.clear();
  // Member routes an older ztc wrote: compared as a whole load would (re-tagged).
  if (report.routing.untagged_member_routes) return std::nullopt;
  if (!report.routing.ok) {
    report.diagnostics.append(report.routing.diagnostics);
    return report;
  }
  report.ok = true;
  return report;
}

}  // namespace

DiffReport diff(const nft::Table& compiled, const route::Plan& plan, Kernels kernels,
                const CanonicalLister& lister, bool members) {
  if (!members) {
    if (std::optional<DiffReport> report = definitions_diff(compiled, plan, kernels)) {
      return std::move(*report);
    }
  }
  DiffReport report;
  std::string tables_error;
  std::optional<std::vector<LiveTable>> tables = live_tables(kernels.nft, &tables_error);
  if (!tables) {
    report.diagnostics.error(compiled.location, tables_error);
    return report;
  }
  for (const LiveTable& other : *tables) {
    if (other.managed && !(other.family == compiled.family && other.name == compiled.name)) {
      report.stray_tables.push_back(other.ref());
    }
  }
  // Stateless, like the policy's side: counters would make every diff noisy.
  std::optional<std::string> live = kernels.nft.list_table(compiled.family, compiled.name, false);
  std::optional<nft::Table> merged = with_live_members(compiled, kernels, nullptr, &tables_error);
  if (!merged) {
    report.diagnostics.error(compiled.location, tables_error);
    return report;
  }
  const nft::Table& table = *merged;
  if (!live) {
    report.table_missing = true;
  } else {
    std::string error;
    std::optional<std::string> desired =
        lister(nft::emit_text(table).text, table.family, table.name, &error);
    if (!desired) {
      report.diagnostics.error(compiled.location, "cannot list the policy's table: " + error);
      return report;
    }
    report.nft_lines = line_diff(nft::with_sorted_elements(nft::with_sorted_objects(*live)),
                                 nft::with_sorted_elements(nft::with_sorted_objects(*desired)));
  }
  // A sysctl ztc changed that the policy no longer sets differs from its
  // value before ztc (a load would put that back).
  std::string error;
  std::optional<SysctlValues> recorded = recorded_sysctls(kernels, &error);
  if (!recorded) {
    report.diagnostics.error(compiled.location, error);
    return report;
  }
  const route::Plan effective =
      with_sysctl_restores(plan, *recorded, kernels.routing, compiled.location);
  report.routing = route::reconcile(kernels.routing, effective, derived_routes(plan, table), true);
  if (!report.routing.ok) {
    report.diagnostics.append(report.routing.diagnostics);
    return report;
  }
  report.ok = true;
  return report;
}

}  // namespace ztc
