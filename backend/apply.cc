#include "backend/apply.h"

#include <set>

#include "backend/nft_text.h"

namespace ztc {
namespace {

std::string table_ref(nft::Family family, const std::string& name) {
  return std::string(nft::family_name(family)) + " " + name;
}

// Puts back the table that `listing` (`nft -s list table`) describes, or
// removes the table when there was none: the node ends in its old state.
nft::ApplyResult restore_table(nft::NftKernel& kernel, nft::Family family, const std::string& name,
                               const std::optional<std::string>& listing) {
  std::string ref = table_ref(family, name);
  std::string buffer = "table " + ref + " {}\ndelete table " + ref + "\n";
  if (listing) buffer += *listing;
  return kernel.run(buffer, /*dry_run=*/false);
}

}  // namespace

nft::Table with_live_members(const nft::Table& table, nft::NftKernel& kernel, size_t* carried) {
  nft::Table out = table;
  size_t count = 0;
  for (nft::Set& set : out.sets) {
    if (!set.managed) continue;
    std::set<std::string> present;
    for (const nft::Element& e : set.elements) present.insert(e.value);
    for (nft::Element& live : kernel.list_set_elements(table.family, table.name, set.name)) {
      if (present.insert(live.value).second) {
        set.elements.push_back(std::move(live));
        ++count;
      }
    }
  }
  if (carried) *carried = count;
  return out;
}

std::vector<route::Route> derived_routes(const route::Plan& plan, const nft::Table& table) {
  std::vector<route::Route> out;
  for (const route::DerivedRoutes& derived : plan.derived) {
    for (const nft::Set& set : table.sets) {
      if (set.name != derived.set) continue;
      for (const nft::Element& element : set.elements) {
        auto member = parse_ip_prefix(element.value);
        if (member && member->family == derived.route.family) {
          out.push_back(route::derive_route(derived, *member));
        }
      }
    }
  }
  return out;
}

ApplyReport load(const nft::Table& compiled, const route::Plan& plan, Kernels kernels,
                 bool dry_run) {
  ApplyReport report;
  std::optional<std::string> previous = kernels.nft.list_table(compiled.family, compiled.name,
                                                               /*json=*/false);
  nft::Table table = with_live_members(compiled, kernels.nft, &report.members_carried);
  std::vector<route::Route> member_routes = derived_routes(plan, table);

  // 1. Routing checked against the kernel (devices exist, no collisions)
  //    before anything is written: bad input never reaches the kernel.
  route::ReconcileResult check = route::reconcile(kernels.routing, plan, member_routes, true);
  if (!check.ok) {
    report.diagnostics.append(check.diagnostics);
    report.routing = std::move(check);
    return report;
  }

  // 2. The whole table in one transaction (a dry run asks the kernel too).
  nft::TextOutput text = nft::emit_text(table);
  report.nft_buffer = text.text;
  nft::ApplyResult nft_result = kernels.nft.run(text.text, dry_run);
  if (!nft_result.success) {
    report.diagnostics.append(nft::map_nft_errors(nft_result.error, text.text, text.line_origin));
    if (!report.diagnostics.has_errors()) {
      report.diagnostics.error(compiled.location, "nft: " + nft_result.error);
    }
    return report;
  }
  if (dry_run) {
    report.routing = std::move(check);
    report.ok = true;
    return report;
  }
  report.nft_committed = true;

  // 3. Routing. The reconciler undoes its own writes on failure; the nft
  //    table is then put back as it was.
  report.routing = route::reconcile(kernels.routing, plan, member_routes, false);
  if (!report.routing.ok) {
    report.diagnostics.append(report.routing.diagnostics);
    nft::ApplyResult restored = restore_table(kernels.nft, compiled.family, compiled.name, previous);
    if (restored.success) {
      report.diagnostics.note(compiled.location,
                              previous ? "the previous nft table was restored; nothing changed"
                                       : "the new nft table was removed; nothing changed");
    } else {
      report.diagnostics.error(compiled.location,
                               "could not restore the previous nft table: " + restored.error);
    }
    report.nft_committed = false;
    return report;
  }
  report.ok = true;
  return report;
}

ApplyReport unload(nft::Family family, const std::string& name, Kernels kernels, bool dry_run) {
  ApplyReport report;
  std::optional<std::string> previous = kernels.nft.list_table(family, name, /*json=*/false);
  if (previous) {
    report.nft_buffer = "delete table " + table_ref(family, name) + "\n";
    nft::ApplyResult result = kernels.nft.run(report.nft_buffer, dry_run);
    if (!result.success) {
      report.diagnostics.error(Location{}, "nft: " + result.error);
      return report;
    }
    report.nft_committed = !dry_run;
  }
  report.routing = route::remove_all(kernels.routing, dry_run);
  if (!report.routing.ok) {
    report.diagnostics.append(report.routing.diagnostics);
    if (report.nft_committed) {
      nft::ApplyResult restored = restore_table(kernels.nft, family, name, previous);
      if (!restored.success) {
        report.diagnostics.error(Location{}, "could not restore the nft table: " + restored.error);
      }
      report.nft_committed = false;
    }
    return report;
  }
  report.ok = true;
  return report;
}

}  // namespace ztc
