#include "backend/diff.h"

#include "backend/line_diff.h"
#include "backend/nft_canonical.h"
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

DiffReport diff(const nft::Table& compiled, const route::Plan& plan, Kernels kernels,
                const CanonicalLister& lister) {
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
    report.nft_lines =
        line_diff(nft::with_sorted_elements(*live), nft::with_sorted_elements(*desired));
  }
  // A sysctl ztc changed that the policy no longer sets differs from its
  // value before ztc (a load would put that back).
  SysctlValues recorded;
  if (kernels.sysctl_state) {
    std::string error;
    std::optional<SysctlValues> values = kernels.sysctl_state->read(&error);
    if (!values) {
      report.diagnostics.error(compiled.location, error);
      return report;
    }
    recorded = std::move(*values);
  }
  report.routing = route::reconcile(
      kernels.routing, with_sysctl_restores(plan, recorded, kernels.routing, compiled.location),
      derived_routes(plan, table), true);
  if (!report.routing.ok) {
    report.diagnostics.append(report.routing.diagnostics);
    return report;
  }
  report.ok = true;
  return report;
}

}  // namespace ztc
