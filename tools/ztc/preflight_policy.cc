// The policy's side of preflight: every mark, rule priority, route table,
// base chain, bypass port, interface and sysctl the compiled policy uses,
// each with the policy line that declared it.
#include "tools/ztc/preflight_policy.h"

#include <algorithm>

#include "model/nft_model.h"
#include "backend/preflight.h"
#include "backend/sysctl.h"
#include "compiler/ir.h"
#include "compiler/overloaded.h"

namespace ztc::preflight {
namespace {

Hook hook_of(nft::Hook hook) {
  switch (hook) {
    case nft::Hook::prerouting: return Hook::prerouting;
    case nft::Hook::input: return Hook::input;
    case nft::Hook::forward: return Hook::forward;
    case nft::Hook::output: return Hook::output;
    case nft::Hook::postrouting: return Hook::postrouting;
  }
  return Hook::other;
}

bool is_shared_table(uint32_t table) {
  return table == route::kTableMain || table == route::kTableLocal ||
         table == route::kTableDefault || table == 0;
}

void add_interface(PolicyFootprint* out, const std::string& name, const Location& location) {
  for (const PolicyInterface& known : out->interfaces) {
    if (known.name == name) return;
  }
  out->interfaces.push_back({name, location});
}

void add_table(PolicyFootprint* out, IpFamily family, uint32_t table, bool filled, bool members,
               const Location& location) {
  if (is_shared_table(table)) return;
  for (PolicyTable& known : out->tables) {
    if (known.table != table || known.family != family) continue;
    if (filled && !known.filled) {
      known.filled = true;
      known.location = location;  // the route that fills it says more than a lookup
    }
    known.members = known.members || members;
    return;
  }
  out->tables.push_back({family, table, filled, members, location});
}

}  // namespace

PolicyFootprint policy_footprint(const ir::Policy& policy, const nft::Table& table) {
  PolicyFootprint out;
  out.table = nft::table_spec(table.family, table.name);
  out.table_location = policy.table_location;

  // Bits the policy reads or writes on the ct mark.
  uint32_t conntrack_bits = 0;
  for (const ir::Chain& chain : policy.chains) {
    for (const ir::Rule& rule : chain.rules) {
      for (const ir::Match& match : rule.matches) {
        if (const auto* mark = std::get_if<ir::MarkMatch>(&match)) {
          if (mark->conntrack) conntrack_bits |= mark->mask;
        } else if (const auto* iface = std::get_if<ir::InterfaceMatch>(&match)) {
          for (const std::string& name : iface->names) add_interface(&out, name, rule.location);
        }
      }
      for (const ir::Action& action : rule.actions) {
        if (const auto* mark = std::get_if<ir::MarkAction>(&action)) {
          if (mark->conntrack) conntrack_bits |= mark->mask ? mark->mask : 0xffffffffu;
        } else if (const auto* copy = std::get_if<ir::CtCopy>(&action)) {
          conntrack_bits |= copy->mask;
        }
      }
    }
  }
  for (const ir::Mark& mark : policy.marks) {
    out.marks.push_back(
        {mark.name, mark.value, mark.mask, (mark.mask & conntrack_bits) != 0, mark.location});
  }
  for (const ir::Set& set : policy.sets) {
    if (!set.from_group) continue;
    for (const nft::Element& element : set.elements) {
      std::string name = element.value;
      if (name.size() >= 2 && name.front() == '"') name = name.substr(1, name.size() - 2);
      add_interface(&out, name, set.location);
    }
  }

  for (const route::Rule& rule : policy.routing.rules) {
    PolicyRule entry{rule.family, rule.priority, rule.fwmark, rule.fwmask, rule.location};
    if (entry.fwmark && !entry.fwmask) entry.fwmask = 0xffffffffu;
    out.rules.push_back(entry);
    if (rule.action == route::RuleAction::lookup)
      add_table(&out, rule.family, rule.table, false, false, rule.location);
    if (rule.iif) add_interface(&out, *rule.iif, rule.location);
  }
  for (const route::Route& route : policy.routing.routes) {
    add_table(&out, route.family, route.table, true, false, route.location);
    if (route.device) add_interface(&out, *route.device, route.location);
  }
  for (const route::DerivedRoutes& derived : policy.routing.derived) {
    add_table(&out, derived.route.family, derived.route.table, true, true, derived.location);
    if (derived.route.device) add_interface(&out, *derived.route.device, derived.location);
  }
  for (const route::Sysctl& sysctl : policy.routing.sysctls) {
    out.sysctls.push_back({sysctl.key, sysctl.value, sysctl.location});
    if (auto name = sysctl_interface(sysctl.key)) add_interface(&out, *name, sysctl.location);
  }

  for (const nft::Chain& chain : table.chains) {
    if (!chain.base) continue;
    out.chains.push_back({nft::family_name(table.family), hook_of(chain.base->hook),
                          chain.base->priority, chain.name, chain.base->type == nft::ChainType::nat,
                          chain.location});
  }
  for (const ir::Bypass& bypass : policy.bypass) {
    for (const ir::PortRange& range : bypass.ports) {
      out.ports.push_back({bypass.protocol, range.first, range.second, bypass.location});
    }
  }
  return out;
}

}  // namespace ztc::preflight
