// `ztc explain --netns`: the live members, local addresses and main table of
// a namespace the test creates (the example loaded, a pod enrolled), read
// without changing anything there.
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "backend/netns.h"
#include "testsupport/ambient_node.h"

namespace ztc {
namespace {

const std::string kExample = std::string(ZTC_SOURCE_DIR) + "/examples/ambient-node.zt";

using Run = testing::ZtcRun;

// The ambient node with an uplink whose gateway routes the other node's pods.
class Node : public testing::AmbientNode {
 public:
  Node() : AmbientNode("ztc-explain") {
    must(
        "ip link add upl0 type veth peer name uplz && ip link set upl0 up && "
        "ip link set uplz up && ip addr add 192.168.50.131/24 dev upl0 && "
        "ip route add 10.244.0.0/24 via 192.168.50.130 dev upl0");
  }

  nlohmann::json explain(const std::string& packet) const {
    Run run = ztc("explain " + shell_quote(kExample) + " --json " + packet);
    BOOST_REQUIRE_MESSAGE(run.exit_code == 0, run.err);
    return nlohmann::json::parse(run.out);
  }

  // IPv6 is left out: the kernel adds link-local routes on its own while
  // the new veths finish DAD.
  std::string state() const {
    return must("nft -s list ruleset; ip rule; ip -4 route show table all");
  }
};

const char* kEnrolledTcp =
    "iif vethpod5 tcp saddr 10.244.1.5 daddr 10.96.0.10 sport 40000 dport 80";

}  // namespace

BOOST_AUTO_TEST_SUITE(explain_kernel)

BOOST_AUTO_TEST_CASE(reads_members_local_addresses_and_the_main_table,
                     *boost::unit_test::label("kernel")) {
  Node node;
  // Before the policy is loaded: no members, said on stderr.
  Run before = node.ztc("explain " + shell_quote(kExample) + " --json " + kEnrolledTcp);
  BOOST_TEST(before.exit_code == 0);
  BOOST_TEST(before.err == "ztc: warning: table not loaded in namespace '" + node.name() +
                               "': no live members\n");
  BOOST_TEST(nlohmann::json::parse(before.out)["mark"] == "0x0");

  BOOST_TEST_REQUIRE(node.ztc("load " + shell_quote(kExample)).exit_code == 0);
  BOOST_TEST_REQUIRE(node.ztc("set add " + shell_quote(kExample) + " pods 10.244.1.5").exit_code ==
                     0);
  std::string state = node.state();

  nlohmann::json enrolled = node.explain(kEnrolledTcp);  // the member is read, not given
  BOOST_TEST(enrolled["mark"] == "0x100");
  BOOST_TEST(enrolled["route"]["dev"] == "istioout");

  nlohmann::json udp =
      node.explain("iif vethpod5 udp saddr 10.244.1.5 daddr 10.244.0.9 sport 40001 dport 53");
  BOOST_TEST(udp["mark"] == "0x220");
  BOOST_TEST(udp["ct_mark"] == "0x220");
  BOOST_TEST(udp["route"]["rule"] == 32766);
  BOOST_TEST(udp["route"]["table"] == "main");
  BOOST_TEST(udp["route"]["dev"] == "upl0");
  BOOST_TEST(udp["route"]["via"] == "192.168.50.130");

  nlohmann::json local =
      node.explain("iif vethpod5 tcp saddr 10.244.1.5 daddr 10.244.1.1 sport 40002 dport 10250");
  BOOST_TEST(local["verdict"] == "local");
  BOOST_TEST(local["route"]["table"] == "local");

  // The pod's route in table 100 is derived from the live member.
  nlohmann::json inbound =
      node.explain("iif upl0 tcp saddr 10.244.0.9 daddr 10.244.1.5 sport 40003 dport 8080");
  BOOST_TEST(inbound["route"]["table"] == "100");
  BOOST_TEST(inbound["route"]["dev"] == "istioin");
  BOOST_TEST(inbound["route"]["src"] == "10.244.1.1");

  nlohmann::json nowhere =
      node.explain("iif vethpod6 tcp saddr 10.244.1.6 daddr 172.16.0.1 sport 40004 dport 80");
  BOOST_TEST(nowhere["verdict"] == "unreachable");

  BOOST_TEST(node.state() == state);  // read only
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc
