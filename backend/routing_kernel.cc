#include "backend/routing_kernel.h"

#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iterator>
#include <tuple>

#include "backend/netlink_socket.h"
#include "backend/netns.h"
#include "backend/sysctl.h"

namespace ztc::route {
namespace {

constexpr uint32_t kAllBits = 0xffffffffu;

int af_of(IpFamily family) { return family == IpFamily::v4 ? AF_INET : AF_INET6; }

uint8_t kernel_scope(Scope scope) {
  switch (scope) {
    case Scope::global: return RT_SCOPE_UNIVERSE;
    case Scope::link: return RT_SCOPE_LINK;
    case Scope::host: return RT_SCOPE_HOST;
  }
  return RT_SCOPE_UNIVERSE;
}

Scope scope_of(uint8_t kernel) {
  if (kernel == RT_SCOPE_LINK) return Scope::link;
  if (kernel == RT_SCOPE_HOST) return Scope::host;
  return Scope::global;
}

// ---- libnl object lifetimes

struct AddrDeleter {
  void operator()(nl_addr* addr) const { nl_addr_put(addr); }
};
using AddrPtr = std::unique_ptr<nl_addr, AddrDeleter>;
struct RuleDeleter {
  void operator()(rtnl_rule* rule) const { rtnl_rule_put(rule); }
};
struct RouteDeleter {
  void operator()(rtnl_route* route) const { rtnl_route_put(route); }
};
struct CacheDeleter {
  void operator()(nl_cache* cache) const { nl_cache_free(cache); }
};
using CachePtr = std::unique_ptr<nl_cache, CacheDeleter>;
struct MsgDeleter {
  void operator()(nl_msg* msg) const { nlmsg_free(msg); }
};
using MsgPtr = std::unique_ptr<nl_msg, MsgDeleter>;

AddrPtr to_nl_addr(const IpPrefix& prefix) {
  size_t size = prefix.family == IpFamily::v4 ? 4 : 16;
  AddrPtr addr(nl_addr_build(af_of(prefix.family), prefix.bytes.data(), size));
  if (addr) nl_addr_set_prefixlen(addr.get(), prefix.length);
  return addr;
}

std::optional<IpPrefix> from_nl_addr(nl_addr* addr) {
  if (!addr) return std::nullopt;
  IpPrefix prefix;
  int family = nl_addr_get_family(addr);
  if (family == AF_INET) {
    prefix.family = IpFamily::v4;
  } else if (family == AF_INET6) {
    prefix.family = IpFamily::v6;
  } else {
    return std::nullopt;
  }
  unsigned size = nl_addr_get_len(addr);
  // A default route's destination comes back as a zero-length address.
  if (size > 0) {
    if (size != (prefix.family == IpFamily::v4 ? 4u : 16u)) return std::nullopt;
    std::memcpy(prefix.bytes.data(), nl_addr_get_binary_addr(addr), size);
  }
  prefix.length = static_cast<int>(nl_addr_get_prefixlen(addr));
  return prefix;
}

// The kernel's reason, with its own words when it gave some.
KernelError reason(const netlink::Result& failure) {
  if (!failure) return std::nullopt;
  return failure->text();
}

// ---- conversions

std::unique_ptr<rtnl_rule, RuleDeleter> to_nl_rule(const Rule& rule, std::string* error) {
  std::unique_ptr<rtnl_rule, RuleDeleter> nl(rtnl_rule_alloc());
  if (!nl) {
    *error = "out of memory";
    return nullptr;
  }
  rtnl_rule_set_family(nl.get(), af_of(rule.family));
  rtnl_rule_set_prio(nl.get(), rule.priority);
  if (rule.from && rule.from->length > 0) {
    if (rule.from->family != rule.family) {
      *error = "rule source " + rule.from->str() + " is not " + family_name(rule.family);
      return nullptr;
    }
    AddrPtr src = to_nl_addr(*rule.from);
    if (!src || rtnl_rule_set_src(nl.get(), src.get()) < 0) {
      *error = "bad rule source " + rule.from->str();
      return nullptr;
    }
  }
  if (rule.iif && rtnl_rule_set_iif(nl.get(), rule.iif->c_str()) < 0) {
    *error = "interface name too long: " + *rule.iif;
    return nullptr;
  }
  if (rule.fwmark) {
    rtnl_rule_set_mark(nl.get(), *rule.fwmark);
    rtnl_rule_set_mask(nl.get(), rule.fwmask.value_or(kAllBits));
  }
  // The action is always explicit: without it the kernel stores `lookup N none`.
  if (rule.action == RuleAction::goto_) {
    rtnl_rule_set_action(nl.get(), FR_ACT_GOTO);
    rtnl_rule_set_goto(nl.get(), rule.goto_priority);
  } else {
    rtnl_rule_set_action(nl.get(), FR_ACT_TO_TBL);
    rtnl_rule_set_table(nl.get(), rule.table);  // libnl sends FRA_TABLE: tables > 255 work
  }
  rtnl_rule_set_protocol(nl.get(), kZtcProtocol);
  return nl;
}

std::optional<Rule> from_nl_rule(rtnl_rule* nl) {
  uint8_t protocol = 0;
  if (rtnl_rule_get_protocol(nl, &protocol) < 0 || protocol != kZtcProtocol) return std::nullopt;
  Rule rule;
  int family = rtnl_rule_get_family(nl);
  if (family == AF_INET) {
    rule.family = IpFamily::v4;
  } else if (family == AF_INET6) {
    rule.family = IpFamily::v6;
  } else {
    return std::nullopt;
  }
  rule.priority = rtnl_rule_get_prio(nl);
  if (std::optional<IpPrefix> src = from_nl_addr(rtnl_rule_get_src(nl)); src && src->length > 0) {
    rule.from = src;
  }
  if (const char* iif = rtnl_rule_get_iif(nl)) rule.iif = iif;
  uint32_t mark = rtnl_rule_get_mark(nl), mask = rtnl_rule_get_mask(nl);
  // The kernel reports FRA_FWMARK/FRA_FWMASK only for rules that match a mark.
  if (mark != 0 || mask != 0) {
    rule.fwmark = mark;
    rule.fwmask = mask;
  }
  if (rtnl_rule_get_action(nl) == FR_ACT_GOTO) {
    rule.action = RuleAction::goto_;
    rule.goto_priority = rtnl_rule_get_goto(nl);
  } else {
    rule.action = RuleAction::lookup;
    rule.table = rtnl_rule_get_table(nl);
  }
  return rule;
}

}  // namespace

// ---------------------------------------------------------------------------
// NetlinkRoutingKernel

std::unique_ptr<NetlinkRoutingKernel> NetlinkRoutingKernel::open(std::string* error) {
  std::unique_ptr<netlink::Socket> socket = netlink::Socket::open(NETLINK_ROUTE, error);
  if (!socket) return nullptr;
  int netns_fd = open_current_netns(error);
  if (netns_fd < 0) return nullptr;
  return std::unique_ptr<NetlinkRoutingKernel>(
      new NetlinkRoutingKernel(std::move(socket), netns_fd));
}

NetlinkRoutingKernel::NetlinkRoutingKernel(std::unique_ptr<netlink::Socket> socket, int netns_fd)
    : socket_(std::move(socket)), netns_fd_(netns_fd) {}

NetlinkRoutingKernel::~NetlinkRoutingKernel() { close(netns_fd_); }

KernelError NetlinkRoutingKernel::list_rules(std::vector<Rule>* rules) {
  nl_cache* raw = nullptr;
  int rc = rtnl_rule_alloc_cache(socket_->raw(), AF_UNSPEC, &raw);
  if (rc < 0) return std::string("cannot list rules: ") + nl_geterror(rc);
  CachePtr cache(raw);
  for (nl_object* object = nl_cache_get_first(raw); object; object = nl_cache_get_next(object)) {
    if (std::optional<Rule> rule = from_nl_rule(reinterpret_cast<rtnl_rule*>(object))) {
      rules->push_back(std::move(*rule));
    }
  }
  return std::nullopt;
}

namespace {

// State of one route dump: the filter runs on the raw message, before anything
// is allocated, because a node can hold 100k pod routes (libnl's route cache
// took 6 s and 300 MB to list that many; this takes a fraction of a second).
struct RouteDump {
  std::vector<Route>* routes;
  nl_cache* links;
};

std::optional<IpPrefix> prefix_from_attr(nlattr* attr, IpFamily family, int length) {
  IpPrefix prefix;
  prefix.family = family;
  prefix.length = length;
  if (attr) {
    size_t size = family == IpFamily::v4 ? 4 : 16;
    if (static_cast<size_t>(nla_len(attr)) != size) return std::nullopt;
    std::memcpy(prefix.bytes.data(), nla_data(attr), size);
  }
  return prefix;
}

void on_route(nlmsghdr* header, RouteDump* dump) {
  if (header->nlmsg_type != RTM_NEWROUTE || !nlmsg_valid_hdr(header, sizeof(rtmsg))) return;
  auto* rtm = static_cast<rtmsg*>(nlmsg_data(header));
  const bool member = rtm->rtm_protocol == kMemberRouteProtocol;
  if ((rtm->rtm_protocol != kZtcProtocol && !member) || rtm->rtm_type != RTN_UNICAST) return;
  if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6) return;
  nlattr* tb[RTA_MAX + 1] = {};
  if (nlmsg_parse(header, sizeof(rtmsg), tb, RTA_MAX, nullptr) < 0) return;
  Route route;
  route.family = rtm->rtm_family == AF_INET ? IpFamily::v4 : IpFamily::v6;
  route.member = member;
  route.table = tb[RTA_TABLE] ? nla_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
  std::optional<IpPrefix> dst = prefix_from_attr(tb[RTA_DST], route.family, rtm->rtm_dst_len);
  if (!dst) return;
  route.destination = *dst;
  route.scope = scope_of(rtm->rtm_scope);
  route.onlink = (rtm->rtm_flags & RTNH_F_ONLINK) != 0;
  int host = route.family == IpFamily::v4 ? 32 : 128;
  if (tb[RTA_PREFSRC]) route.source = prefix_from_attr(tb[RTA_PREFSRC], route.family, host);
  if (tb[RTA_GATEWAY]) route.via = prefix_from_attr(tb[RTA_GATEWAY], route.family, host);
  route.metric = tb[RTA_PRIORITY] ? nla_get_u32(tb[RTA_PRIORITY]) : 0;
  if (tb[RTA_OIF]) {
    int index = static_cast<int>(nla_get_u32(tb[RTA_OIF]));
    char name[IFNAMSIZ] = {};
    if (rtnl_link_i2name(dump->links, index, name, sizeof name)) {
      route.device = name;
    } else {
      route.device = "if" + std::to_string(index);
    }
  }
  dump->routes->push_back(std::move(route));
}

}  // namespace

