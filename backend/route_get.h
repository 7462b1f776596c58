// `ip route get` through netlink (netlink_socket.h): the routing decision the kernel
// takes for a packet with its mark, as `ztc trace` reports it. In the calling
// thread's network namespace.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "model/ip_address.h"

namespace ztc::route {

struct PacketKey {
  IpPrefix daddr;
  std::optional<IpPrefix> saddr;
  std::optional<std::string> iif;  // arrives on; nullopt: sent by the node
  uint32_t mark = 0;
};

struct Decision {
  std::string type;  // unicast, local, unreachable, blackhole, prohibit, ...
  uint32_t table = 0;
  std::optional<std::string> dev;
  std::optional<IpPrefix> via;
  std::optional<IpPrefix> src;
};

// nullopt with `error` (the kernel's reason, e.g. "Network is unreachable").
std::optional<Decision> route_get(const PacketKey& packet, std::string* error);

// "table 100: dev istioin via 192.168.126.2 src 10.244.1.1", "table local: local".
std::string describe(const Decision& decision);

}  // namespace ztc::route
