#include "backend/explain_live.h"

#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>

namespace ztc::explain {
namespace {

struct SocketCloser {
  void operator()(nl_sock* sock) const { nl_socket_free(sock); }
};
struct CacheFree {
  void operator()(nl_cache* cache) const { nl_cache_free(cache); }
};

std::optional<IpPrefix> prefix_of(nl_addr* addr, int family) {
  IpPrefix prefix;
  prefix.family = family == AF_INET ? IpFamily::v4 : IpFamily::v6;
  size_t size = family == AF_INET ? 4 : 16;
  prefix.length = addr ? static_cast<int>(nl_addr_get_prefixlen(addr)) : 0;
  if (addr && nl_addr_get_len(addr) > 0) {
    if (nl_addr_get_len(addr) != size) return std::nullopt;
    std::memcpy(prefix.bytes.data(), nl_addr_get_binary_addr(addr), size);
  }
  return prefix;
}

std::optional<IpPrefix> host_of(nl_addr* addr, int family) {
  if (!addr) return std::nullopt;
  auto prefix = prefix_of(addr, family);
  if (prefix) prefix->length = prefix->max_length();
  return prefix;
}

struct Walk {
  LiveRouting* out;
  nl_cache* links;
};

void on_route(nl_object* object, void* arg) {
  auto* walk = static_cast<Walk*>(arg);
  auto* nl = reinterpret_cast<rtnl_route*>(object);
  int family = rtnl_route_get_family(nl);
  if (family != AF_INET && family != AF_INET6) return;
  uint32_t table = rtnl_route_get_table(nl);
  uint8_t type = rtnl_route_get_type(nl);
  auto destination = prefix_of(rtnl_route_get_dst(nl), family);
  if (!destination) return;
  if (table == RT_TABLE_LOCAL && type == RTN_LOCAL) {
    walk->out->local_addresses.push_back(*destination);
    return;
  }
  if (table != RT_TABLE_MAIN || type != RTN_UNICAST) return;
  route::Route route;
  route.family = family == AF_INET ? IpFamily::v4 : IpFamily::v6;
  route.table = table;
  route.destination = *destination;
  route.metric = rtnl_route_get_priority(nl);
  route.source = host_of(rtnl_route_get_pref_src(nl), family);
  if (rtnl_route_get_nnexthops(nl) > 0) {
    rtnl_nexthop* hop = rtnl_route_nexthop_n(nl, 0);
    route.via = host_of(rtnl_route_nh_get_gateway(hop), family);
    char name[64] = {};
    int index = rtnl_route_nh_get_ifindex(hop);
    if (index > 0) {
      route.device = rtnl_link_i2name(walk->links, index, name, sizeof name)
                         ? std::string(name)
                         : "if" + std::to_string(index);
    }
  }
  walk->out->main_routes.push_back(std::move(route));
}

}  // namespace

std::optional<std::string> read_live_routing(LiveRouting* out) {
  std::unique_ptr<nl_sock, SocketCloser> sock(nl_socket_alloc());
  if (!sock) return std::string("cannot allocate a netlink socket");
  int rc = nl_connect(sock.get(), NETLINK_ROUTE);
  if (rc < 0) return std::string("cannot open a netlink socket: ") + nl_geterror(rc);
  nl_cache* raw = nullptr;
  rc = rtnl_link_alloc_cache(sock.get(), AF_UNSPEC, &raw);
  if (rc < 0) return std::string("cannot list links: ") + nl_geterror(rc);
  std::unique_ptr<nl_cache, CacheFree> links(raw);
  rc = rtnl_route_alloc_cache(sock.get(), AF_UNSPEC, 0, &raw);
  if (rc < 0) return std::string("cannot list routes: ") + nl_geterror(rc);
  std::unique_ptr<nl_cache, CacheFree> routes(raw);
  Walk walk{out, links.get()};
  nl_cache_foreach(routes.get(), on_route, &walk);
  return std::nullopt;
}

}  // namespace ztc::explain