KernelError NetlinkRoutingKernel::list_routes(std::vector<Route>* routes) {
  return dump_routes(0, routes);
}

KernelError NetlinkRoutingKernel::list_static_routes(std::vector<Route>* routes) {
  return dump_routes(kZtcProtocol, routes);
}

// With strict checking the kernel filters the dump by protocol: the routes
// of other protocols are walked but not sent (100k member routes cost a few
// ms instead of tens). Without it (kernels before 4.20) the whole dump is
// filtered here.
KernelError NetlinkRoutingKernel::dump_routes(uint8_t protocol, std::vector<Route>* routes) {
  nl_cache* raw_links = nullptr;
  int rc = rtnl_link_alloc_cache(socket_->raw(), AF_UNSPEC, &raw_links);
  if (rc < 0) return std::string("cannot list links: ") + nl_geterror(rc);
  CachePtr links(raw_links);
  MsgPtr msg(nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP));
  rtmsg request = {};
  request.rtm_family = AF_UNSPEC;
  request.rtm_protocol = protocol;  // honoured by a filtered_dump only
  if (!msg || nlmsg_append(msg.get(), &request, sizeof request, NLMSG_ALIGNTO) < 0) {
    return std::string("cannot list routes: out of memory");
  }
  std::vector<Route> dumped;
  RouteDump dump{&dumped, links.get()};
  bool filtered = false;  // either way, the loop below keeps `protocol`'s routes only
  auto on_message = [&](nlmsghdr* header) { on_route(header, &dump); };
  auto restart = [&] { dumped.clear(); };
  netlink::Result failure = protocol != 0
                                ? socket_->filtered_dump(msg.get(), on_message, restart, &filtered)
                                : socket_->dump(msg.get(), on_message, restart);
  if (failure && failure->dump_interrupted) {
    return std::string("cannot list routes: the dump kept being interrupted by other changes");
  }
  if (failure) return "cannot list routes: " + failure->text();
  for (Route& route : dumped) {
    if (protocol == 0 || protocol_of(route) == protocol) routes->push_back(std::move(route));
  }
  return std::nullopt;
}

