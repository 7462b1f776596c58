// `ztc diff`: what differs between the node and a compiled policy. The nft
// side compares listings of the owned table only (another tool's tables may
// use features an older nft cannot parse); the routing side is the
// reconciler's dry run over ztc-tagged rules, routes and the sysctls.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "backend/apply.h"

namespace ztc {

// Lists what the kernel would hold after loading `buffer` (see
// nft_canonical.h); a parameter so unit tests can do without a namespace.
using CanonicalLister = std::function<std::optional<std::string>(
    const std::string& buffer, nft::Family family, const std::string& table, std::string* error)>;

struct DiffReport {
  bool ok = false;  // false: the comparison itself failed (diagnostics say why)
  Diagnostics diagnostics;
  std::vector<std::string> nft_lines;  // "- ..." live only, "+ ..." policy only
  bool table_missing = false;
  // Other tables ztc manages ("ip old"): a load of this policy removes them.
  std::vector<std::string> stray_tables;
  route::ReconcileResult routing;
  // Whether members of managed sets and member routes were compared: always
  // with `members`, else only when a managed set's definition (or member
  // route template) differs, since then a load rewrites them all.
  bool members_compared = true;

  bool equal() const {
    return nft_lines.empty() && !table_missing && stray_tables.empty() && !routing.changed();
  }
  std::string text() const;
};

// Without `members`, as cheap as a re-load (nft_increment.h): definitions
// only, declared elements, rules, static routes and sysctls; members and
// member routes only when a managed set's definition differs.
DiffReport diff(const nft::Table& compiled, const route::Plan& plan, Kernels kernels,
                const CanonicalLister& lister, bool members = true);

}  // namespace ztc
