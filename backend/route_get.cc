#include "backend/route_get.h"

#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <cstring>
#include <memory>

#include "backend/netlink_socket.h"

namespace ztc::route {
namespace {

struct MsgDeleter {
  void operator()(nl_msg* msg) const { nlmsg_free(msg); }
};

struct Answer {
  bool answered = false;
  Decision decision;
};

std::optional<IpPrefix> address_of(nlattr* attribute, unsigned char family) {
  if (!attribute) return std::nullopt;
  IpPrefix address;
  address.family = family == AF_INET ? IpFamily::v4 : IpFamily::v6;
  size_t size = family == AF_INET ? 4 : 16;
  if (static_cast<size_t>(nla_len(attribute)) < size) return std::nullopt;
  std::memcpy(address.bytes.data(), nla_data(attribute), size);
  address.length = address.max_length();
  return address;
}

const char* type_name(unsigned char type) {
  switch (type) {
    case RTN_UNICAST: return "unicast";
    case RTN_LOCAL: return "local";
    case RTN_BROADCAST: return "broadcast";
    case RTN_MULTICAST: return "multicast";
    case RTN_UNREACHABLE: return "unreachable";
    case RTN_BLACKHOLE: return "blackhole";
    case RTN_PROHIBIT: return "prohibit";
    case RTN_THROW: return "throw";
    default: return "other";
  }
}

void on_route(nlmsghdr* header, Answer* answer) {
  if (header->nlmsg_type != RTM_NEWROUTE) return;
  auto* route = static_cast<rtmsg*>(nlmsg_data(header));
  nlattr* attributes[RTA_MAX + 1] = {};
  if (nlmsg_parse(header, sizeof(rtmsg), attributes, RTA_MAX, nullptr) < 0) return;
  answer->answered = true;
  Decision& d = answer->decision;
  d.type = type_name(route->rtm_type);
  d.table = attributes[RTA_TABLE] ? nla_get_u32(attributes[RTA_TABLE]) : route->rtm_table;
  if (attributes[RTA_OIF]) {
    char name[IF_NAMESIZE] = {};
    if (if_indextoname(nla_get_u32(attributes[RTA_OIF]), name)) d.dev = name;
  }
  d.via = address_of(attributes[RTA_GATEWAY], route->rtm_family);
  d.src = address_of(attributes[RTA_PREFSRC], route->rtm_family);
}

}  // namespace

std::optional<Decision> route_get(const PacketKey& packet, std::string* error) {
  std::string open_error;
  std::unique_ptr<netlink::Socket> socket = netlink::Socket::open(NETLINK_ROUTE, &open_error);
  if (!socket) {
    *error = "cannot open a netlink socket";
    return std::nullopt;
  }
  std::unique_ptr<nl_msg, MsgDeleter> msg(
      nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_ACK));
  if (!msg) {
    *error = "out of memory";
    return std::nullopt;
  }
  const bool v4 = packet.daddr.family == IpFamily::v4;
  const int size = v4 ? 4 : 16;
  rtmsg request = {};
  request.rtm_family = v4 ? AF_INET : AF_INET6;
  request.rtm_dst_len = static_cast<unsigned char>(packet.daddr.max_length());
  request.rtm_src_len = packet.saddr ? request.rtm_dst_len : 0;
  request.rtm_flags = RTM_F_LOOKUP_TABLE;  // the table the lookup ended in, not main
  bool ok = nlmsg_append(msg.get(), &request, sizeof request, NLMSG_ALIGNTO) >= 0 &&
            nla_put(msg.get(), RTA_DST, size, packet.daddr.bytes.data()) >= 0 &&
            nla_put_u32(msg.get(), RTA_MARK, packet.mark) >= 0;
  if (ok && packet.saddr) ok = nla_put(msg.get(), RTA_SRC, size, packet.saddr->bytes.data()) >= 0;
  if (ok && packet.iif) {
    unsigned index = if_nametoindex(packet.iif->c_str());
    if (index == 0) {
      *error = "no device " + *packet.iif;
      return std::nullopt;
    }
    ok = nla_put_u32(msg.get(), RTA_IIF, index) >= 0;
  }
  if (!ok) {
    *error = "cannot ask the kernel";
    return std::nullopt;
  }
  Answer answer;
  netlink::Result failure =
      socket->exchange(msg.get(), [&](nlmsghdr* header) { on_route(header, &answer); });
  if (failure) {
    *error = failure->text();
    return std::nullopt;
  }
  if (!answer.answered) {
    *error = "no answer from the kernel";
    return std::nullopt;
  }
  return answer.decision;
}

std::string describe(const Decision& d) {
  std::string table = d.table == RT_TABLE_MAIN    ? "main"
                      : d.table == RT_TABLE_LOCAL ? "local"
                                                  : std::to_string(d.table);
  std::string text = "table " + table + ": " + d.type;
  if (d.dev) text += " dev " + *d.dev;
  if (d.via) text += " via " + d.via->address_str();
  if (d.src) text += " src " + d.src->address_str();
  return text;
}

}  // namespace ztc::route