KernelError NetlinkRoutingKernel::send_rule(const Rule& rule, bool remove) {
  std::string error;
  auto nl = to_nl_rule(rule, &error);
  if (!nl) return error;
  nl_msg* raw = nullptr;
  // NLM_F_EXCL on add: without it the kernel silently adds a duplicate.
  int rc = remove ? rtnl_rule_build_delete_request(nl.get(), 0, &raw)
                  : rtnl_rule_build_add_request(nl.get(), NLM_F_EXCL, &raw);
  if (rc < 0) return std::string("netlink: ") + nl_geterror(rc);
  MsgPtr msg(raw);
  return reason(socket_->exchange(msg.get()));
}

KernelError NetlinkRoutingKernel::add_rule(const Rule& rule) { return send_rule(rule, false); }

KernelError NetlinkRoutingKernel::delete_rule(const Rule& rule) {
  return delete_rule_exactly(rule, 0);
}

// The kernel deletes the first rule its request matches (rule_delete_matches).
// When a more specific ztc rule comes first, it is taken out, the target deleted
// and the other put back (at the end of its priority: rules are few and equal
// priorities rare, so the reorder is accepted).
KernelError NetlinkRoutingKernel::delete_rule_exactly(const Rule& rule, int depth) {
  std::vector<Rule> current;
  if (KernelError error = list_rules(&current)) return error;
  std::vector<Rule> shadows;
  bool found = false;
  for (const Rule& existing : current) {
    if (same_rule(existing, rule)) {
      found = true;
      break;
    }
    if (rule_delete_matches(rule, existing)) shadows.push_back(existing);
  }
  if (!found) return std::string("No such file or directory");
  if (depth > 16) return std::string("rules shadow each other too deeply to delete one exactly");
  for (const Rule& shadow : shadows) {
    if (KernelError error = delete_rule_exactly(shadow, depth + 1)) {
      return "cannot set aside " + describe(shadow) + ": " + *error;
    }
  }
  KernelError result = send_rule(rule, true);
  for (const Rule& shadow : shadows) {
    if (KernelError error = send_rule(shadow, false)) {
      std::string lost = "lost " + describe(shadow) + " while deleting around it: " + *error;
      result = result ? *result + "; " + lost : lost;
    }
  }
  return result;
}

