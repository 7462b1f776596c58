// `ztc trace`: a temporary rule that sets nftrace on matching packets, and
// the kernel's trace events told as the policy's lines.
//
// The rule lives in base chains of their own in ztc's table,
// ztc_trace_prerouting and ztc_trace_output, hooked before everything else
// (priority -500, before conntrack at -200), added in one transaction and
// removed in one. The rule's comment names the tracing process
// ("ztc trace pid 1234"): a chain whose process is gone (killed with SIGKILL)
// is stale, and load and diff remove it. A load replaces the whole table, so
// it drops them anyway; diff would otherwise report them as drift.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backend/route_get.h"
#include "model/nft_model.h"

namespace ztc::trace {

inline constexpr const char* kChainPrefix = "ztc_trace_";
inline constexpr int kTracePriority = -500;

// What to trace: nft matches, and the hooks whose chains carry them.
struct Selector {
  std::string match;  // empty: every packet
  std::vector<std::string> hooks = {"prerouting", "output"};
};

// The packet words of `ztc explain` (iif NAME | local, tcp|udp|icmp, saddr A,
// daddr A, sport N, dport N, mark V, ct mark V); none: every packet. `local`
// (sent by the node) traces at output only. nullopt with `error` naming the
// word at fault.
std::optional<Selector> selector(const std::vector<std::string>& words, nft::Family family,
                                 std::string* error);

// The transaction that adds the trace chains (ztc_trace_<hook>) with their
// rule for `pid`.
std::string add_buffer(nft::Family family, const std::string& table, const Selector& selector,
                       int pid);

// The names of trace chains in a `list table` text, with the pid each rule
// names (0 when it names none).
std::map<std::string, int> trace_chains(const std::string& listing);

// The transaction that deletes `chains` (empty: none to delete).
std::string remove_buffer(nft::Family family, const std::string& table,
                          const std::vector<std::string>& chains);

// Trace chains whose process is gone (or that name none).
std::vector<std::string> stale_chains(const std::map<std::string, int>& chains);

// One line of `nft monitor trace`:
//   trace id 3b6ad1b7 ip obs output rule udp dport 9001 counter name "output_x" ... (verdict
//   continue)
struct Event {
  std::string id;
  std::string table;  // "ip obs"
  std::string chain;
  std::string kind;  // packet, rule, verdict, policy
  std::string text;  // what follows the kind
};
std::optional<Event> parse_event(const std::string& line);

// How many netfilter netlink sockets listen to trace events (group
// NFNLGRP_NFTRACE) in a `/proc/net/netlink` text. `nft monitor trace`
// subscribes some time after it starts; a packet traced before that is
// missed, so ztc waits until the kernel lists one listener more.
int trace_listeners(const std::string& proc_net_netlink);

// Tells trace events in the policy's words: a rule of the policy's table by
// the policy line its counter names, the others as nft prints them.
class Narrator {
 public:
  explicit Narrator(const nft::Table& table);

  // The line to print for `event` (empty: nothing worth a line, e.g. the
  // trace rule itself); counts the packets seen.
  std::string line(const Event& event);
  size_t packets() const { return numbers_.size(); }
  bool known(const std::string& id) const { return numbers_.count(id) > 0; }
  // What the routing lookup needs of each packet (by number): its addresses
  // and input device from the trace rule's packet line, and the last mark
  // the events showed. Packets whose addresses were not shown are left out.
  std::vector<std::pair<size_t, route::PacketKey>> packet_keys() const;

 private:
  std::string table_ref_;
  std::map<std::string, Location> counter_rules_;  // counter name -> policy rule
  std::map<std::string, size_t> numbers_;          // trace id -> packet number
  std::map<size_t, route::PacketKey> keys_;        // packet number -> lookup key
};

}  // namespace ztc::trace

namespace ztc::nft {
class NftKernel;
}

namespace ztc::trace {

// For diff (a load drops them with the table it replaces): deletes the stale
// trace chains of `table` in one transaction and returns one line per chain
// removed (empty: none). Not loaded, or nothing stale: nothing. A failed
// delete: nothing, `error` set.
std::vector<std::string> remove_stale(nft::NftKernel& kernel, nft::Family family,
                                      const std::string& table, std::string* error);

// Starts `nft monitor trace` through libnftables in a detached thread (it
// ends with the process), in the calling thread's network namespace, writing
// nft's lines into `fd` (the write end of a pipe, closed when the monitor
// fails). Returns once the kernel lists the monitor's subscription, so that
// no packet traced after it is missed; false when that did not show within
// `limit` (the monitor runs anyway, and early packets may be missed).
bool start_monitor(int fd, std::chrono::milliseconds limit);

}  // namespace ztc::trace
