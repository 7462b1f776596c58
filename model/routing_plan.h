// The policy-routing half of a compiled policy: `ip rule`s, routes, routes
// derived from a managed set, and sysctls. Appliers reconcile it with the
// kernel; emitters print it as `ip -batch` text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "model/ip_address.h"
#include "model/source.h"

namespace ztc::route {

// Every rule and route ztc installs carries this protocol number
// (rtm_protocol / FRA_PROTOCOL); only entries with it are ever changed or
// removed. 122 is unassigned in iproute2's rt_protos and by the kernel.
constexpr uint8_t kZtcProtocol = 122;
// Member routes (one per member of a managed set) carry their own number, so
// a dump the kernel filters by protocol lists the policy's routes without
// them (a re-load does not read 100k member routes). Also unassigned. An
// older ztc wrote member routes with 122: ztc still lists, deletes and
// replaces those as its own.
constexpr uint8_t kMemberRouteProtocol = 123;

// Well-known table ids; `goto main` targets the main rule's priority.
constexpr uint32_t kTableMain = 254;
constexpr uint32_t kTableLocal = 255;
constexpr uint32_t kTableDefault = 253;
constexpr uint32_t kMainRulePriority = 32766;

enum class RuleAction { lookup, goto_ };

struct Rule {
  IpFamily family = IpFamily::v4;
  uint32_t priority = 0;
  std::optional<IpPrefix> from;
  std::optional<std::string> iif;
  std::optional<uint32_t> fwmark;
  std::optional<uint32_t> fwmask;  // set together with fwmark
  RuleAction action = RuleAction::lookup;
  uint32_t table = 0;          // for lookup
  uint32_t goto_priority = 0;  // for goto
  Location location;
};

enum class Scope { global, link, host };  // RT_SCOPE_UNIVERSE / LINK / HOST
const char* scope_name(Scope scope);

struct Route {
  IpFamily family = IpFamily::v4;
  uint32_t table = 0;
  IpPrefix destination;  // 0.0.0.0/0 for default
  std::optional<IpPrefix> via;
  std::optional<std::string> device;
  bool onlink = false;
  Scope scope = Scope::global;
  std::optional<IpPrefix> source;  // preferred source (src)
  std::optional<uint32_t> metric;
  bool member = false;  // a member route: written with kMemberRouteProtocol
  Location location;
};

// The protocol number `route` is written with.
uint8_t protocol_of(const Route& route);

// One route per member of a managed set: `destination` of the template is
// replaced by each member.
struct DerivedRoutes {
  std::string set;
  Route route;  // destination ignored
  Location location;
};

struct Sysctl {
  std::string key;  // net.ipv4.conf.istioin.rp_filter
  std::string value;
  Location location;
};

struct Plan {
  std::vector<Rule> rules;
  std::vector<Route> routes;
  std::vector<DerivedRoutes> derived;
  std::vector<Sysctl> sysctls;
};

// The concrete route for one member of a managed set.
Route derive_route(const DerivedRoutes& derived, const IpPrefix& member);

// Every route `derived` makes for the element `value` of managed set `set`
// (one per template of its address family; none when `value` is no
// address). Load, diff and the set commands all expand members with it.
std::vector<Route> member_routes(const std::vector<DerivedRoutes>& derived, const std::string& set,
                                 const std::string& value);

// Equality as the reconciler sees it: fields the kernel stores (the protocol
// too: a member route an older ztc wrote with 122 is not yet as wanted), with the kernel's
// defaults filled in (fwmask 0xffffffff with a fwmark, metric 0 for IPv4 and 1024
// for IPv6, no scope for IPv6 routes, `from all` == no from). Locations ignored.
bool same_rule(const Rule& a, const Rule& b);
bool same_route(const Route& a, const Route& b);
// Same kernel key: the kernel keeps one route per (family, table, dst, metric).
bool same_route_key(const Route& a, const Route& b);
uint32_t effective_metric(const Route& route);

// The kernel's identity of a route: it keeps one per family, table,
// destination and (effective) metric.
using RouteKey = std::tuple<IpFamily, uint32_t, IpPrefix, uint32_t>;
RouteKey route_key(const Route& route);

// Whether `route` is the route `derived` makes for some member: a host
// destination, everything else as the template says.
bool derived_from(const DerivedRoutes& derived, const Route& route);

// Whether the kernel, asked to delete `request`, would take `existing`: it
// matches only on the attributes a request carries (no fwmark, iif or from in
// the request means any) and deletes the FIRST match in its list. Checked on
// 6.x: with `101: fwmark 0x100/0x100 lookup 101 proto 122` listed before
// `101: lookup 101 proto 122`, deleting the latter removes the former. The goto
// target is not compared either. Protocol is: foreign rules never match.
bool rule_delete_matches(const Rule& request, const Rule& existing);

// A table as iproute2 names it: "main", "local", "default", else its number.
std::string table_name(uint32_t table);

// `ip`-like text: "-4 rule prio 100 fwmark 0x200/0x200 goto 32766",
// "-4 route 10.244.1.5 via 192.168.126.2 dev istioin src 10.244.1.1 table 100".
std::string describe(const Rule& rule);
std::string describe(const Route& route);

}  // namespace ztc::route