namespace {

// One RTM_GETROUTE answer: how the kernel reaches an address.
struct RouteLookup {
  bool answered = false;
  int error = 0;
  unsigned char type = 0;
  int oif = 0;
  bool via_gateway = false;
};

void on_lookup(nlmsghdr* header, RouteLookup* lookup) {
  if (header->nlmsg_type != RTM_NEWROUTE) return;
  auto* route = static_cast<rtmsg*>(nlmsg_data(header));
  nlattr* attributes[RTA_MAX + 1] = {};
  if (nlmsg_parse(header, sizeof(rtmsg), attributes, RTA_MAX, nullptr) < 0) return;
  lookup->answered = true;
  lookup->type = route->rtm_type;
  if (attributes[RTA_OIF]) lookup->oif = static_cast<int>(nla_get_u32(attributes[RTA_OIF]));
  lookup->via_gateway = attributes[RTA_GATEWAY] != nullptr || attributes[RTA_VIA] != nullptr;
}

// `ip route get ADDRESS [oif INDEX]`, in the socket's namespace.
RouteLookup lookup_route(netlink::Socket& socket, const IpPrefix& address, int oif) {
  RouteLookup lookup;
  MsgPtr msg(nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_ACK));
  if (!msg) {
    lookup.error = ENOMEM;
    return lookup;
  }
  rtmsg request = {};
  request.rtm_family = static_cast<unsigned char>(af_of(address.family));
  request.rtm_dst_len = static_cast<unsigned char>(address.max_length());
  // The FIB entry that matches, as the kernel's nexthop check finds it: an
  // output lookup would "assume on link" whatever is given with an oif.
  request.rtm_flags = RTM_F_FIB_MATCH;
  const int size = address.family == IpFamily::v4 ? 4 : 16;
  if (nlmsg_append(msg.get(), &request, sizeof request, NLMSG_ALIGNTO) < 0 ||
      nla_put(msg.get(), RTA_DST, size, address.bytes.data()) < 0 ||
      (oif > 0 && nla_put_u32(msg.get(), RTA_OIF, static_cast<uint32_t>(oif)) < 0)) {
    lookup.error = ENOMEM;
    return lookup;
  }
  netlink::Result failure =
      socket.exchange(msg.get(), [&](nlmsghdr* header) { on_lookup(header, &lookup); });
  if (failure) lookup.error = failure->kernel_errno ? failure->kernel_errno : EIO;
  return lookup;
}

}  // namespace

