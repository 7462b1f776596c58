// Kernel refusals of policies the checker accepts: `ztc load` reports each at
// the policy line that asked for it, with the kernel's (or nft's) own reason,
// and leaves the node exactly as it was: the previous policy still loaded and
// `ztc diff` of it clean, or, on a first load, nothing of ztc's at all.
// Throwaway network namespaces shaped like an ambient node, as in
// load_kernel_test.cc; each is deleted when its test ends, failed or not.
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "backend/netns.h"
#include "testsupport/ambient_node.h"
#include "testsupport/files.h"

namespace ztc {
namespace {

const std::string kZtc = ZTC_BINARY;
const std::string kExample = std::string(ZTC_SOURCE_DIR) + "/examples/ambient-node.zt";

using testing::read_file;
using testing::TempDir;
using Run = testing::ZtcRun;

// The example with `from` (present exactly once) replaced by `to`.
std::string example_with(const std::string& from, const std::string& to) {
  return testing::replaced_once(read_file(kExample), {{from, to}});
}

class Node : public testing::AmbientNode {
 public:
  Node() : AmbientNode("ztc-refusal") {}

  // Everything a load could change, as the standard tools print it.
  std::string snapshot() const {
    return must("nft -s list ruleset; ip -4 rule; ip -6 rule") + routes() + sysctls();
  }

