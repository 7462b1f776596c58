// The live node reader: everything preflight compares, read-only, from the
// network namespace the process is in.
#include "backend/preflight_node.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/geneve.h>
#include <netlink/route/link/vxlan.h>
#include <netlink/route/rule.h>
#include <nftables/libnftables.h>
#include <sys/stat.h>

#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "backend/netlink_socket.h"
#include "backend/netns.h"
#include "model/nft_model.h"
#include "model/routing_plan.h"

namespace ztc::preflight {
namespace {

struct CacheDeleter {
  void operator()(nl_cache* cache) const { nl_cache_free(cache); }
};
struct MsgDeleter {
  void operator()(nl_msg* msg) const { nlmsg_free(msg); }
};
using MsgPtr = std::unique_ptr<nl_msg, MsgDeleter>;
using CachePtr = std::unique_ptr<nl_cache, CacheDeleter>;

// `nft [-j] -a list ruleset` through libnftables.
// terse: without the elements of named sets and maps (nft 1.0.6 fetches them
// for any listing otherwise: seconds with 100k members).
std::optional<std::string> nft_listing(bool json, bool terse, std::string* error) {
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!ctx) {
    *error = "libnftables: cannot create a context";
    return std::nullopt;
  }
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  unsigned flags = NFT_CTX_OUTPUT_HANDLE | NFT_CTX_OUTPUT_STATELESS;
  if (json) flags |= NFT_CTX_OUTPUT_JSON;
  if (terse) flags |= NFT_CTX_OUTPUT_TERSE;
  nft_ctx_output_set_flags(ctx, flags);
  std::optional<std::string> listing;
  if (nft_run_cmd_from_buffer(ctx, "list ruleset") == 0) {
    listing = nft_ctx_get_output_buffer(ctx);
  } else {
    *error = std::string("cannot list the nft ruleset: ") + nft_ctx_get_error_buffer(ctx);
  }
  nft_ctx_free(ctx);
  return listing;
}

std::string prefix_text(nl_addr* addr) {
  char buffer[128];
  nl_addr2str(addr, buffer, sizeof buffer);
  return buffer;
}

void read_rules(nl_sock* sock, NodeFootprint* out) {
  nl_cache* raw = nullptr;
  int rc = rtnl_rule_alloc_cache(sock, AF_UNSPEC, &raw);
  if (rc < 0) {
    out->unreadable.push_back(std::string("ip rules: ") + nl_geterror(rc));
    return;
  }
  CachePtr cache(raw);
  for (nl_object* object = nl_cache_get_first(raw); object; object = nl_cache_get_next(object)) {
    auto* nl = reinterpret_cast<rtnl_rule*>(object);
    uint8_t protocol = 0;
    rtnl_rule_get_protocol(nl, &protocol);
    if (protocol == route::kZtcProtocol) continue;  // ztc's own
    int family = rtnl_rule_get_family(nl);
    if (family != AF_INET && family != AF_INET6) continue;
    NodeIpRule rule;
    rule.family = family == AF_INET ? IpFamily::v4 : IpFamily::v6;
    rule.priority = rtnl_rule_get_prio(nl);
    rule.protocol = protocol;
    std::string text = std::string(family == AF_INET ? "ip" : "ip -6") + " rule " +
                       std::to_string(rule.priority) + ":";
    nl_addr* src = rtnl_rule_get_src(nl);
    nl_addr* dst = rtnl_rule_get_dst(nl);
    if (src && nl_addr_get_prefixlen(src) > 0) {
      text += " from " + prefix_text(src);
      rule.has_selector = true;
    } else {
      text += " from all";
    }
    if (dst && nl_addr_get_prefixlen(dst) > 0) {
      text += " to " + prefix_text(dst);
      rule.has_selector = true;
    }
    uint32_t mark = rtnl_rule_get_mark(nl), mask = rtnl_rule_get_mask(nl);
    if (mark != 0 || mask != 0) {
      rule.fwmark = mark;
      rule.fwmask = mask ? mask : 0xffffffffu;
      rule.has_selector = true;
      text += " fwmark " + hex(mark) + "/" + hex(*rule.fwmask);
    }
    if (const char* iif = rtnl_rule_get_iif(nl)) {
      text += std::string(" iif ") + iif;
      rule.has_selector = true;
    }
    if (const char* oif = rtnl_rule_get_oif(nl)) {
      text += std::string(" oif ") + oif;
      rule.has_selector = true;
    }
    uint8_t action = rtnl_rule_get_action(nl);
    if (action == FR_ACT_TO_TBL) {
      rule.table = rtnl_rule_get_table(nl);
      text += " lookup " + route::table_name(rule.table);
    } else if (action == FR_ACT_GOTO) {
      text += " goto " + std::to_string(rtnl_rule_get_goto(nl));
    } else {
      text += " action " + std::to_string(action);
    }
    if (protocol != 0) text += " proto " + std::to_string(protocol);
    rule.node = text;
    if (rule.fwmark) {
      MarkUse use;
      use.field = MarkField::packet;
      use.value = *rule.fwmark;
      use.mask = *rule.fwmask;
      use.node = rule.node;
      use.owner_hint = "rule:" + std::to_string(rule.priority) + ":" + std::to_string(rule.table);
      out->marks.push_back(std::move(use));
    }
    out->rules.push_back(std::move(rule));
  }
}

// Routes counted per table from raw dumps: a node can hold 100k pod routes,
// and nothing but the count and one example is needed.
struct RouteCount {
  std::set<std::pair<int, uint32_t>> wanted;  // (AF_INET or AF_INET6, table)
  std::map<std::pair<int, uint32_t>, NodeRouteTable> tables;
};

int address_family(IpFamily family) { return family == IpFamily::v4 ? AF_INET : AF_INET6; }

void on_route(nlmsghdr* header, RouteCount* count) {
  if (header->nlmsg_type != RTM_NEWROUTE || !nlmsg_valid_hdr(header, sizeof(rtmsg))) return;
  auto* rtm = static_cast<rtmsg*>(nlmsg_data(header));
  if (rtm->rtm_protocol == route::kZtcProtocol ||
      rtm->rtm_protocol == route::kMemberRouteProtocol) {
    return;
  }
  if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6) return;
  nlattr* tb[RTA_MAX + 1] = {};
  if (nlmsg_parse(header, sizeof(rtmsg), tb, RTA_MAX, nullptr) < 0) return;
  uint32_t table = tb[RTA_TABLE] ? nla_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
  // A kernel without strict checking sends every table.
  if (!count->wanted.count({rtm->rtm_family, table})) return;
  NodeRouteTable& entry = count->tables[{rtm->rtm_family, table}];
  entry.family = rtm->rtm_family == AF_INET ? IpFamily::v4 : IpFamily::v6;
  entry.table = table;
  if (entry.routes++ == 0) {
    char address[INET6_ADDRSTRLEN] = "default";
    if (tb[RTA_DST]) inet_ntop(rtm->rtm_family, nla_data(tb[RTA_DST]), address, sizeof address);
    std::string text =
        std::string(rtm->rtm_family == AF_INET ? "ip" : "ip -6") + " route " + address;
    if (tb[RTA_DST]) text += "/" + std::to_string(rtm->rtm_dst_len);
    if (tb[RTA_OIF]) {
      char name[IF_NAMESIZE] = {};
      if (if_indextoname(nla_get_u32(tb[RTA_OIF]), name)) text += std::string(" dev ") + name;
    }
    text += " table " + std::to_string(table) + " proto " + std::to_string(rtm->rtm_protocol);
    entry.example = text;
  }
}

// One dump of `table` (with `table` 0 and AF_UNSPEC: of every route), which
// the kernel filters by table unless `*filtered` comes back false.
// ENOENT: the kernel has no such table (yet), so it holds no route.
bool dump_routes(netlink::Socket& socket, int family, uint32_t table, RouteCount* count,
                 bool* filtered) {
  MsgPtr msg(nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP));
  rtmsg request = {};
  request.rtm_family = static_cast<unsigned char>(family);
  request.rtm_table = static_cast<unsigned char>(table < 256 ? table : RT_TABLE_UNSPEC);
  if (!msg || nlmsg_append(msg.get(), &request, sizeof request, NLMSG_ALIGNTO) < 0) return false;
  if (table != 0 && nla_put_u32(msg.get(), RTA_TABLE, table) < 0) return false;
  std::map<std::pair<int, uint32_t>, NodeRouteTable> before = count->tables;
  netlink::Result failure = socket.filtered_dump(
      msg.get(), [&](nlmsghdr* header) { on_route(header, count); },
      [&] { count->tables = before; }, filtered);
  return !failure || failure->kernel_errno == ENOENT;
}

// wanted: (AF_INET or AF_INET6, table) pairs.
void read_routes(netlink::Socket& socket, const std::set<std::pair<int, uint32_t>>& wanted,
                 NodeFootprint* out) {
  if (wanted.empty()) return;
  RouteCount count;
  count.wanted = wanted;
  bool ok = true, filtered = true;
  for (auto it = wanted.begin(); ok && filtered && it != wanted.end(); ++it) {
    ok = dump_routes(socket, it->first, it->second, &count, &filtered);
  }
  // A kernel that cannot filter (before 4.20) sent every table of that
  // family: one dump of everything instead, on_route keeps the wanted.
  if (ok && !filtered) {
    count.tables.clear();
    ok = dump_routes(socket, AF_UNSPEC, 0, &count, &filtered);
  }
  if (!ok) {
    out->unreadable.push_back("routes: the route dump failed");
    return;
  }
  for (auto& [key, table] : count.tables) out->route_tables.push_back(std::move(table));
}