KernelError NetlinkRoutingKernel::check_route_addresses(const Route& route) {
  std::optional<int> device = route.device ? ifindex(*route.device) : std::nullopt;
  if (route.via && !route.onlink && route.scope != Scope::host) {
    RouteLookup lookup = lookup_route(*socket_, *route.via, 0);
    bool on_device = !device || lookup.oif == *device;
    if (lookup.error != 0 || !lookup.answered ||
        (lookup.type != RTN_UNICAST && lookup.type != RTN_LOCAL) || lookup.via_gateway ||
        !on_device) {
      std::string why = lookup.error != 0    ? std::strerror(lookup.error)
                        : lookup.via_gateway ? "reached only through another gateway"
                        : !on_device         ? "reached through another device"
                                             : "not reachable";
      return "Nexthop has invalid gateway: " + route.via->address_str() + " is " +
             (lookup.error != 0 ? "unreachable (" + why + ")" : why) +
             (route.device ? " on device " + *route.device : std::string()) +
             " (checked without writing)";
    }
  }
  if (route.source) {
    RouteLookup lookup = lookup_route(*socket_, *route.source, 0);
    if (lookup.error != 0 || lookup.type != RTN_LOCAL) {
      return "Invalid prefsrc address: " + route.source->address_str() +
             " is not an address of this node (checked without writing)";
    }
  }
  return std::nullopt;
}

std::optional<int> NetlinkRoutingKernel::ifindex(const std::string& name) {
  if (auto found = ifindex_cache_.find(name); found != ifindex_cache_.end()) return found->second;
  if (name.empty() || name.size() >= IFNAMSIZ) return std::nullopt;
  rtnl_link* link = nullptr;
  if (rtnl_link_get_kernel(socket_->raw(), 0, name.c_str(), &link) < 0 || !link)
    return std::nullopt;
  int index = rtnl_link_get_ifindex(link);
  rtnl_link_put(link);
  ifindex_cache_[name] = index;
  return index;
}

