#include "backend/routing_reconciler.h"

#include <functional>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "backend/sysctl.h"

namespace ztc::route {
namespace {

Change rule_change(Change::Kind kind, const Rule& rule, const Location& location) {
  Change change;
  change.kind = kind;
  change.subject = rule;
  change.location = location;
  return change;
}

Change route_change(Change::Kind kind, const Route& route, const Location& location) {
  Change change;
  change.kind = kind;
  change.subject = route;
  change.location = location;
  return change;
}

bool starts_with(const std::string& text, const char* prefix) { return text.rfind(prefix, 0) == 0; }

KernelError perform(RoutingKernel& kernel, const Change& change) {
  switch (change.kind) {
    case Change::Kind::add_rule: return kernel.add_rule(change.rule());
    case Change::Kind::delete_rule: return kernel.delete_rule(change.rule());
    case Change::Kind::add_route: return kernel.add_route(change.route());
    case Change::Kind::replace_route: return kernel.replace_route(change.route());
    case Change::Kind::delete_route: {
      KernelError error = kernel.delete_route(change.route());
      // A member route an older ztc wrote carries the static routes' protocol.
      if (error && change.route().member && starts_with(*error, "No such process")) {
        Route untagged = change.route();
        untagged.member = false;
        if (!kernel.delete_route(untagged)) return std::nullopt;
      }
      return error;
    }
    case Change::Kind::write_sysctl:
      return kernel.write_sysctl(change.sysctl().key, change.sysctl().new_value);
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
    case Change::Kind::replace_route:
      back.subject = *change.replaced;
      back.replaced = std::make_shared<const Route>(change.route());
      break;
    case Change::Kind::write_sysctl: {
      SysctlWrite write = change.sysctl();
      std::swap(write.old_value, write.new_value);
      back.subject = std::move(write);
      break;
    }
  }
  return back;
}

// Reverts `applied` newest first; what cannot be reverted stays in `applied`.
void undo_into(RoutingKernel& kernel, std::vector<Change>* applied, Diagnostics* diagnostics,
               int* writes) {
  std::vector<Change> stuck;
  for (auto it = applied->rbegin(); it != applied->rend(); ++it) {
    ++*writes;
    Change back = inverse(*it);
    if (KernelError error = perform(kernel, back)) {
      diagnostics->error(it->location,
                         "could not roll back (" + action_text(back) + "): " + *error);
      stuck.insert(stuck.begin(), std::move(*it));
    }
  }
  *applied = std::move(stuck);
}

bool read_current(RoutingKernel& kernel, std::vector<Rule>* rules, std::vector<Route>* routes,
                  ReconcileResult* result, bool static_only = false) {
  if (KernelError error = kernel.list_rules(rules)) {
    result->diagnostics.error(Location{}, "cannot read routing rules: " + *error);
  } else if (KernelError error =
                 static_only ? kernel.list_static_routes(routes) : kernel.list_routes(routes)) {
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

void append_diff_lines(const Change& change, std::vector<DiffLine>* lines) {
  switch (change.kind) {
    case Change::Kind::add_rule:
      lines->push_back({'+', describe(change.rule()), change.location});
      break;
    case Change::Kind::delete_rule:
      lines->push_back({'-', describe(change.rule()), change.location});
      break;
    case Change::Kind::add_route:
      lines->push_back({'+', describe(change.route()), change.location});
      break;
    case Change::Kind::replace_route: {
      const std::string before = describe(*change.replaced), after = describe(change.route());
      // Only the protocol differs (a member route an older ztc tagged 122):
      // one line that says so, not a "-" and "+" of the same text.
      if (before == after) {
        lines->push_back({'~',
                          after + " proto " + std::to_string(protocol_of(*change.replaced)) +
                              " -> " + std::to_string(protocol_of(change.route())),
                          change.location});
        break;
      }
      lines->push_back({'-', before, Location{}});
      lines->push_back({'+', after, change.location});
      break;
    }
    case Change::Kind::delete_route:
      lines->push_back({'-', describe(change.route()), change.location});
      break;
    case Change::Kind::write_sysctl: {
      const SysctlWrite& write = change.sysctl();
      lines->push_back({'~',
                        "sysctl " + write.key + " " + write.old_value + " -> " + write.new_value,
                        change.location});
      break;
    }
  }
}

std::string action_text(const Change& change) {
  switch (change.kind) {
    case Change::Kind::add_rule: return "add " + describe(change.rule());
    case Change::Kind::delete_rule: return "delete " + describe(change.rule());
    case Change::Kind::add_route: return "add " + describe(change.route());
    case Change::Kind::replace_route: return "replace " + describe(change.route());
    case Change::Kind::delete_route: return "delete " + describe(change.route());
    case Change::Kind::write_sysctl:
      return "set sysctl " + change.sysctl().key + " to " + change.sysctl().new_value;
  }
  return "change routing";
}

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

namespace {

ReconcileResult reconcile_routing(RoutingKernel& kernel, const Plan& plan,
                                  const std::vector<Route>& extra_routes, bool dry_run,
                                  bool keep_members) {
  ReconcileResult result;
  Diagnostics& diagnostics = result.diagnostics;

  // ---- what is wanted (duplicates dropped, collisions refused). Pointers and
  // keyed lookups: a node can carry 100k pod routes.
  std::vector<const Rule*> wanted_rules;
  for (const Rule& rule : plan.rules) {
    bool duplicate = false;
    for (const Rule* other : wanted_rules) duplicate = duplicate || same_rule(rule, *other);
    if (!duplicate) wanted_rules.push_back(&rule);
  }
  std::vector<const Route*> wanted_routes;
  std::map<RouteKey, const Route*> wanted_by_key;
  auto want_route = [&](const Route& route) {
    if (!family_consistent(route)) {
      diagnostics.error(route.location, "route mixes IPv4 and IPv6 addresses: " + describe(route));
      return;
    }
    auto [at, inserted] = wanted_by_key.emplace(route_key(route), &route);
    if (!inserted) {
      const Route& other = *at->second;
      if (same_route(route, other)) return;  // the same route twice
      std::string where = other.location.known() ? " (" + other.location.str() + ")" : "";
      diagnostics.error(route.location,
                        "route " + describe(route) + " collides with " + describe(other) + where +
                            ": the kernel keeps one route per table, destination and metric");
      return;
    }
    wanted_routes.push_back(&route);
  };
  for (const Route& route : plan.routes) want_route(route);
  for (const Route& route : extra_routes) want_route(route);

  // ---- checks against the kernel, before anything is written (also the dry run)
  DeviceCheck devices(kernel, &diagnostics);
  for (const Route* route : wanted_routes) {
    if (route->device) devices.require(*route->device, route->location);
  }
  for (const DerivedRoutes& derived : plan.derived) {
    if (derived.route.device) devices.require(*derived.route.device, derived.location);
  }
  for (const Rule* rule : wanted_rules) {
    // The kernel accepts a rule on a missing interface and matches once it appears.
    if (rule->iif && !devices.exists(*rule->iif)) {
      diagnostics.warning(rule->location, "interface \"" + *rule->iif +
                                              "\" does not exist (yet): the rule will match "
                                              "only once it appears");
    }
  }
  std::vector<Change> changes;  // in write order
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
    change.subject = SysctlWrite{sysctl.key, current, sysctl.value};
    change.location = sysctl.location;
    changes.push_back(std::move(change));
  }
  if (diagnostics.has_errors()) {
    result.ok = false;
    return result;
  }

  // ---- what is there
  std::vector<Rule> current_rules;
  std::vector<Route> current_routes;
  const bool static_only = keep_members && !plan.derived.empty();
  if (!read_current(kernel, &current_rules, &current_routes, &result, static_only)) return result;
  if (static_only) {
    // Member routes are not listed, except those an older ztc tagged as
    // static routes: unless a static route of the plan, or one of
    // `extra_routes`, holds its key (then it is that route, compared as
    // such), one of those makes this a whole load's work (which re-tags them).
    std::set<RouteKey> static_keys;
    for (const Route& route : plan.routes) static_keys.insert(route_key(route));
    for (const Route& route : extra_routes) static_keys.insert(route_key(route));
    for (const Route& route : current_routes) {
      if (route.member || static_keys.count(route_key(route))) continue;
      for (const DerivedRoutes& derived : plan.derived) {
        if (derived_from(derived, route)) result.untagged_member_routes = true;
      }
    }
    if (result.untagged_member_routes) return result;
  }

  // ---- new and replaced routes. Matching consumes a current entry, so a
  // duplicate in the kernel counts as stale.
  // At most one change per wanted and per current entry: reserved, so that
  // 100k member routes do not pass through a doubling copy (peak memory).
  changes.reserve(changes.size() + wanted_routes.size() + wanted_rules.size() +
                  current_rules.size() + current_routes.size());
  std::vector<bool> route_kept(current_routes.size(), false);
  std::map<RouteKey, std::vector<size_t>> current_by_key;
  for (size_t i = 0; i < current_routes.size(); ++i) {
    current_by_key[route_key(current_routes[i])].push_back(i);
  }
  for (const Route* route : wanted_routes) {
    auto same_key = current_by_key.find(route_key(*route));
    bool found = false;
    if (same_key != current_by_key.end()) {
      for (size_t i : same_key->second) {
        if (!route_kept[i] && same_route(current_routes[i], *route)) {
          found = route_kept[i] = true;
          break;
        }
      }
    }
    if (found) continue;
    Change change = route_change(Change::Kind::add_route, *route, route->location);
    // A stale ztc route holding the same key is replaced in place: adding first
    // would fail (one route per key), deleting first would leave a gap. Keys of
    // wanted routes are unique, so this never takes a route another one matches.
    if (same_key != current_by_key.end()) {
      for (size_t i : same_key->second) {
        if (!route_kept[i]) {
          route_kept[i] = true;
          change.kind = Change::Kind::replace_route;
          change.replaced = std::make_shared<const Route>(current_routes[i]);
          break;
        }
      }
    }
    changes.push_back(std::move(change));
  }

  // ---- new rules (after their routes), then stale rules, then stale routes
  std::vector<bool> rule_kept(current_rules.size(), false);
  for (const Rule* rule : wanted_rules) {
    bool found = false;
    for (size_t i = 0; i < current_rules.size() && !found; ++i) {
      if (!rule_kept[i] && same_rule(current_rules[i], *rule)) found = rule_kept[i] = true;
    }
    if (!found) changes.push_back(rule_change(Change::Kind::add_rule, *rule, rule->location));
  }
  for (size_t i = 0; i < current_rules.size(); ++i) {
    if (!rule_kept[i]) {
      changes.push_back(rule_change(Change::Kind::delete_rule, current_rules[i], Location{}));
    }
  }
  for (size_t i = 0; i < current_routes.size(); ++i) {
    if (!route_kept[i]) {
      changes.push_back(route_change(Change::Kind::delete_route, current_routes[i], Location{}));
    }
  }
  result.diff.reserve(changes.size());
  for (const Change& change : changes) append_diff_lines(change, &result.diff);

  if (!dry_run) {
    execute(kernel, std::move(changes), &result);
  } else if (keep_members) {
    result.planned = std::move(changes);
  }
  return result;
}

}  // namespace

void apply_planned(RoutingKernel& kernel, ReconcileResult* result) {
  std::vector<Change> planned = std::move(result->planned);
  result->planned.clear();
  ListedRoutes listed(kernel);
  execute(kernel, std::move(planned), result, {&listed});
}

const Route* ListedRoutes::find(const Route& route, KernelError* error) {
  if (!listed_) {
    std::vector<Route> routes;
    if (KernelError e = kernel_.list_routes(&routes)) {
      *error = e;
      return nullptr;
    }
    for (Route& r : routes) {
      RouteKey key = route_key(r);
      by_key_.emplace(std::move(key), std::move(r));
    }
    listed_ = true;
  }
  auto at = by_key_.find(route_key(route));
  return at == by_key_.end() ? nullptr : &at->second;
}

ReconcileResult reconcile(RoutingKernel& kernel, const Plan& plan,
                          const std::vector<Route>& extra_routes, bool dry_run) {
  return reconcile_routing(kernel, plan, extra_routes, dry_run, /*keep_members=*/false);
}

ReconcileResult reconcile_keeping_members(RoutingKernel& kernel, const Plan& plan,
                                          const std::vector<Route>& new_member_routes,
                                          bool dry_run) {
  return reconcile_routing(kernel, plan, new_member_routes, dry_run, /*keep_members=*/true);
}

void execute(RoutingKernel& kernel, std::vector<Change> changes, ReconcileResult* result,
             const ExecuteOptions& options) {
  // Done changes are moved to the front as they succeed (a skipped one is
  // dropped), so `applied` needs no second vector of 100k routes.
  size_t kept = 0;
  for (size_t i = 0; i < changes.size(); ++i) {
    Change& change = changes[i];
    ++result->kernel_writes;
    KernelError error = perform(kernel, change);
    bool skip = false;
    if (error && options.existing && change.kind == Change::Kind::add_route &&
        starts_with(*error, "File exists")) {
      KernelError list_error;
      const Route* existing = options.existing->find(change.route(), &list_error);
      if (existing && same_route(*existing, change.route())) {
        skip = true;  // already there
        error.reset();
      } else if (existing) {  // ztc's, stale: replaced in place
        ++result->kernel_writes;
        KernelError replaced = kernel.replace_route(change.route());
        if (!replaced) {
          change.kind = Change::Kind::replace_route;
          change.replaced = std::make_shared<const Route>(*existing);
        }
        error = replaced;
      } else if (!list_error) {
        *error += " (a route to " + change.route().destination.str() + " in table " +
                  std::to_string(change.route().table) + " exists that ztc does not own)";
      }
    }
    if (error && options.existing && change.kind == Change::Kind::delete_route &&
        starts_with(*error, "No such process")) {
      skip = true;  // already gone
      error.reset();
    }
    if (skip) continue;
    if (!error) {
      if (kept != i) changes[kept] = std::move(change);
      ++kept;
      continue;
    }
    result->ok = false;
    Location where = change.location;
    result->diagnostics.error(where, "cannot " + action_text(change) + ": " + *error);
    changes.resize(kept);
    result->applied = std::move(changes);
    undo_into(kernel, &result->applied, &result->diagnostics, &result->kernel_writes);
    if (!options.note_rollback) return;
    if (!result->applied.empty()) {
      result->diagnostics.note(
          where, "routing is left half-changed: " + std::to_string(result->applied.size()) +
                     " change(s) could not be rolled back");
    } else {
      result->diagnostics.note(where, "routing changes made so far were rolled back");
    }
    return;
  }
  changes.resize(kept);
  result->applied = std::move(changes);
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
  changes.reserve(rules.size() + routes.size());
  for (const Rule& rule : rules) {
    changes.push_back(rule_change(Change::Kind::delete_rule, rule, Location{}));
  }
  for (const Route& route : routes) {
    changes.push_back(route_change(Change::Kind::delete_route, route, Location{}));
  }
  for (const Change& change : changes) append_diff_lines(change, &result.diff);
  if (!dry_run) execute(kernel, std::move(changes), &result);
  return result;
}

}  // namespace ztc::route
