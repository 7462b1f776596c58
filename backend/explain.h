// `ztc explain`: what a loaded policy does to one packet, hook by hook, down to
// the route. One interpreter over the lowered nft model (what `load` installs:
// verdict maps, anonymous and named sets, helper chains, identity NAT) and
// the routing plan, with the kernel's semantics, so that the answer holds for
// what is really there and every step names the policy line behind it.
//
// Not modelled (said in the notes where it matters): other tables (kube-proxy's
// NAT), conntrack state (nat chains are run as for a connection's first
// packet; `ct mark` is what the caller says), rp_filter and martian checks,
// ip rules and routes other than the policy's and the main and local tables.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/ip_address.h"
#include "model/nft_model.h"
#include "model/routing_plan.h"
#include "model/source.h"
#include "model/values.h"

namespace ztc::explain {

struct Packet {
  std::optional<std::string> iif;       // arrives on this device; nullopt: sent by the node
  std::optional<std::string> protocol;  // "tcp", "udp", "icmp"; nullopt: not said
  std::optional<IpPrefix> saddr;        // hosts
  IpPrefix daddr;
  std::optional<uint16_t> sport;
  std::optional<uint16_t> dport;
  uint32_t mark = 0;     // on arrival (or the socket's mark)
  uint32_t ct_mark = 0;  // of its connection

  bool local() const { return !iif.has_value(); }
  IpFamily family() const { return daddr.family; }
};

// What the node knows beyond the policy. Offline: only `members` from
// --member; `ztc explain --netns` fills the rest from the namespace.
struct NodeFacts {
  // managed set -> members, canonical values as nft prints them (10.244.1.5).
  std::map<std::string, std::vector<std::string>> members;
  std::optional<std::vector<IpPrefix>> local_addresses;  // nullopt: not known
  std::optional<std::vector<route::Route>> main_routes;  // nullopt: not known
};

// One rule evaluated (or one ip rule / table lookup in the routing decision).
struct Step {
  std::string hook;   // prerouting, input, forward, output, postrouting, routing
  std::string chain;  // nft chain; for routing "rule 100" or "table 101"
  Location location;  // the policy line; unknown for the kernel's own rules
  bool matched = false;
  // Matched: what it did ("mark 0x0 -> 0x100; return"). Not matched: the
  // first test that failed, with the packet's value.
  std::string effect;
  int depth = 0;                // chains entered by jump/goto below the base chain
  std::optional<int> priority;  // of the base chain (nullopt for routing)
};

struct RouteChoice {
  std::optional<uint32_t> rule;  // priority of the ip rule that answered
  std::string table;             // "101", "main", "local"; empty when nothing answered
  std::optional<std::string> dev;
  std::optional<IpPrefix> via;
  std::optional<IpPrefix> src;
  bool local = false;     // for the node itself
  bool reachable = true;  // false: no rule's table had a route
  Location location;      // the route's policy line
};

enum class Verdict { local, egress, drop, unreachable };
const char* verdict_name(Verdict verdict);  // "local", "egress", "drop", "unreachable"

struct Explanation {
  Packet packet;
  std::string table;  // "ip ztunnel"
  std::vector<Step> steps;
  std::vector<std::string> notes;  // assumptions the answer rests on
  uint32_t mark = 0;               // after the capture hooks
  uint32_t ct_mark = 0;
  std::vector<std::string> nat;  // bindings made ("dnat to 10.96.0.10 (unchanged)")
  RouteChoice route;             // the last routing decision (after a reroute)
  Verdict verdict = Verdict::egress;
};

Explanation explain(const nft::Table& table, const route::Plan& plan, const Packet& packet,
                    const NodeFacts& facts);

// --- routing (explain_routing.cc)
struct RouteQuery {
  IpPrefix daddr;
  std::optional<IpPrefix> saddr;
  uint32_t mark = 0;
  std::string iif;  // "lo" for the node's own packets, as the kernel's fib rules see it
};

// The kernel's decision: ip rules by priority (0 local, the policy's, 32766
// main, 32767 default), each lookup the longest prefix of its table (lowest
// metric on a tie), a table without a route falls through to the next rule.
// `members`: every member of every managed set, for the derived routes.
RouteChoice decide_route(const route::Plan& plan, const NodeFacts& facts,
                         const std::map<std::string, std::vector<std::string>>& members,
                         const RouteQuery& query, std::vector<Step>& steps,
                         std::vector<std::string>& notes);

bool prefix_contains(const IpPrefix& prefix, const IpPrefix& address);

// --- output (explain_report.cc)
std::string render_text(const Explanation& explanation);
std::string render_json(const Explanation& explanation);  // one object, newline-terminated
using ztc::hex;                                           // model/values.h: 0x100

}  // namespace ztc::explain