KernelError NetlinkRoutingKernel::route_request(const Route& route, bool remove, int flags) {
  std::unique_ptr<rtnl_route, RouteDeleter> nl(rtnl_route_alloc());
  if (!nl) return std::string("out of memory");
  rtnl_route_set_family(nl.get(), static_cast<uint8_t>(af_of(route.family)));
  rtnl_route_set_table(nl.get(), route.table);  // libnl sends RTA_TABLE: tables > 255 work
  rtnl_route_set_protocol(nl.get(), protocol_of(route));
  rtnl_route_set_type(nl.get(), RTN_UNICAST);
  // Explicit scope: libnl would otherwise guess one.
  rtnl_route_set_scope(nl.get(), kernel_scope(route.scope));
  AddrPtr dst = to_nl_addr(route.destination);
  if (!dst || rtnl_route_set_dst(nl.get(), dst.get()) < 0) {
    return "bad destination " + route.destination.str();
  }
  if (route.source) {
    AddrPtr src = to_nl_addr(*route.source);
    nl_addr_set_prefixlen(src.get(), route.source->max_length());
    if (!src || rtnl_route_set_pref_src(nl.get(), src.get()) < 0) {
      return "bad source " + route.source->str();
    }
  }
  if (route.metric) rtnl_route_set_priority(nl.get(), *route.metric);
  // libnl copies a single next hop's gateway and device into the message but not
  // its flags: onlink goes into rtm_flags through the route's flags.
  if (route.onlink) rtnl_route_set_flags(nl.get(), RTNH_F_ONLINK);
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  if (!nh) return std::string("out of memory");
  if (route.device) {
    std::optional<int> index = ifindex(*route.device);
    if (!index) {
      rtnl_route_nh_free(nh);
      return "No such device (\"" + *route.device + "\")";
    }
    rtnl_route_nh_set_ifindex(nh, *index);
  }
  if (route.via) {
    AddrPtr gateway = to_nl_addr(*route.via);
    nl_addr_set_prefixlen(gateway.get(), route.via->max_length());
    rtnl_route_nh_set_gateway(nh, gateway.get());  // takes its own reference
  }
  if (route.onlink) rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
  rtnl_route_add_nexthop(nl.get(), nh);  // the route owns it from here
  nl_msg* raw = nullptr;
  int rc = remove ? rtnl_route_build_del_request(nl.get(), flags, &raw)
                  : rtnl_route_build_add_request(nl.get(), flags, &raw);
  if (rc < 0) return std::string("netlink: ") + nl_geterror(rc);
  MsgPtr msg(raw);
  KernelError error = reason(socket_->exchange(msg.get()));
  // A device deleted and re-created gets a new index: forget what we knew.
  if (error && route.device) ifindex_cache_.erase(*route.device);
  return error;
}

KernelError NetlinkRoutingKernel::add_route(const Route& route) {
  // NLM_F_EXCL: IPv6 would otherwise turn a second route with the same key into
  // a multipath route.
  return route_request(route, false, NLM_F_EXCL);
}

KernelError NetlinkRoutingKernel::replace_route(const Route& route) {
  return route_request(route, false, NLM_F_REPLACE);
}

KernelError NetlinkRoutingKernel::delete_route(const Route& route) {
  return route_request(route, true, 0);
}

KernelError NetlinkRoutingKernel::read_sysctl(const std::string& key, std::string* value) {
  // /proc/sys/net follows the calling thread: read in this kernel object's namespace.
  NetnsSwitch in_namespace(netns_fd_);
  if (!in_namespace.ok()) return in_namespace.error();
  std::string error;
  std::optional<std::string> read = read_sysctl_value(key, &error);
  if (!read) return error;
  *value = *read;
  return std::nullopt;
}

KernelError NetlinkRoutingKernel::write_sysctl(const std::string& key, const std::string& value) {
  NetnsSwitch in_namespace(netns_fd_);
  if (!in_namespace.ok()) return in_namespace.error();
  return write_sysctl_value(key, value);
}

bool NetlinkRoutingKernel::device_exists(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) return false;
  rtnl_link* link = nullptr;
  if (rtnl_link_get_kernel(socket_->raw(), 0, name.c_str(), &link) < 0 || !link) return false;
  rtnl_link_put(link);
  return true;
}

}  // namespace ztc::route
