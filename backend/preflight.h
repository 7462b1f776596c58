// `ztc preflight`: what on a node would fight a policy. Three jobs, three files:
//   preflight_node.cc     reads a node (read-only) into a NodeFootprint;
//   preflight_registry.cc knows other projects' footprints (Cilium, Calico, ...);
//   preflight_compare.cc  compares the policy's footprint with a node's.
// The types here are neutral: a NodeFootprint can come from a live node, from a
// unit test, or from the registry (`ztc compile --against cilium`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/ip_address.h"
#include "model/source.h"
#include "model/values.h"

namespace ztc::nft {
struct Table;
}
namespace ztc::ir {
struct Policy;
}

namespace ztc::preflight {

enum class MarkField { packet, conntrack };

// One use of mark bits by something on the node: an nft rule, an iptables
// rule, an ip rule. `mask`: the bits read or written (0xffffffff for a whole
// value). A rule that reads and writes yields two uses.
struct MarkUse {
  MarkField field = MarkField::packet;
  bool writes = false;
  uint32_t value = 0;  // the value matched or written, when there is one
  uint32_t mask = 0;
  std::string node;        // "nft table inet cilium chain pre handle 4: meta mark set 0x200"
  std::string owner_hint;  // table/chain name used to recognise the owner
};

// An ip rule that is not ztc's (protocol != 122).
struct NodeIpRule {
  IpFamily family = IpFamily::v4;
  uint32_t priority = 0;
  std::optional<uint32_t> fwmark, fwmask;
  bool has_selector = false;  // from/to/iif/oif/fwmark: matches less than all traffic
  uint32_t table = 0;         // 0 for goto/other actions
  int protocol = 0;
  std::string node;  // `ip rule` text
};

// Routes grouped by table: only the count and one example matter.
struct NodeRouteTable {
  IpFamily family = IpFamily::v4;
  uint32_t table = 0;
  int routes = 0;
  std::string example;  // one route, `ip route` style
};

enum class Hook { prerouting, input, forward, output, postrouting, other };

// A base chain someone else registered (nft, or an iptables table of either
// backend at its fixed priority), with what it and the chains it jumps to do.
struct NodeBaseChain {
  std::string family;  // ip, ip6, inet (nft families; iptables: ip / ip6)
  Hook hook = Hook::other;
  int priority = 0;
  std::string node;        // "nft table ip kube-proxy chain nat-prerouting (nat, priority -100)"
  std::string owner_hint;  // table name
  bool reads_marks = false;
  bool writes_marks = false;
  uint32_t written_bits = 0;  // packet or ct mark bits it may change
  bool nats = false;
};

struct NodeTunnel {
  std::string device;
  std::string kind;  // vxlan, geneve
  uint16_t port = 0;
};

struct NodeSocket {
  std::string protocol;  // udp, tcp
  uint16_t port = 0;
  std::string node;  // "udp socket 0.0.0.0:6081 (inode 1234)"
};

struct NodeIptables {
  std::string backend;  // iptables-legacy, iptables-nft
  int rules = 0;        // -A lines, both families
  std::string tables;   // "mangle, nat"
};

struct NodeFootprint {
  std::vector<MarkUse> marks;
  std::vector<NodeIpRule> rules;
  std::vector<NodeRouteTable> route_tables;
  std::vector<NodeBaseChain> chains;
  std::vector<NodeTunnel> tunnels;
  std::vector<NodeSocket> sockets;
  std::vector<NodeIptables> iptables;  // backends that hold rules
  // sysctl key -> value, for net.ipv4.conf.*.rp_filter.
  std::vector<std::pair<std::string, std::string>> sysctls;
  std::vector<std::string> devices;  // every link name
  // A manager that deletes ip rules and routes it did not make (networkd's
  // ManageForeignRoutingPolicyRules=yes, its default), as "who: how we know".
  std::vector<std::string> rule_removers;
  // Something the reader could not read: the comparison is then incomplete
  // and preflight exits 2 ("cannot tell") unless it found a conflict.
  std::vector<std::string> unreadable;
};

// --- the policy side, from the compiled policy

struct PolicyMark {
  std::string name;
  uint32_t value = 0, mask = 0;
  bool conntrack = false;  // also used on the ct mark
  Location location;
};
struct PolicyRule {
  IpFamily family = IpFamily::v4;
  uint32_t priority = 0;
  std::optional<uint32_t> fwmark, fwmask;
  Location location;
};
struct PolicyTable {
  IpFamily family = IpFamily::v4;
  uint32_t table = 0;
  bool filled = false;  // has routes (else only looked up)
  bool members = false;  // holds the policy's member routes (`route N for SET`)
  Location location;
};
struct PolicyChain {
  std::string family;
  Hook hook = Hook::other;
  int priority = 0;
  std::string name;
  bool nat = false;
  Location location;
};
struct PolicyPort {
  std::string protocol;
  uint16_t low = 0, high = 0;
  Location location;
};
struct PolicyInterface {
  std::string name;
  Location location;  // first use
};
struct PolicySysctl {
  std::string key, value;
  Location location;
};

struct PolicyFootprint {
  std::string table;  // "ip ztunnel"
  Location table_location;
  std::vector<PolicyMark> marks;
  std::vector<PolicyRule> rules;
  std::vector<PolicyTable> tables;
  std::vector<PolicyChain> chains;
  std::vector<PolicyPort> ports;
  std::vector<PolicyInterface> interfaces;
  std::vector<PolicySysctl> sysctls;
};

// --- findings

struct Finding {
  std::string kind;  // mark, rule-priority, route-table, port, hook, iptables, sysctl
  std::string node;
  std::string owner;  // a registry name when recognised, else empty
  Location policy;
  std::string detail;      // why it matters
  std::string suggestion;  // what to do
};

std::vector<Finding> compare(const PolicyFootprint& policy, const NodeFootprint& node);

// Text: one block per finding. JSON: {"conflicts": [{kind, node, policy, detail,
// suggestion, owner}]}.
std::string render_text(const std::vector<Finding>& findings);
std::string render_json(const std::vector<Finding>& findings);

const char* hook_name(Hook hook);
using ztc::hex;  // model/values.h

}  // namespace ztc::preflight
