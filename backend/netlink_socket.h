// The one netlink conversation every raw request of ztc's goes through
// (nfnetlink set reads, route dumps and lookups, rule and route writes): send
// one request, read every answer up to the ack or the end of the dump, bounded
// in rounds and time, and keep the kernel's own words for a refusal (extended
// acks: "Nexthop has invalid gateway"), which libnl's return codes lose.
//
// It holds a libnl-3 socket: libnl-route caches and look-ups (links, rules)
// run on raw() where libnl is the natural tool; requests built by libnl-route
// (rtnl_route_build_add_request ...) or by hand go through exchange().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

struct nl_sock;
struct nl_msg;
struct nlmsghdr;

namespace ztc::netlink {

// Why a request failed: the kernel refused it, or the socket did.
struct Failure {
  int kernel_errno = 0;        // ENOENT, EEXIST, ...; 0 when the socket failed, not the kernel
  std::string kernel_message;  // NLMSGERR_ATTR_MSG, "" when the kernel gave none
  // NLMSGERR_ATTR_OFFS: where the refused attribute starts, in bytes from the
  // start of the request's header.
  std::optional<uint32_t> attribute_offset;
  std::string socket_error;       // libnl's words when the socket failed
  bool dump_interrupted = false;  // a concurrent change cut the dump (NLM_F_DUMP_INTR)

  // "Network is unreachable (Nexthop has invalid gateway)", "File exists",
  // or "netlink: <socket error>".
  std::string text() const;
};
using Result = std::optional<Failure>;  // nullopt: done

class Socket {
 public:
  using MessageHandler = std::function<void(nlmsghdr*)>;

  // protocol: NETLINK_ROUTE or NETLINK_NETFILTER. The socket is bound to the
  // network namespace of the calling thread for its whole life.
  static std::unique_ptr<Socket> open(int protocol, std::string* error);
  ~Socket();
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  nl_sock* raw() const { return sock_; }

  // Sends `request` (libnl adds NLM_F_ACK) and hands every answer but the
  // ack to `on_message`, until the kernel acks, ends a dump or refuses.
  // `request` may be sent again: it gets a fresh sequence number each time.
  Result exchange(nl_msg* request, const MessageHandler& on_message = {});

  // A dump request: run again from the start while a concurrent change
  // interrupts it, a few times; `restart` forgets what a cut try gave.
  Result dump(nl_msg* request, const MessageHandler& on_message,
              const std::function<void()>& restart);

  // A dump the kernel filters by the request's own fields (a route dump's
  // protocol, table ...): strict checking (NETLINK_GET_STRICT_CHK) is on for
  // this dump alone, as libnl's own requests are not written for it.
  // `*filtered` false when the kernel cannot (before 4.20): it then sends
  // everything, and the caller filters what it gets.
  Result filtered_dump(nl_msg* request, const MessageHandler& on_message,
                       const std::function<void()>& restart, bool* filtered);

 private:
  bool set_strict_checking(bool on);

  explicit Socket(nl_sock* sock) : sock_(sock) {}
  nl_sock* sock_;
};

}  // namespace ztc::netlink
