#include "backend/routing_reconciler.h"

#include <map>
#include <set>
#include <utility>

#include "backend/sysctl.h"

namespace ztc::route {
namespace {

// What a change does, for messages and the diff: "add -4 route ... table 100".
std::string action_text(const Change& change) {
  switch (change.kind) {
    case Change::Kind::add_rule: return "add " + describe(change.rule);
    case Change::Kind::delete_rule: return "delete " + describe(change.rule);
    case Change::Kind::add_route: return "add " + describe(change.route);
    case Change::Kind::replace_route: return "replace " + describe(change.route);
    case Change::Kind::delete_route: return "delete " + describe(change.route);
    case Change::Kind::write_sysctl: return "set sysctl " + change.key + " to " + change.new_value;
  }
  return "change routing";
}

KernelError perform(RoutingKernel& kernel, const Change& change) {
  switch (change.kind) {
    case Change::Kind::add_rule: return kernel.add_rule(change.rule);
    case Change::Kind::delete_rule: return kernel.delete_rule(change.rule);
    case Change::Kind::add_route: return kernel.add_route(change.route);
    case Change::Kind::replace_route: return kernel.replace_route(change.route);
    case Change::Kind::delete_route: return kernel.delete_route(change.route);
    case Change::Kind::write_sysctl: return kernel.write_sysctl(change.key, change.new_value);
  }
  return std::string("unknown change");
}

Change inverse(const Change& change) {
  Change back = change;
  switch (change.kind) {
    case Change::Kind::add_rule: back.kind = Change::Kind::delete_rule; break;
    case Change::Kind::delete_rule: back.kind = Change::Kind::add_rule; break;
    case Change::Kind::add_route: back.kind = Change::Kind::delete_route; break;
    case Change::Kind::delete_route: back.kind = Change::Kind::add_route; break;
    case Change::Kind::replace_route: std::swap(back.route, back.replaced); break;
    case Change::Kind::write_sysctl: std::swap(back.old_value, back.new_value); break;
  }
  return back;
}

// Reverts `applied` newest first; what cannot be reverted stays in `applied`.
void undo_into(RoutingKernel& kernel, std::vector<Change>* applied, Diagnostics* diagnostics,
               int* writes) {
  std::vector<Change> stuck;
  for (auto it = applied->rbegin(); it != applied->rend(); ++it) {
    ++*writes;
    if (KernelError error = perform(kernel, inverse(*it))) {
      diagnostics->error(it->location,
                         "could not roll back (" + action_text(inverse(*it)) + "): " + *error);
      stuck.insert(stuck.begin(), *it);
    }
  }
  *applied = std::move(stuck);
}

// Runs changes in order; on the first failure reports it at the object's policy
// line and undoes everything done so far.
void execute(RoutingKernel& kernel, const std::vector<Change>& changes, ReconcileResult* result) {
  for (const Change& change : changes) {
    ++result->kernel_writes;
    if (KernelError error = perform(kernel, change)) {
      result->ok = false;
      result->diagnostics.error(change.location, "cannot " + action_text(change) + ": " + *error);
      undo_into(kernel, &result->applied, &result->diagnostics, &result->kernel_writes);
      if (!result->applied.empty()) {
        result->diagnostics.note(change.location, "routing is left half-changed: " +
                                                 std::to_string(result->applied.size()) +
                                                 " change(s) could not be rolled back");
      } else {
        result->diagnostics.note(change.location, "routing changes made so far were rolled back");
      }
      return;
    }
    result->applied.push_back(change);
  }
}

void add_diff(const Change& change, ReconcileResult* result) {
  switch (change.kind) {
    case Change::Kind::add_rule:
      result->diff.push_back({'+', describe(change.rule), change.location});
      break;
    case Change::Kind::delete_rule:
      result->diff.push_back({'-', describe(change.rule), change.location});
      break;
    case Change::Kind::add_route:
      result->diff.push_back({'+', describe(change.route), change.location});
      break;
    case Change::Kind::replace_route:
      result->diff.push_back({'-', describe(change.replaced), Location{}});
      result->diff.push_back({'+', describe(change.route), change.location});
      break;
    case Change::Kind::delete_route:
      result->diff.push_back({'-', describe(change.route), change.location});
      break;
    case Change::Kind::write_sysctl:
      result->diff.push_back({'~',
                              "sysctl " + change.key + " " + change.old_value + " -> " +
                                  change.new_value,
                              change.location});
      break;
  }
}

bool read_current(RoutingKernel& kernel, std::vector<Rule>* rules, std::vector<Route>* routes,
                  ReconcileResult* result) {
  if (KernelError error = kernel.list_rules(rules)) {
    result->diagnostics.error(Location{}, "cannot read routing rules: " + *error);
  } else if (KernelError error = kernel.list_routes(routes)) {
    result->diagnostics.error(Location{}, "cannot read routes: " + *error);
  } else {
    return true;
  }
  result->ok = false;
  return false;
}

std::string location_key(const Location& location) {
  return location.known() ? location.str() : std::string();
}

// Reports a missing device once per (device, policy line): a derived route on a
// missing device would otherwise be reported once per set member.
class DeviceCheck {
 public:
  DeviceCheck(RoutingKernel& kernel, Diagnostics* diagnostics)
      : kernel_(kernel), diagnostics_(diagnostics) {}

