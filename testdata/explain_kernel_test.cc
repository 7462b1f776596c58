// `ztc explain --netns`: the live members, local addresses and main table of
// a namespace the test creates (the example loaded, a pod enrolled), read
// without changing anything there.
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "backend/netns.h"
#include "testsupport/test_netns.h"

namespace ztc {
namespace {

const std::string kZtc = ZTC_BINARY;
const std::string kExample = std::string(ZTC_SOURCE_DIR) + "/examples/ambient-node.zt";

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class Node {
 public:
  Node() : netns_("ztc-explain") {
    must(
        "ip link add istioin type veth peer name pistioin && "
        "ip link add istioout type veth peer name pistioout && "
        "ip link add veth1ae58883 type veth peer name eth0z && "
        "ip link add upl0 type veth peer name uplz && "
        "for d in istioin pistioin istioout pistioout veth1ae58883 eth0z upl0 uplz; do "
        "ip link set $d up || exit 1; done && "
        "ip addr add 192.168.126.1/30 dev istioin && "
        "ip addr add 192.168.127.1/30 dev istioout && "
        "ip addr add 10.244.1.1/24 dev veth1ae58883 && "
        "ip addr add 192.168.50.131/24 dev upl0 && "
        "ip route add 10.244.0.0/24 via 192.168.50.130 dev upl0");
  }

  std::string must(const std::string& command) const {
    CommandResult result = netns_.run(command);
    BOOST_REQUIRE_MESSAGE(result.exit_code == 0, "`" << command << "` failed: " << result.output);
    return result.output;
  }

  // `ztc ARGS --netns NAME` from the root namespace, as a user would.
  Run ztc(const std::string& args) const {
    std::string err = "/tmp/ztc-explain-test-" + std::to_string(getpid()) + ".err";
    CommandResult result = run_command(shell_quote(kZtc) + " " + args + " --netns " +
                                       shell_quote(netns_.name()) + " 2>" + shell_quote(err));
    std::ifstream in(err);
    std::stringstream text;
    text << in.rdbuf();
    run_command("rm -f " + shell_quote(err));
    return {result.exit_code, result.output, text.str()};
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

  const std::string& name() const { return netns_.name(); }

 private:
  ScopedTestNetns netns_;
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
