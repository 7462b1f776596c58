#include "model/routing_plan.h"

#include <cstdio>
#include <string>

#include "model/values.h"

namespace ztc::route {

const char* scope_name(Scope scope) {
  switch (scope) {
    case Scope::global: return "global";
    case Scope::link: return "link";
    case Scope::host: return "host";
  }
  return "global";
}

Route derive_route(const DerivedRoutes& derived, const IpPrefix& member) {
  Route route = derived.route;
  route.destination = member;
  route.member = true;
  route.location = derived.location;
  return route;
}

std::vector<Route> member_routes(const std::vector<DerivedRoutes>& derived, const std::string& set,
                                 const std::string& value) {
  std::vector<Route> out;
  std::optional<IpPrefix> member;
  for (const DerivedRoutes& template_ : derived) {
    if (template_.set != set) continue;
    if (!member) member = parse_ip_prefix(value);
    if (member && member->family == template_.route.family) {
      out.push_back(derive_route(template_, *member));
    }
  }
  return out;
}

uint8_t protocol_of(const Route& route) {
  return route.member ? kMemberRouteProtocol : kZtcProtocol;
}

RouteKey route_key(const Route& route) {
  return {route.family, route.table, route.destination, effective_metric(route)};
}

namespace {

constexpr uint32_t kAllBits = 0xffffffffu;

const char* family_flag(IpFamily family) { return family == IpFamily::v4 ? "-4" : "-6"; }

}  // namespace

// ---------------------------------------------------------------------------
// Comparison and text

namespace {

std::optional<IpPrefix> normal_from(const std::optional<IpPrefix>& from) {
  if (from && from->length == 0) return std::nullopt;  // `from all`
  return from;
}

}  // namespace

bool same_rule(const Rule& a, const Rule& b) {
  if (a.family != b.family || a.priority != b.priority) return false;
  if (!(normal_from(a.from) == normal_from(b.from)) || a.iif != b.iif) return false;
  if (a.fwmark.has_value() != b.fwmark.has_value()) return false;
  if (a.fwmark &&
      (*a.fwmark != *b.fwmark || a.fwmask.value_or(kAllBits) != b.fwmask.value_or(kAllBits))) {
    return false;
  }
  if (a.action != b.action) return false;
  return a.action == RuleAction::goto_ ? a.goto_priority == b.goto_priority : a.table == b.table;
}

bool rule_delete_matches(const Rule& request, const Rule& existing) {
  if (request.family != existing.family || request.priority != existing.priority) return false;
  if (request.action != existing.action) return false;
  if (request.action == RuleAction::lookup && request.table != 0 &&
      request.table != existing.table) {
    return false;
  }
  if (request.iif && request.iif != existing.iif) return false;
  if (request.fwmark && *request.fwmark != 0) {
    if (!existing.fwmark || *existing.fwmark != *request.fwmark) return false;
  }
  uint32_t request_mask = request.fwmark ? request.fwmask.value_or(kAllBits) : 0;
  uint32_t existing_mask = existing.fwmark ? existing.fwmask.value_or(kAllBits) : 0;
  if (request_mask != 0 && request_mask != existing_mask) return false;
  std::optional<IpPrefix> from = normal_from(request.from);
  if (from && !(normal_from(existing.from) == from)) return false;
  return true;
}

uint32_t effective_metric(const Route& route) {
  if (route.metric) return *route.metric;
  return route.family == IpFamily::v6 ? 1024 : 0;
}

bool same_route_key(const Route& a, const Route& b) {
  return a.family == b.family && a.table == b.table && a.destination == b.destination &&
         effective_metric(a) == effective_metric(b);
}

bool same_route(const Route& a, const Route& b) {
  if (!same_route_key(a, b)) return false;
  // IPv6 routes have no scope in the kernel: it reports every one as global.
  bool scope_equal = a.family == IpFamily::v6 || a.scope == b.scope;
  return a.via == b.via && a.device == b.device && a.onlink == b.onlink && scope_equal &&
         a.source == b.source && a.member == b.member;
}

std::string table_name(uint32_t table) {
  switch (table) {
    case kTableMain: return "main";
    case kTableLocal: return "local";
    case kTableDefault: return "default";
  }
  return std::to_string(table);
}

std::string describe(const Rule& rule) {
  std::string text =
      std::string(family_flag(rule.family)) + " rule prio " + std::to_string(rule.priority);
  if (rule.from && rule.from->length > 0) text += " from " + rule.from->str();
  if (rule.iif) text += " iif " + *rule.iif;
  if (rule.fwmark) {
    text += " fwmark " + hex(*rule.fwmark);
    uint32_t mask = rule.fwmask.value_or(kAllBits);
    if (mask != kAllBits) text += "/" + hex(mask);
  }
  if (rule.action == RuleAction::goto_) {
    text += " goto " + std::to_string(rule.goto_priority);
  } else {
    text += " lookup " + std::to_string(rule.table);
  }
  return text;
}

std::string describe(const Route& route) {
  std::string text = std::string(family_flag(route.family)) + " route ";
  text += route.destination.length == 0 ? std::string("default") : route.destination.str();
  if (route.via) text += " via " + route.via->address_str();
  if (route.device) text += " dev " + *route.device;
  if (route.onlink) text += " onlink";
  if (route.scope != Scope::global) text += std::string(" scope ") + scope_name(route.scope);
  if (route.source) text += " src " + route.source->address_str();
  // The kernel's default metric reads back as a number; leave it out so a
  // route listed from the kernel reads like the policy's.
  uint32_t metric = effective_metric(route);
  uint32_t default_metric = route.family == IpFamily::v6 ? 1024 : 0;
  if (metric != default_metric) text += " metric " + std::to_string(metric);
  text += " table " + std::to_string(route.table);
  return text;
}

bool derived_from(const DerivedRoutes& derived, const Route& route) {
  if (route.family != derived.route.family) return false;
  if (route.destination.length != route.destination.max_length()) return false;
  // Whichever protocol it carries (an older ztc wrote member routes with 122).
  Route tagged = route;
  tagged.member = true;
  return same_route(derive_route(derived, route.destination), tagged);
}

}  // namespace ztc::route
