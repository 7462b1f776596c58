#include "testsupport/fake_routing_kernel.h"

#include <algorithm>
#include <utility>

#include "backend/sysctl.h"

namespace ztc::route {

KernelError FakeRoutingKernel::begin_write(const std::string& what,
                                           const std::optional<std::string>& device) {
  ++writes_;
  KernelError failure;
  if (fail_countdown_ > 0 && --fail_countdown_ == 0) failure = fail_reason_;
  if (!failure && device && !fail_device_.empty() && *device == fail_device_) {
    failure = fail_device_reason_;
  }
  log_.push_back((failure ? "FAILED " : "") + what);
  return failure;
}

void FakeRoutingKernel::insert_rule(StoredRule stored) {
  // Like the kernel: after every rule of the same or a lower priority.
  auto at = std::find_if(rules_.begin(), rules_.end(), [&](const StoredRule& existing) {
    return existing.rule.priority > stored.rule.priority;
  });
  rules_.insert(at, std::move(stored));
}

KernelError FakeRoutingKernel::list_rules(std::vector<Rule>* rules) {
  for (const StoredRule& stored : rules_) {
    if (stored.protocol == kZtcProtocol) {
      rules->push_back(stored.rule);
      rules->back().location = {};
    }
  }
  return std::nullopt;
}

KernelError FakeRoutingKernel::list_routes(std::vector<Route>* routes) {
  for (const StoredRoute& stored : routes_) {
    if (stored.protocol == kZtcProtocol || stored.protocol == kMemberRouteProtocol) {
      routes->push_back(stored.route);
      routes->back().member = stored.protocol == kMemberRouteProtocol;
      routes->back().location = {};
    }
  }
  return std::nullopt;
}

KernelError FakeRoutingKernel::add_rule(const Rule& rule) {
  if (KernelError failure = begin_write("add " + describe(rule), rule.iif)) return failure;
  // Like the kernel's rule_exists: identical contents and owner.
  for (const StoredRule& existing : rules_) {
    if (existing.protocol == kZtcProtocol && same_rule(existing.rule, rule)) {
      return std::string("File exists");
    }
  }
  insert_rule({rule, kZtcProtocol});
  return std::nullopt;
}

KernelError FakeRoutingKernel::delete_rule(const Rule& rule) {
  if (KernelError failure = begin_write("delete " + describe(rule), rule.iif)) return failure;
  for (auto it = rules_.begin(); it != rules_.end(); ++it) {
    if (it->protocol == kZtcProtocol && same_rule(it->rule, rule)) {
      rules_.erase(it);
      return std::nullopt;
    }
  }
  return std::string("No such file or directory");
}

KernelError FakeRoutingKernel::add_route(const Route& route) {
  if (KernelError failure = begin_write("add " + describe(route), route.device)) return failure;
  if (route.device && !device_exists(*route.device)) return std::string("No such device");
  for (const StoredRoute& existing : routes_) {
    if (same_route_key(existing.route, route)) return std::string("File exists");
  }
  routes_.push_back({route, protocol_of(route)});
  return std::nullopt;
}

KernelError FakeRoutingKernel::replace_route(const Route& route) {
  if (KernelError failure = begin_write("replace " + describe(route), route.device)) {
    return failure;
  }
  if (route.device && !device_exists(*route.device)) return std::string("No such device");
  for (StoredRoute& existing : routes_) {
    if (same_route_key(existing.route, route)) {
      existing = {route, protocol_of(route)};
      return std::nullopt;
    }
  }
  routes_.push_back({route, protocol_of(route)});  // NLM_F_REPLACE | NLM_F_CREATE creates
  return std::nullopt;
}

KernelError FakeRoutingKernel::delete_route(const Route& route) {
  if (KernelError failure = begin_write("delete " + describe(route), route.device)) {
    return failure;
  }
  for (auto it = routes_.begin(); it != routes_.end(); ++it) {
    // Like the kernel: the request's protocol must match.
    Route stored = it->route;
    stored.member = it->protocol == kMemberRouteProtocol;
    if (it->protocol == protocol_of(route) && same_route(stored, route)) {
      routes_.erase(it);
      return std::nullopt;
    }
  }
  return std::string("No such process");  // what the kernel says for a missing route
}

KernelError FakeRoutingKernel::read_sysctl(const std::string& key, std::string* value) {
  std::string error;
  std::optional<std::string> path = sysctl_path(key, &error);
  if (!path) return error;
  auto found = sysctls_.find(key);
  if (found == sysctls_.end()) return "cannot read " + *path + ": No such file or directory";
  *value = found->second;
  return std::nullopt;
}

KernelError FakeRoutingKernel::write_sysctl(const std::string& key, const std::string& value) {
  if (KernelError failure = begin_write("sysctl " + key + "=" + value, sysctl_interface(key))) {
    return failure;
  }
  std::string error;
  std::optional<std::string> path = sysctl_path(key, &error);
  if (!path) return error;
  auto found = sysctls_.find(key);
  if (found == sysctls_.end()) return "cannot write " + *path + ": No such file or directory";
  found->second = value;
  return std::nullopt;
}

bool FakeRoutingKernel::device_exists(const std::string& name) {
  return std::find(devices_.begin(), devices_.end(), name) != devices_.end();
}

void FakeRoutingKernel::add_foreign_rule(const Rule& rule, uint8_t protocol) {
  insert_rule({rule, protocol});
}

void FakeRoutingKernel::add_foreign_route(const Route& route, uint8_t protocol) {
  routes_.push_back({route, protocol});
}

void FakeRoutingKernel::fail_write(int nth, std::string reason) {
  fail_countdown_ = nth;
  fail_reason_ = std::move(reason);
}

void FakeRoutingKernel::fail_device(std::string device, std::string reason) {
  fail_device_ = std::move(device);
  fail_device_reason_ = std::move(reason);
}

}  // namespace ztc::route