  void require(const std::string& device, const Location& where) {
    if (exists(device)) return;
    if (reported_.insert({device, location_key(where)}).second) {
      diagnostics_->error(where, "device \"" + device + "\" does not exist");
    }
  }
  bool exists(const std::string& device) {
    auto found = known_.find(device);
    if (found != known_.end()) return found->second;
    bool exists = kernel_.device_exists(device);
    known_.emplace(device, exists);
    return exists;
  }

 private:
  RoutingKernel& kernel_;
  Diagnostics* diagnostics_;
  std::map<std::string, bool> known_;
  std::set<std::pair<std::string, std::string>> reported_;
};

bool family_consistent(const Route& route) {
  if (route.destination.family != route.family) return false;
  if (route.via && route.via->family != route.family) return false;
  if (route.source && route.source->family != route.family) return false;
  return true;
}

}  // namespace

std::string ReconcileResult::diff_text() const {
  std::string text;
  for (const DiffLine& line : diff) {
    text += line.sign;
    text += ' ';
    text += line.text;
    text += '\n';
  }
  return text;
}

ReconcileResult reconcile(RoutingKernel& kernel, const Plan& plan,
                          const std::vector<Route>& extra_routes, bool dry_run) {
  ReconcileResult result;
  Diagnostics& diagnostics = result.diagnostics;

  // ---- what is wanted (duplicates dropped, collisions refused)
  std::vector<Rule> wanted_rules;
  for (const Rule& rule : plan.rules) {
    bool duplicate = false;
    for (const Rule& other : wanted_rules) duplicate = duplicate || same_rule(rule, other);
    if (!duplicate) wanted_rules.push_back(rule);
  }
  std::vector<Route> wanted_routes;
  auto want_route = [&](const Route& route) {
    if (!family_consistent(route)) {
      diagnostics.error(route.location, "route mixes IPv4 and IPv6 addresses: " + describe(route));
      return;
    }
    for (const Route& other : wanted_routes) {
      if (same_route(route, other)) return;
      if (same_route_key(route, other)) {
        std::string where = other.location.known() ? " (" + other.location.str() + ")" : "";
        diagnostics.error(route.location,
                          "route " + describe(route) + " collides with " + describe(other) +
                              where + ": the kernel keeps one route per table, destination and "
                              "metric");
        return;
      }
    }
    wanted_routes.push_back(route);
  };
  for (const Route& route : plan.routes) want_route(route);
  for (const Route& route : extra_routes) want_route(route);

  // ---- checks against the kernel, before anything is written (also the dry run)
  DeviceCheck devices(kernel, &diagnostics);
  for (const Route& route : wanted_routes) {
    if (route.device) devices.require(*route.device, route.location);
  }
  for (const DerivedRoutes& derived : plan.derived) {
    if (derived.route.device) devices.require(*derived.route.device, derived.location);
  }
  for (const Rule& rule : wanted_rules) {
    // The kernel accepts a rule on a missing interface and matches once it appears.
    if (rule.iif && !devices.exists(*rule.iif)) {
      diagnostics.warning(rule.location, "interface \"" + *rule.iif +
                                             "\" does not exist (yet): the rule will match "
                                             "only once it appears");
    }
  }
  std::vector<Change> sysctl_writes;
  std::map<std::string, const Sysctl*> seen_keys;
  for (const Sysctl& sysctl : plan.sysctls) {
    auto [previous, inserted] = seen_keys.emplace(sysctl.key, &sysctl);
    if (!inserted) {
      if (!sysctl_values_equal(previous->second->value, sysctl.value)) {
        diagnostics.error(sysctl.location, "sysctl " + sysctl.key + " is set twice, to " +
                                               previous->second->value + " and " + sysctl.value);
      }
      continue;
    }
    if (std::optional<std::string> device = sysctl_interface(sysctl.key)) {
      if (!devices.exists(*device)) {
        devices.require(*device, sysctl.location);
        continue;
      }
    }
    std::string current;
    if (KernelError error = kernel.read_sysctl(sysctl.key, &current)) {
      diagnostics.error(sysctl.location, "cannot read sysctl " + sysctl.key + ": " + *error);
      continue;
    }
    if (sysctl_values_equal(current, sysctl.value)) continue;
    Change change;
    change.kind = Change::Kind::write_sysctl;
    change.key = sysctl.key;
    change.old_value = current;
    change.new_value = sysctl.value;
    change.location = sysctl.location;
    sysctl_writes.push_back(std::move(change));
  }
  if (diagnostics.has_errors()) {
    result.ok = false;
    return result;
  }

  // ---- what is there
  std::vector<Rule> current_rules;
  std::vector<Route> current_routes;
  if (!read_current(kernel, &current_rules, &current_routes, &result)) return result;

  // ---- the difference. Matching consumes a current entry, so a duplicate in the
  // kernel counts as stale.
  std::vector<bool> rule_kept(current_rules.size(), false);
  std::vector<Change> rule_adds;
  for (const Rule& rule : wanted_rules) {
    bool found = false;
    for (size_t i = 0; i < current_rules.size() && !found; ++i) {
      if (!rule_kept[i] && same_rule(current_rules[i], rule)) found = rule_kept[i] = true;
    }
    if (!found) {
      Change change;
      change.kind = Change::Kind::add_rule;
      change.rule = rule;
      change.location = rule.location;
      rule_adds.push_back(std::move(change));
    }
  }
  std::vector<bool> route_kept(current_routes.size(), false);
  std::vector<const Route*> missing_routes;
  for (const Route& route : wanted_routes) {
    bool found = false;
    for (size_t i = 0; i < current_routes.size() && !found; ++i) {
      if (!route_kept[i] && same_route(current_routes[i], route)) found = route_kept[i] = true;
    }
    if (!found) missing_routes.push_back(&route);
  }
  std::vector<Change> route_adds;
  for (const Route* route : missing_routes) {
    Change change;
    change.kind = Change::Kind::add_route;
    change.route = *route;
    change.location = route->location;
    // A stale ztc route holding the same key is replaced in place: adding first
    // would fail (one route per key), deleting first would leave a gap.
    for (size_t i = 0; i < current_routes.size(); ++i) {
      if (!route_kept[i] && same_route_key(current_routes[i], *route)) {
        route_kept[i] = true;
        change.kind = Change::Kind::replace_route;
        change.replaced = current_routes[i];
        break;
      }
    }
    route_adds.push_back(std::move(change));
  }
  std::vector<Change> changes = sysctl_writes;
  changes.insert(changes.end(), route_adds.begin(), route_adds.end());
  changes.insert(changes.end(), rule_adds.begin(), rule_adds.end());
  for (size_t i = 0; i < current_rules.size(); ++i) {
    if (rule_kept[i]) continue;
    Change change;
    change.kind = Change::Kind::delete_rule;
    change.rule = current_rules[i];
    changes.push_back(std::move(change));
  }
  for (size_t i = 0; i < current_routes.size(); ++i) {
    if (route_kept[i]) continue;
    Change change;
    change.kind = Change::Kind::delete_route;
    change.route = current_routes[i];
    changes.push_back(std::move(change));
  }
  for (const Change& change : changes) add_diff(change, &result);

  if (!dry_run) execute(kernel, changes, &result);
  return result;
}

Diagnostics undo(RoutingKernel& kernel, const std::vector<Change>& applied) {
  Diagnostics diagnostics;
  std::vector<Change> remaining = applied;
  int writes = 0;
  undo_into(kernel, &remaining, &diagnostics, &writes);
  return diagnostics;
}

ReconcileResult remove_all(RoutingKernel& kernel, bool dry_run) {
  ReconcileResult result;
  std::vector<Rule> rules;
  std::vector<Route> routes;
  if (!read_current(kernel, &rules, &routes, &result)) return result;
  std::vector<Change> changes;
  for (const Rule& rule : rules) {
    Change change;
    change.kind = Change::Kind::delete_rule;
    change.rule = rule;
    changes.push_back(std::move(change));
  }
  for (const Route& route : routes) {
    Change change;
    change.kind = Change::Kind::delete_route;
    change.route = route;
    changes.push_back(std::move(change));
  }
  for (const Change& change : changes) add_diff(change, &result);
  if (!dry_run) execute(kernel, changes, &result);
  return result;
}

}  // namespace ztc::route