  // ztc's rules and routes (protocols 122, 123) and its table.
  std::string owned() const {
    return must(
        "{ ip -4 rule; ip -6 rule; ip -4 route show table all; ip -6 route show table all; } | "
        "grep -E ' proto (122|0x7a)' || true; nft list tables | grep ztunnel || true");
  }
};

// 1-based number of the line of `text` holding `needle`, and that line.
std::pair<int, std::string> line_of(const std::string& text, const std::string& needle) {
  std::istringstream lines(text);
  int number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    if (line.find(needle) != std::string::npos) return {number, line};
  }
  BOOST_FAIL("no line with " << needle);
  return {0, ""};
}

// Loads `previous` (unless empty), then `refused`, which the kernel must
// refuse with `reason` at the line holding `needle`; the node must end as it was.
void expect_refused(const std::string& previous, const std::string& refused,
                    const std::string& needle, const std::string& reason) {
  TempDir dir;
  Node node;
  std::string previous_path;
  if (!previous.empty()) {
    previous_path = dir.write("previous.zt", previous);
    Run loaded = node.ztc("load " + shell_quote(previous_path));
    BOOST_REQUIRE_MESSAGE(loaded.exit_code == 0, loaded.err);
  }
  const std::string before = node.snapshot();
  const std::string path = dir.write("refused.zt", refused);
  CommandResult compiled =
      run_command(shell_quote(kZtc) + " compile " + shell_quote(path) + " -o /dev/null");
  BOOST_REQUIRE_MESSAGE(compiled.exit_code == 0, "the checker must accept it: " << compiled.output);

  Run load = node.ztc("load " + shell_quote(path));
  BOOST_TEST(load.exit_code == 1);
  auto [line, text] = line_of(refused, needle);
  std::istringstream err(load.err);
  std::string first, source;
  std::getline(err, first);
  std::getline(err, source);
  const std::string at = path + ":" + std::to_string(line) + ":";
  BOOST_TEST(first.compare(0, at.size(), at) == 0, first << " is not at " << at);
  BOOST_TEST(first.find(": error: ") != std::string::npos, first);
  BOOST_TEST(first.find(reason) != std::string::npos, first << " does not give " << reason);
  BOOST_TEST(source == "    " + text);
  BOOST_TEST(load.err.find("ztc: load failed; the node was left as it was\n") != std::string::npos,
             load.err);
  BOOST_TEST(node.snapshot() == before);
  if (!previous.empty()) {
    Run diff = node.ztc("diff --members " + shell_quote(previous_path));
    BOOST_TEST(diff.exit_code == 0, diff.out << diff.err);
  } else {
    BOOST_TEST(node.owned() == "");
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(refusal_kernel)

BOOST_AUTO_TEST_CASE(a_gateway_not_on_the_device_is_refused_at_its_route,
                     *boost::unit_test::label("kernel")) {
  expect_refused(read_file(kExample),
                 example_with("default via istioout_peer dev tunnel_out",
                              "default via 192.0.2.1 dev tunnel_out"),
                 "default via 192.0.2.1", "Nexthop has invalid gateway");
}

BOOST_AUTO_TEST_CASE(a_source_address_the_node_does_not_have_is_refused,
                     *boost::unit_test::label("kernel")) {
  expect_refused(read_file(kExample),
                 example_with("route 100 {\n  ztunnel_ip dev ztunnel scope link\n",
                              "route 100 {\n  ztunnel_ip dev ztunnel scope link src 192.0.2.9\n"),
                 "src 192.0.2.9", "Invalid prefsrc address");
}

BOOST_AUTO_TEST_CASE(a_gateway_on_a_host_scope_route_is_refused,
                     *boost::unit_test::label("kernel")) {
  expect_refused(read_file(kExample),
                 example_with("default via ztunnel_ip dev ztunnel onlink",
                              "default via ztunnel_ip dev ztunnel scope host"),
                 "scope host", "Route with host scope can not have a gateway");
}

BOOST_AUTO_TEST_CASE(a_sysctl_of_a_missing_device_is_refused, *boost::unit_test::label("kernel")) {
  expect_refused(read_file(kExample),
                 example_with("sysctl ztunnel, tunnel_in, tunnel_out { accept_local = 1 }",
                              "sysctl ztunnel, \"nosuchdev\" { accept_local = 1 }"),
                 "\"nosuchdev\"", "nosuchdev");
}

// Nested prefixes in an interval set compiled and then failed in nft
// ("conflicting intervals specified"); the checker refuses them now, so they
// never reach the kernel: the previous table stays, nothing is written.
BOOST_AUTO_TEST_CASE(nested_prefixes_in_a_set_never_reach_the_kernel,
                     *boost::unit_test::label("kernel")) {
  TempDir dir;
  Node node;
  Run loaded = node.ztc("load " + shell_quote(dir.write("previous.zt", read_file(kExample))));
  BOOST_REQUIRE_MESSAGE(loaded.exit_code == 0, loaded.err);
  // ztc's own state (the kernel adds IPv6 link-local routes on new veths at
  // any time, so the whole routing table is no fixed point here).
  auto state = [&] { return node.must("nft -s list ruleset") + node.owned(); };
  const std::string before = state();
  const std::string path =
      dir.write("refused.zt", example_with("set pods: ipv4 managed",
                                           "set pods: ipv4 managed\nset nets: ipv4net = { "
                                           "10.0.0.0/8, 10.1.0.0/16 }\ncapture input { saddr "
                                           "@nets => counter }"));
  Run load = node.ztc("load " + shell_quote(path));
  BOOST_TEST(load.exit_code == 1);
  auto [line, text] = line_of(read_file(path), "set nets");
  BOOST_TEST(load.err == path + ":" + std::to_string(line) +
                             ":35: error: element '10.1.0.0/16' of set 'nets' is inside "
                             "'10.0.0.0/8' (line " +
                             std::to_string(line) +
                             "): nft cannot load nested prefixes in one set; keep the wider one\n"
                             "    " +
                             text + "\n" + std::string(4 + 34, ' ') + "^\n");
  BOOST_TEST(state() == before);
}

BOOST_AUTO_TEST_CASE(a_refused_first_load_leaves_nothing_of_ztc,
                     *boost::unit_test::label("kernel")) {
  expect_refused("",
                 example_with("default via istioout_peer dev tunnel_out",
                              "default via 192.0.2.1 dev tunnel_out"),
                 "default via 192.0.2.1", "Nexthop has invalid gateway");
}

// Table numbers are 32 bits and the kernel takes all of them but 0 (which the
// checker refuses): the highest one loads, diffs clean and unloads.
BOOST_AUTO_TEST_CASE(the_highest_table_number_loads_and_unloads,
                     *boost::unit_test::label("kernel")) {
  TempDir dir;
  Node node;
  std::string path =
      dir.write("max.zt", example_with("rule 103 lookup 100\n", "rule 103 lookup 4294967295\n") +
                              "route 4294967295 { default via ztunnel_ip dev ztunnel onlink }\n");
  Run load = node.ztc("load " + shell_quote(path));
  BOOST_TEST(load.exit_code == 0, load.err);
  BOOST_TEST(node.must("ip route show table 4294967295") ==
             "default via 10.244.1.2 dev veth1ae58883 proto 122 onlink \n");
  BOOST_TEST(node.must("ip rule list priority 103") ==
             "103:\tfrom all lookup 4294967295 proto 122\n");
  Run diff = node.ztc("diff --members " + shell_quote(path));
  BOOST_TEST(diff.exit_code == 0, diff.out << diff.err);
  Run unload = node.ztc("unload " + shell_quote(path));
  BOOST_TEST(unload.exit_code == 0, unload.err);
  BOOST_TEST(node.owned() == "");

  std::string zero =
      dir.write("zero.zt", example_with("rule 103 lookup 100\n", "rule 103 lookup 0\n"));
  Run refused = node.ztc("load " + shell_quote(zero));
  BOOST_TEST(refused.exit_code == 1);
  BOOST_TEST(refused.err.find("error: routing table 0 does not exist (use 1 to 4294967295)") !=
             std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc
