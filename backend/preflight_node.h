// Reading a node into a NodeFootprint, read-only. The live reader uses
// libnftables (JSON and text listings of the ruleset), netlink (rules, routes,
// links with their vxlan/geneve ports), the iptables-*-save programs of both
// backends, /proc/net/{udp,tcp}{,6} and /proc/sys. The parsers of the nft and
// iptables listings are separate so unit tests can feed them text.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "backend/preflight.h"

namespace ztc::preflight {

// Adds the marks and base chains of an nft ruleset. `json_text`: `nft -j -a list
// ruleset`; `text`: `nft -a list ruleset` (only to quote each rule as nft prints
// it; may be empty). Tables in `skip` ("ip ztunnel") are left out.
// False with `error` when the JSON cannot be read.
bool read_nft_ruleset(const std::string& json_text, const std::string& text,
                      const std::set<std::string>& skip, NodeFootprint* out, std::string* error);

// Adds the marks, base chains and rule count of one `*-save` output.
// backend: iptables-legacy or iptables-nft; ipv6: from ip6tables-*-save.
// Returns the tables the output holds ("mangle", "nat").
std::set<std::string> read_iptables_save(const std::string& backend, bool ipv6,
                                         const std::string& text, NodeFootprint* out);

// What read_node reads of the parts that can be large on a node.
struct NodeReadScope {
  // The policy's own nft tables ("ip ztunnel"): not the node's, like every
  // table carrying ztc's comment.
  std::set<std::string> own_tables;
  // List named verdict maps' elements too, to follow their jumps (costs
  // seconds when a set holds 100k members: `ztc load` leaves it off).
  bool follow_named_maps = true;
  // The route tables whose routes are counted (preflight compares only the
  // policy's): each is one dump the kernel filters by table.
  std::vector<PolicyTable> route_tables;
  // Once an own table is live (a re-load), tables holding the policy's member
  // routes are not read: the kernel would send all 100k of them to find the
  // few of others (it filters a dump by equality, not by "not ztc's").
  bool member_tables_before_first_load_only = false;
};

// The (AF_INET or AF_INET6, table) pairs whose routes read_node counts.
std::set<std::pair<int, uint32_t>> route_tables_to_read(const NodeReadScope& scope,
                                                        bool own_table_live);

// Everything, from the network namespace the process is in. Problems reading
// one part go to out->unreadable.
NodeFootprint read_node(const NodeReadScope& scope);

}  // namespace ztc::preflight
