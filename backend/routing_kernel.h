// The kernel side of policy routing: `ip rule`s, routes, sysctls and devices,
// behind an interface so the reconciler can be tested against an in-memory fake
// (routing_fake.h). The real implementation talks netlink through libnl-route-3.
//
// Only entries tagged with route::kZtcProtocol are listed: nothing else is ever
// ztc's to change. Writes tag everything they create with it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/routing_plan.h"

struct nl_sock;

namespace ztc::route {

// nullopt on success, else the kernel's reason ("File exists", "No such device").
using KernelError = std::optional<std::string>;

class RoutingKernel {
 public:
  virtual ~RoutingKernel() = default;

  // ztc-tagged rules of both families, in kernel order; Locations are unknown.
  virtual KernelError list_rules(std::vector<Rule>* rules) = 0;
  // ztc-tagged unicast routes of all tables, both families.
  virtual KernelError list_routes(std::vector<Route>* routes) = 0;

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
  NetlinkRoutingKernel(nl_sock* sock, int netns_fd) : sock_(sock), netns_fd_(netns_fd) {}
  KernelError route_request(const Route& route, bool remove, int flags);
  KernelError send_rule(const Rule& rule, bool remove);
  KernelError delete_rule_exactly(const Rule& rule, int depth);
  // Interface index by name, cached (a load adds thousands of routes on one device).
  std::optional<int> ifindex(const std::string& name);

  nl_sock* sock_;
  int netns_fd_;
  std::unordered_map<std::string, int> ifindex_cache_;
};

// Equality as the reconciler sees it: fields the kernel stores, with the kernel's
// defaults filled in (fwmask 0xffffffff with a fwmark, metric 0 for IPv4 and 1024
// for IPv6, no scope for IPv6 routes, `from all` == no from). Locations ignored.
bool same_rule(const Rule& a, const Rule& b);
bool same_route(const Route& a, const Route& b);
// Same kernel key: the kernel keeps one route per (family, table, dst, metric).
bool same_route_key(const Route& a, const Route& b);
uint32_t effective_metric(const Route& route);

// Whether the kernel, asked to delete `request`, would take `existing`: it
// matches only on the attributes a request carries (no fwmark, iif or from in
// the request means any) and deletes the FIRST match in its list. Checked on
// 6.x: with `101: fwmark 0x100/0x100 lookup 101 proto 122` listed before
// `101: lookup 101 proto 122`, deleting the latter removes the former. The goto
// target is not compared either. Protocol is: foreign rules never match.
bool rule_delete_matches(const Rule& request, const Rule& existing);

// `ip`-like text: "-4 rule prio 100 fwmark 0x200/0x200 goto 32766",
// "-4 route 10.244.1.5 via 192.168.126.2 dev istioin src 10.244.1.1 table 100".
std::string describe(const Rule& rule);
std::string describe(const Route& route);

}  // namespace ztc::route
