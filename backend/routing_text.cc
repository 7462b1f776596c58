#include "backend/routing_text.h"

#include <cstdio>

#include "model/values.h"

namespace ztc::route {
namespace {

std::string route_args(const Route& route, const std::string& destination) {
  std::string args = destination;
  if (route.via) args += " via " + route.via->address_str();
  if (route.device) args += " dev " + *route.device;
  args += " table " + table_name(route.table);
  // Without a scope, `ip route add` gives an IPv4 route with no gateway
  // scope link; say `scope global` then, so the batch installs the model.
  bool implied_link = route.family == IpFamily::v4 && !route.via;
  if (route.scope != Scope::global || implied_link) {
    args += std::string(" scope ") + scope_name(route.scope);
  }
  if (route.source) args += " src " + route.source->address_str();
  if (route.metric) args += " metric " + std::to_string(*route.metric);
  if (route.onlink) args += " onlink";
  return args + " proto " + std::to_string(protocol_of(route));
}

bool is_ipv6_sysctl(const Sysctl& sysctl) { return sysctl.key.rfind("net.ipv6.", 0) == 0; }

}  // namespace

bool has_family(const Plan& plan, IpFamily family) {
  for (const Rule& rule : plan.rules) {
    if (rule.family == family) return true;
  }
  for (const Route& route : plan.routes) {
    if (route.family == family) return true;
  }
  for (const DerivedRoutes& derived : plan.derived) {
    if (derived.route.family == family) return true;
  }
  for (const Sysctl& sysctl : plan.sysctls) {
    if (is_ipv6_sysctl(sysctl) == (family == IpFamily::v6)) return true;
  }
  return false;
}

std::string rule_args(const Rule& rule) {
  std::string args = "priority " + std::to_string(rule.priority);
  if (rule.from) args += " from " + rule.from->str();
  if (rule.iif) args += " iif " + *rule.iif;
  if (rule.fwmark) {
    args += " fwmark " + hex(*rule.fwmark);
    if (rule.fwmask) args += "/" + hex(*rule.fwmask);
  }
  if (rule.action == RuleAction::goto_) {
    args += " goto " + std::to_string(rule.goto_priority);
  } else {
    args += " lookup " + table_name(rule.table);
  }
  return args + " protocol " + std::to_string(kZtcProtocol);
}

std::string route_args(const Route& route) {
  const IpPrefix& destination = route.destination;
  return route_args(route, destination.length == 0 ? "default" : destination.str());
}

std::string emit_batch(const Plan& plan, IpFamily family) {
  std::string text;
  for (const Sysctl& sysctl : plan.sysctls) {
    if (is_ipv6_sysctl(sysctl) != (family == IpFamily::v6)) continue;
    text += "# sysctl " + sysctl.key + "=" + sysctl.value + "\n";
  }
  for (const Route& route : plan.routes) {
    if (route.family == family) text += "route add " + route_args(route) + "\n";
  }
  for (const DerivedRoutes& derived : plan.derived) {
    if (derived.route.family != family) continue;
    Route member = derived.route;
    member.member = true;
    text += "# for each member of @" + derived.set + ": route add " +
            route_args(member, "<member>") + "\n";
  }
  for (const Rule& rule : plan.rules) {
    if (rule.family == family) text += "rule add " + rule_args(rule) + "\n";
  }
  return text;
}

std::string emit_batch(const Plan& plan) {
  std::string text;
  for (IpFamily family : {IpFamily::v4, IpFamily::v6}) {
    if (!has_family(plan, family)) continue;
    text += family == IpFamily::v4 ? "# ip -4 -batch -\n" : "# ip -6 -batch -\n";
    text += emit_batch(plan, family);
  }
  return text;
}

}  // namespace ztc::route