void read_links(nl_sock* sock, NodeFootprint* out) {
  nl_cache* raw = nullptr;
  int rc = rtnl_link_alloc_cache(sock, AF_UNSPEC, &raw);
  if (rc < 0) {
    out->unreadable.push_back(std::string("links: ") + nl_geterror(rc));
    return;
  }
  CachePtr cache(raw);
  for (nl_object* object = nl_cache_get_first(raw); object; object = nl_cache_get_next(object)) {
    auto* link = reinterpret_cast<rtnl_link*>(object);
    const char* name = rtnl_link_get_name(link);
    if (!name) continue;
    out->devices.push_back(name);
    const char* type = rtnl_link_get_type(link);
    if (!type) continue;
    uint32_t port = 0;
    if (std::strcmp(type, "vxlan") == 0 && rtnl_link_vxlan_get_port(link, &port) == 0) {
      out->tunnels.push_back({name, "vxlan", static_cast<uint16_t>(port)});
    } else if (std::strcmp(type, "geneve") == 0 && rtnl_link_geneve_get_port(link, &port) == 0) {
      out->tunnels.push_back({name, "geneve", static_cast<uint16_t>(port)});
    }
  }
}

// /proc/net/{udp,tcp}{,6}: the kernel's socket tables as text; sock_diag would
// need a hand-written netlink client for the same four fields.
void read_sockets(NodeFootprint* out) {
  for (const char* file : {"udp", "udp6", "tcp", "tcp6"}) {
    std::ifstream table(std::string("/proc/net/") + file);
    if (!table) continue;
    std::string line;
    std::getline(table, line);  // header
    bool tcp = file[0] == 't';
    while (std::getline(table, line)) {
      std::istringstream words(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      words >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode;
      if (tcp && state != "0A") continue;  // listening sockets only
      size_t colon = local.rfind(':');
      if (colon == std::string::npos) continue;
      auto port = static_cast<uint16_t>(std::stoul(local.substr(colon + 1), nullptr, 16));
      std::string protocol = tcp ? "tcp" : "udp";
      out->sockets.push_back({protocol, port,
                              protocol + " socket on port " + std::to_string(port) + " (" + file +
                                  ", inode " + inode + ")"});
    }
  }
}

void read_sysctls(NodeFootprint* out) {
  DIR* dir = opendir("/proc/sys/net/ipv4/conf");
  if (!dir) {
    out->unreadable.push_back("sysctls: /proc/sys/net/ipv4/conf cannot be read");
    return;
  }
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    std::ifstream file("/proc/sys/net/ipv4/conf/" + name + "/rp_filter");
    std::string value;
    if (file >> value) out->sysctls.push_back({"net.ipv4.conf." + name + ".rp_filter", value});
  }
  closedir(dir);
}

// "family name" of every table carrying ztc's comment, from a text listing.
std::set<std::string> ztc_tables(const std::string& text) {
  std::set<std::string> tables;
  std::istringstream lines(text);
  std::string current;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("table ", 0) == 0) {
      std::istringstream words(line.substr(6));
      std::string family, name;
      words >> family >> name;
      current = family + " " + name;
    } else if (line.find("chain ") != std::string::npos || line.find("set ") != std::string::npos) {
      current.clear();  // the table's own comment comes before its chains and sets
    } else if (!current.empty() && line.find(std::string("comment \"") + nft::kOwnerComment +
                                             "\"") != std::string::npos) {
      tables.insert(current);
    }
  }
  return tables;
}

// Whether this is the host's network namespace (that of PID 1).
bool in_initial_netns() {
  struct stat ours {
  }, init{};
  return stat("/proc/self/ns/net", &ours) == 0 && stat("/proc/1/ns/net", &init) == 0 &&
         ours.st_ino == init.st_ino && ours.st_dev == init.st_dev;
}

// Whether the legacy (x_tables) iptables of this namespace hold a table:
// the kernel names them in /proc/net/ip{,6}_tables_names (no file: the
// module is not loaded, so there is none). What iptables-legacy-save reads.
bool legacy_tables_present(bool ipv6) {
  std::ifstream names(std::string("/proc/thread-self/net/") +
                      (ipv6 ? "ip6_tables_names" : "ip_tables_names"));
  std::string name;
  return static_cast<bool>(names >> name);
}

// Whether a text listing of the ruleset holds a table iptables-nft could
// have made (family ip or ip6, one of the x_tables names): the only tables
// iptables-nft-save prints.
bool xtables_tables_present(const std::string& text, bool ipv6) {
  const std::string family = ipv6 ? "ip6" : "ip";
  for (const char* name : {"filter", "nat", "mangle", "raw", "security"}) {
    const std::string header = "table " + family + " " + name + " {";
    for (size_t at = text.find(header); at != std::string::npos; at = text.find(header, at + 1)) {
      if (at == 0 || text[at - 1] == '\n') return true;
    }
  }
  return false;
}

}  // namespace

std::set<std::pair<int, uint32_t>> route_tables_to_read(const NodeReadScope& scope,
                                                        bool own_table_live) {
  std::set<std::pair<int, uint32_t>> wanted;
  for (const PolicyTable& table : scope.route_tables) {
    if (table.members && own_table_live && scope.member_tables_before_first_load_only) continue;
    wanted.insert({address_family(table.family), table.table});
  }
  return wanted;
}

NodeFootprint read_node(const NodeReadScope& scope) {
  NodeFootprint out;
  std::string error;
  // The text listing first: it tells which iptables-nft tables exist, so
  // iptables-nft-save runs only when it has one to print.
  std::optional<std::string> text = nft_listing(false, true, &error);
  // iptables first: tables iptables-nft made are read from its save output
  // (it quotes the rules as they were written) and skipped in the nft listing.
  std::set<std::string> nft_skip = scope.own_tables;
  for (const char* backend : {"iptables-legacy", "iptables-nft"}) {
    for (bool ipv6 : {false, true}) {
      const bool legacy = std::string(backend) == "iptables-legacy";
      // A save process costs a few ms each, every load: skipped when it
      // would print no table.
      if (legacy ? !legacy_tables_present(ipv6) : text && !xtables_tables_present(*text, ipv6)) {
        continue;
      }
      std::string program = std::string(ipv6 ? "ip6tables" : "iptables") +
                            (backend + std::strlen("iptables")) + "-save";
      CommandResult result =
          run_command("command -v " + program + " >/dev/null 2>&1 && " + program + " 2>/dev/null");
      if (result.exit_code != 0) continue;  // not installed, or nothing to say
      std::set<std::string> tables = read_iptables_save(backend, ipv6, result.output, &out);
      if (!legacy) {
        for (const std::string& table : tables) nft_skip.insert((ipv6 ? "ip6 " : "ip ") + table);
      }
    }
  }
  std::optional<std::string> json =
      text ? nft_listing(true, !scope.follow_named_maps, &error) : std::nullopt;
  bool own_table_live = false;
  if (text) {
    for (const std::string& table : ztc_tables(*text)) {
      nft_skip.insert(table);
      own_table_live = own_table_live || scope.own_tables.count(table);
    }
  }
  if (!json || !read_nft_ruleset(*json, *text, nft_skip, &out, &error)) {
    out.unreadable.push_back(error);
  }
  std::string socket_error;
  std::unique_ptr<netlink::Socket> socket = netlink::Socket::open(NETLINK_ROUTE, &socket_error);
  if (!socket) {
    out.unreadable.push_back("netlink: cannot connect");
  } else {
    read_rules(socket->raw(), &out);
    read_routes(*socket, route_tables_to_read(scope, own_table_live), &out);
    read_links(socket->raw(), &out);
  }
  read_sockets(&out);
  read_sysctls(&out);
  // networkd manages the links of the namespace it runs in: only the host's,
  // so only when the process has not entered another one.
  std::ifstream networkd_state("/run/systemd/netif/state");
  if (networkd_state && in_initial_netns()) {
    out.rule_removers.push_back("systemd-networkd is running (/run/systemd/netif/state)");
  }
  return out;
}

}  // namespace ztc::preflight
