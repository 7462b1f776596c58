// The kernel side of policy routing: `ip rule`s, routes, sysctls and devices,
// behind an interface so the reconciler can be tested against an in-memory fake
// (testsupport/fake_routing_kernel.h). The real implementation talks netlink
// through libnl-route-3.
//
// Only entries tagged with route::kZtcProtocol (member routes:
// kMemberRouteProtocol) are listed: nothing else is ever ztc's to change.
// Writes tag everything they create with one of them.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/routing_plan.h"

namespace ztc::netlink {
class Socket;
}

namespace ztc::route {

// nullopt on success, else the kernel's reason ("File exists", "No such device").
using KernelError = std::optional<std::string>;

class RoutingKernel {
 public:
  virtual ~RoutingKernel() = default;

  // ztc-tagged rules of both families, in kernel order; Locations are unknown.
  virtual KernelError list_rules(std::vector<Rule>* rules) = 0;
  // ztc-tagged unicast routes of all tables, both families (member routes
  // with Route::member set).
  virtual KernelError list_routes(std::vector<Route>* routes) = 0;
  // The same without the routes tagged as member routes (a re-load whose
  // member route template is unchanged does not look at 100k of them).
  // Member routes an older ztc tagged as static ones are listed.
  virtual KernelError list_static_routes(std::vector<Route>* routes) {
    std::vector<Route> all;
    if (KernelError error = list_routes(&all)) return error;
    for (Route& route : all) {
      if (!route.member) routes->push_back(std::move(route));
    }
    return std::nullopt;
  }

  // Adding an existing rule fails (NLM_F_EXCL): rules are never duplicated.
  virtual KernelError add_rule(const Rule& rule) = 0;
  // Deletes exactly this ztc rule (same_rule), never another one: see
  // rule_delete_matches for why that takes care with a real kernel.
  virtual KernelError delete_rule(const Rule& rule) = 0;
  // Adding fails when a route with the same key (family, table, destination,
  // metric) exists, whoever owns it.
  virtual KernelError add_route(const Route& route) = 0;
  // Replaces the route with the same key in one netlink request (NLM_F_REPLACE).
  // Call only when that route is ztc's.
  virtual KernelError replace_route(const Route& route) = 0;
  virtual KernelError delete_route(const Route& route) = 0;

  // key: net.ipv4.conf.istioin.rp_filter (see sysctl.h).
  virtual KernelError read_sysctl(const std::string& key, std::string* value) = 0;
  virtual KernelError write_sysctl(const std::string& key, const std::string& value) = 0;

  virtual bool device_exists(const std::string& name) = 0;

  // What the kernel asks of a route's addresses when it is added, asked
  // without adding it (a dry run, and a load before its first write): its
  // gateway (unless onlink) is reached on its device by a directly connected
  // route, and its src is an address of the node. The kernel's words on
  // failure ("Nexthop has invalid gateway"). Kernels that cannot ask say
  // nothing (nullopt).
  virtual KernelError check_route_addresses(const Route& route) { return std::nullopt; }
};

// netlink via libnl-route-3, bound to the network namespace of the thread that
// opens it (sysctls are read and written in that namespace too).
class NetlinkRoutingKernel : public RoutingKernel {
 public:
  // nullptr with `error` when the netlink socket cannot be opened.
  static std::unique_ptr<NetlinkRoutingKernel> open(std::string* error);
  ~NetlinkRoutingKernel() override;
  NetlinkRoutingKernel(const NetlinkRoutingKernel&) = delete;
  NetlinkRoutingKernel& operator=(const NetlinkRoutingKernel&) = delete;

  KernelError list_rules(std::vector<Rule>* rules) override;
  KernelError list_routes(std::vector<Route>* routes) override;
  KernelError list_static_routes(std::vector<Route>* routes) override;
  KernelError add_rule(const Rule& rule) override;
  KernelError delete_rule(const Rule& rule) override;
  KernelError add_route(const Route& route) override;
  KernelError replace_route(const Route& route) override;
  KernelError delete_route(const Route& route) override;
  KernelError read_sysctl(const std::string& key, std::string* value) override;
  KernelError write_sysctl(const std::string& key, const std::string& value) override;
  bool device_exists(const std::string& name) override;
  KernelError check_route_addresses(const Route& route) override;

 private:
  NetlinkRoutingKernel(std::unique_ptr<netlink::Socket> socket, int netns_fd);
  KernelError route_request(const Route& route, bool remove, int flags);
  // ztc's routes; only those with `protocol` unless it is 0.
  KernelError dump_routes(uint8_t protocol, std::vector<Route>* routes);
  KernelError send_rule(const Rule& rule, bool remove);
  KernelError delete_rule_exactly(const Rule& rule, int depth);
  // Interface index by name, cached (a load adds thousands of routes on one device).
  std::optional<int> ifindex(const std::string& name);

  std::unique_ptr<netlink::Socket> socket_;
  int netns_fd_;
  std::unordered_map<std::string, int> ifindex_cache_;
};

}  // namespace ztc::route
