// Reading a node into a NodeFootprint, read-only. The live reader uses
// libnftables (JSON and text listings of the ruleset), netlink (rules, routes,
// links with their vxlan/geneve ports), the iptables-*-save programs of both
// backends, /proc/net/{udp,tcp}{,6} and /proc/sys. The parsers of the nft and
// iptables listings are separate so unit tests can feed them text.
#pragma once

#include <set>
#include <string>

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

// Everything, from the network namespace the process is in. Tables carrying
// ztc's comment, and those in `skip`, are not the node's. follow_named_maps:
// list named verdict maps' elements too, to follow their jumps (costs seconds
// when a set holds 100k members: `ztc load` leaves it off). Problems reading
// one part go to out->unreadable.
NodeFootprint read_node(const std::set<std::string>& skip, bool follow_named_maps);

}  // namespace ztc::preflight
