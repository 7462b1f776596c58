#include "backend/netlink_socket.h"

#include <arpa/inet.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <boost/test/unit_test.hpp>
#include <cerrno>
#include <memory>
#include <string>

#include "backend/netns.h"
#include "testsupport/test_netns.h"

namespace ztc::netlink {
namespace {

struct MsgDeleter {
  void operator()(nl_msg* msg) const { nlmsg_free(msg); }
};
using MsgPtr = std::unique_ptr<nl_msg, MsgDeleter>;

std::unique_ptr<Socket> open_socket(int protocol) {
  std::string error;
  std::unique_ptr<Socket> socket = Socket::open(protocol, &error);
  BOOST_REQUIRE_MESSAGE(socket, error);
  return socket;
}

// `ip route add 10.1.0.0/16 via <gateway> proto 122` as one request.
MsgPtr route_via(const char* gateway) {
  MsgPtr msg(nlmsg_alloc_simple(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL));
  BOOST_REQUIRE(msg);
  rtmsg route = {};
  route.rtm_family = AF_INET;
  route.rtm_dst_len = 16;
  route.rtm_table = RT_TABLE_MAIN;
  route.rtm_protocol = 122;
  route.rtm_type = RTN_UNICAST;
  in_addr destination{}, via{};
  inet_pton(AF_INET, "10.1.0.0", &destination);
  inet_pton(AF_INET, gateway, &via);
  BOOST_REQUIRE(nlmsg_append(msg.get(), &route, sizeof route, NLMSG_ALIGNTO) >= 0);
  BOOST_REQUIRE(nla_put(msg.get(), RTA_DST, 4, &destination) >= 0);
  BOOST_REQUIRE(nla_put(msg.get(), RTA_GATEWAY, 4, &via) >= 0);
  return msg;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(netlink_socket)

BOOST_AUTO_TEST_CASE(failure_text_names_the_kernel_reason_or_the_socket) {
  Failure refused;
  refused.kernel_errno = ENETUNREACH;
  BOOST_TEST(refused.text() == "Network is unreachable");
  refused.kernel_message = "Nexthop has invalid gateway";
  BOOST_TEST(refused.text() == "Network is unreachable (Nexthop has invalid gateway)");
  Failure socket_failed;
  socket_failed.socket_error = "Object busy";
  BOOST_TEST(socket_failed.text() == "netlink: Object busy");
}

BOOST_AUTO_TEST_CASE(a_refusal_carries_the_kernels_message, *boost::unit_test::label("kernel")) {
  ScopedTestNetns netns("ztc-netlink");
  NetnsSwitch in(netns.path());
  BOOST_REQUIRE_MESSAGE(in.ok(), in.error());
  std::unique_ptr<Socket> socket = open_socket(NETLINK_ROUTE);

  // Nothing reaches 10.9.9.9 in a namespace with only loopback.
  MsgPtr unreachable = route_via("10.9.9.9");
  Result failure = socket->exchange(unreachable.get());
  BOOST_REQUIRE(failure);
  BOOST_TEST(failure->kernel_errno == ENETUNREACH);
  BOOST_TEST(failure->kernel_message == "Nexthop has invalid gateway");
  BOOST_TEST(failure->text() == "Network is unreachable (Nexthop has invalid gateway)");

  // The same socket goes on: a request that succeeds, then the same one again.
  MsgPtr on_loopback = route_via("127.0.0.1");
  BOOST_TEST(!socket->exchange(on_loopback.get()));
  Result again = socket->exchange(on_loopback.get());
  BOOST_REQUIRE(again);
  BOOST_TEST(again->text() == "File exists");
}

BOOST_AUTO_TEST_CASE(a_refusal_points_at_the_refused_attribute,
                     *boost::unit_test::label("kernel")) {
  ScopedTestNetns netns("ztc-netlink");
  NetnsSwitch in(netns.path());
  BOOST_REQUIRE_MESSAGE(in.ok(), in.error());
  std::unique_ptr<Socket> socket = open_socket(NETLINK_NETFILTER);

  MsgPtr msg(nlmsg_alloc_simple((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE, NLM_F_REQUEST));
  BOOST_REQUIRE(msg);
  nfgenmsg header{};
  header.nfgen_family = 2;  // NFPROTO_IPV4
  header.version = NFNETLINK_V0;
  BOOST_REQUIRE(nlmsg_append(msg.get(), &header, sizeof header, NLMSG_ALIGNTO) >= 0);
  BOOST_REQUIRE(nla_put_string(msg.get(), NFTA_TABLE_NAME, "absent") >= 0);

  Result failure = socket->exchange(msg.get());
  BOOST_REQUIRE(failure);
  BOOST_TEST(failure->text() == "No such file or directory");
  // The table name, the first attribute: right after the netlink and nfnetlink headers.
  BOOST_REQUIRE(failure->attribute_offset.has_value());
  BOOST_TEST(*failure->attribute_offset == NLMSG_HDRLEN + NLMSG_ALIGN(sizeof header));
}

BOOST_AUTO_TEST_CASE(a_dump_hands_over_every_answer, *boost::unit_test::label("kernel")) {
  ScopedTestNetns netns("ztc-netlink");
  CommandResult setup = netns.run(
      "for i in $(seq 1 1000); do echo \"route add 10.$((i / 250)).$((i % 250)).0/24 dev lo "
      "proto 122\"; done | ip -batch -");
  BOOST_REQUIRE_MESSAGE(setup.exit_code == 0, setup.output);
  NetnsSwitch in(netns.path());
  BOOST_REQUIRE_MESSAGE(in.ok(), in.error());
  std::unique_ptr<Socket> socket = open_socket(NETLINK_ROUTE);

  MsgPtr msg(nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP));
  rtmsg request = {};
  request.rtm_family = AF_INET;
  BOOST_REQUIRE(nlmsg_append(msg.get(), &request, sizeof request, NLMSG_ALIGNTO) >= 0);
  int tagged = 0, restarts = 0;
  Result failure = socket->dump(
      msg.get(),
      [&](nlmsghdr* answer) {
        if (answer->nlmsg_type != RTM_NEWROUTE) return;
        auto* route = static_cast<rtmsg*>(nlmsg_data(answer));
        if (route->rtm_protocol == 122) ++tagged;
      },
      [&] {
        tagged = 0;
        ++restarts;
      });
  BOOST_TEST(!failure);
  BOOST_TEST(restarts == 0);
  BOOST_TEST(tagged == 1000);

  // A filtered dump: the kernel honours the request's protocol, and only the
  // 1000 routes of protocol 122 come, none of the kernel's own (loopback's).
  // A plain dump of the same request brings every route.
  int answers = 0, others = 0;
  auto on_answer = [&](nlmsghdr* answer) {
    if (answer->nlmsg_type != RTM_NEWROUTE) return;
    ++answers;
    if (static_cast<rtmsg*>(nlmsg_data(answer))->rtm_protocol != 122) ++others;
  };
  auto restart = [&] { answers = others = 0; };
  static_cast<rtmsg*>(nlmsg_data(nlmsg_hdr(msg.get())))->rtm_protocol = 122;
  bool filtered = false;
  BOOST_TEST(!socket->filtered_dump(msg.get(), on_answer, restart, &filtered));
  BOOST_REQUIRE(filtered);
  BOOST_TEST(answers == 1000);
  BOOST_TEST(others == 0);
  restart();
  BOOST_TEST(!socket->dump(msg.get(), on_answer, restart));
  BOOST_TEST(others > 0);
  BOOST_TEST(answers == 1000 + others);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc::netlink
