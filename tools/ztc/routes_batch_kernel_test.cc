// `ztc compile --emit routes-ipv4|routes-ipv6` piped into `ip -4 -batch -` /
// `ip -6 -batch -`, exactly as the README says, for the dual-stack example:
// both families' rules and routes must be in the kernel afterwards, each in
// its own family. (Fed to plain `ip -batch`, `--emit routes` used to add the
// IPv6 rules as IPv4 rules; it now refuses a policy with IPv6 routing.)
// Everything runs in a namespace the test creates; no packet is sent.
#include <boost/test/unit_test.hpp>
#include <string>

#include "backend/netns.h"
#include "testsupport/ambient_node.h"
#include "testsupport/files.h"
#include "testsupport/test_netns.h"

namespace ztc {
namespace {

const std::string kZtc = ZTC_BINARY;
const std::string kDualStack = std::string(ZTC_SOURCE_DIR) + "/examples/dual-stack.zt";

BOOST_AUTO_TEST_SUITE(routes_batch)

BOOST_AUTO_TEST_CASE(dual_stack_loads_with_ip_batch_per_family,
                     *boost::unit_test::label("kernel")) {
  // The ambient node with IPv6 addresses too, so the example's gateways are on-link.
  testing::AmbientNode node("ztc-batch");
  node.must(
      "ip addr add fd00:126::1/64 dev istioin nodad && "
      "ip addr add fd00:127::1/64 dev istioout nodad && "
      "ip addr add fd00:10:244:1::1/64 dev veth1ae58883 nodad");
  const std::string ztc = shell_quote(kZtc) + " compile " + shell_quote(kDualStack);
  node.must(ztc + " --emit routes-ipv4 | ip -4 -batch -");
  node.must(ztc + " --emit routes-ipv6 | ip -6 -batch -");

  BOOST_TEST(node.must("ip -4 rule show | grep 'proto 122'") ==
             "100:\tfrom all fwmark 0x200/0x200 goto 32766 proto 122\n"
             "101:\tfrom all fwmark 0x100/0x100 lookup 101 proto 122\n"
             "102:\tfrom all fwmark 0x40/0x40 lookup 102 proto 122\n"
             "103:\tfrom all lookup 100 proto 122\n");
  BOOST_TEST(node.must("ip -6 rule show | grep 'proto 122'") ==
             "100:\tfrom all fwmark 0x200/0x200 goto 32766 proto 122\n"
             "101:\tfrom all fwmark 0x100/0x100 lookup 101 proto 122\n"
             "102:\tfrom all fwmark 0x40/0x40 lookup 102 proto 122\n"
             "103:\tfrom all lookup 100 proto 122\n");
  BOOST_TEST(node.must("ip -4 route show table all proto 122") ==
             "10.244.1.2 dev veth1ae58883 table 100 scope link \n"
             "default via 192.168.127.2 dev istioout table 101 \n"
             "10.244.1.2 dev veth1ae58883 table 101 scope link \n"
             "default via 10.244.1.2 dev veth1ae58883 table 102 onlink \n"
             "10.244.1.2 dev veth1ae58883 table 102 scope link \n");
  BOOST_TEST(
      node.must("ip -6 route show table all proto 122") ==
      "fd00:10:244:1::2 dev veth1ae58883 table 100 metric 1024 pref medium\n"
      "fd00:10:244:1::2 dev veth1ae58883 table 101 metric 1024 pref medium\n"
      "default via fd00:127::2 dev istioout table 101 metric 1024 pref medium\n"
      "fd00:10:244:1::2 dev veth1ae58883 table 102 metric 1024 pref medium\n"
      "default via fd00:10:244:1::2 dev veth1ae58883 table 102 metric 1024 onlink pref medium\n");

  // The one-batch form cannot say a family per line: refused, not half right.
  CommandResult refused = node.run(ztc + " --emit routes 2>&1 >/dev/null");
  BOOST_TEST(refused.exit_code == 2);
  BOOST_TEST(refused.output ==
             "ztc: error: --emit routes: the policy routes IPv6, and an `ip -batch` line carries "
             "no family (an IPv6 rule would be added as IPv4); use --emit routes-ipv4 with "
             "`ip -4 -batch -` and --emit routes-ipv6 with `ip -6 -batch -`\n");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc
