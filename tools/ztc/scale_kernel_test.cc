// Correctness at size (a small version of tools/bench/scale.py): the ambient
// node example with 5k enrolled pods (initial members of the managed set
// `pods`, one derived route each) and an interface group of 1k names used in
// a capture rule, loaded by the real `ztc load --netns` into a throwaway
// namespace. Every member must be in the kernel's set and have its route in
// table 100; loading again must change nothing ("routing: 0 changes", the
// same listings). Timing is the benchmark's job, not this test's.
//
// Nothing here touches the root namespace: ztc enters the test's namespace
// (--netns), every other command runs through `ip netns exec`, and
// ScopedTestNetns deletes the namespace on every path out.
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend/netns.h"
#include "testsupport/ambient_node.h"
#include "testsupport/files.h"
#include "testsupport/test_netns.h"

namespace ztc {
namespace {

const std::string kZtc = ZTC_BINARY;
const std::string kExample = std::string(ZTC_SOURCE_DIR) + "/examples/ambient-node.zt";
constexpr int kPods = 5000;
constexpr int kInterfaces = 1000;

using testing::read_file;

std::vector<std::string> pod_addresses(int count) {  // 10.128.0.1, 10.128.0.2, ...
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    unsigned n = (10u << 24 | 128u << 16) + 1u + static_cast<unsigned>(i);
    out.push_back(std::to_string(n >> 24) + "." + std::to_string(n >> 16 & 255) + "." +
                  std::to_string(n >> 8 & 255) + "." + std::to_string(n & 255));
  }
  return out;
}

std::vector<std::string> veth_names(int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    char name[16];
    snprintf(name, sizeof name, "veth%08x", i);
    out.push_back(name);
  }
  return out;
}

// The example, as scale.py rewrites it: initial members, a group, a rule using both.
std::string scale_policy(const std::vector<std::string>& pods,
                         const std::vector<std::string>& veths) {
  std::string text = read_file(kExample);
  auto swap = [&](const std::string& from, const std::string& to) {
    size_t at = text.find(from);
    BOOST_REQUIRE_MESSAGE(at != std::string::npos, "not in the example: " << from);
    BOOST_REQUIRE_MESSAGE(text.find(from, at + 1) == std::string::npos,
                          "twice in the example: " << from);
    text.replace(at, from.size(), to);
  };
  std::string members;
  for (const std::string& pod : pods) members += "  " + pod + ",\n";
  swap("set pods: ipv4 managed ", "set pods: ipv4 managed = {\n" + members + "}\n");
  std::string group;
  for (const std::string& veth : veths) group += "  \"" + veth + "\",\n";
  swap("iface ztunnel    = ztunnel_veth\n",
       "iface ztunnel    = ztunnel_veth\ngroup pod_veths = {\n" + group + "}\n");
  swap("capture prerouting {\n", "capture prerouting {\n  iif pod_veths saddr @pods => counter\n");
  return text;
}

// The ambient node, with its views of a table at size.
class Node : public testing::AmbientNode {
 public:
  Node() : AmbientNode("ztc-scale") {}

  // `ztc load POLICY --netns NAME`: (exit code, stdout); stderr must be empty.
  std::pair<int, std::string> load(const std::string& policy) const {
    std::string err_file = policy + ".stderr";
    CommandResult result =
        run_command(shell_quote(kZtc) + " load " + shell_quote(policy) + " --netns " +
                    shell_quote(name()) + " 2>" + shell_quote(err_file));
    BOOST_TEST(read_file(err_file) == "");
    return {result.exit_code, result.output};
  }

  // The elements of a set of table ip ztunnel, as the kernel lists them.
  std::vector<std::string> set_elements(const std::string& set) const {
    auto listing = nlohmann::json::parse(must("nft -j list set ip ztunnel " + set));
    std::vector<std::string> out;
    for (const auto& item : listing.at("nftables")) {
      if (!item.contains("set")) continue;
      for (const auto& element : item["set"].value("elem", nlohmann::json::array())) {
        out.push_back(element.get<std::string>());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // The whole ruleset as JSON, without handles (a re-load builds the table
  // again) and with every set's elements sorted (a hash set built again may
  // list them in another order).
  std::string ruleset() const {
    auto listing = nlohmann::json::parse(must("nft -j list ruleset"));
    for (auto& item : listing.at("nftables")) {
      for (auto& [kind, object] : item.items()) {
        if (!object.is_object()) continue;
        object.erase("handle");
        if (kind == "set" && object.contains("elem")) {
          std::sort(object["elem"].begin(), object["elem"].end());
        }
      }
    }
    return listing.dump(1);
  }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(scale_kernel)

BOOST_AUTO_TEST_CASE(five_thousand_pods_load_and_reload_changes_nothing,
                     *boost::unit_test::label("kernel")) {
  std::vector<std::string> pods = pod_addresses(kPods);
  std::vector<std::string> veths = veth_names(kInterfaces);
  testing::TempDir scratch;
  std::string policy = scratch.write("scale.zt", scale_policy(pods, veths));
  Node node;

  auto [code, out] = node.load(policy);
  BOOST_REQUIRE_MESSAGE(code == 0, "ztc load failed:\n" << out);
  std::vector<std::string> output = lines_of(out);
  BOOST_REQUIRE(!output.empty());
  // Every member route, the example's five routes and four rules are new.
  BOOST_TEST(output[0].find("loaded table ip ztunnel; routing: ") == 0u);
  BOOST_TEST(output[0] != "loaded table ip ztunnel; routing: 0 changes");

  // Every member in the set, and nothing else.
  std::vector<std::string> expected = pods;
  std::sort(expected.begin(), expected.end());
  BOOST_TEST(node.set_elements("pods") == expected, boost::test_tools::per_element());
  std::vector<std::string> expected_veths = veths;
  std::sort(expected_veths.begin(), expected_veths.end());
  BOOST_TEST(node.set_elements("pod_veths").size() == expected_veths.size());
  BOOST_TEST(node.set_elements("pod_veths") == expected_veths);

  // One route per member in table 100, as the example's template says (their
  // own protocol), plus the example's own route to ztunnel.
  std::vector<std::string> routes = lines_of(node.must("ip -4 route show table 100 proto 123"));
  BOOST_TEST(routes.size() == pods.size());
  BOOST_TEST(lines_of(node.must("ip -4 route show table 100 proto 122")).size() == 1u);
  std::set<std::string> route_set(routes.begin(), routes.end());
  for (const std::string& pod : pods) {
    std::string want = pod + " via 192.168.126.2 dev istioin src 10.244.1.1 ";
    if (!route_set.count(want)) {
      // `ip` may print without the trailing space.
      std::string trimmed = want.substr(0, want.size() - 1);
      BOOST_TEST_REQUIRE(route_set.count(trimmed) == 1u, "no route for " << pod);
    }
  }
  BOOST_TEST(lines_of(node.must("ip -4 rule | grep ' proto 122'")).size() == 4u);

  // Loading again: no routing change, the same ruleset, rules and routes.
  std::string ruleset = node.ruleset();
  std::string rules = node.must("ip -4 rule");
  std::string all_routes = node.must("ip -4 route show table all");
  auto [code2, out2] = node.load(policy);
  BOOST_REQUIRE_MESSAGE(code2 == 0, "second ztc load failed:\n" << out2);
  BOOST_TEST(out2 ==
             "loaded table ip ztunnel (nft: 0 changes, members untouched); routing: 0 changes\n");
  BOOST_TEST(node.ruleset() == ruleset);
  BOOST_TEST(node.must("ip -4 rule") == rules);
  BOOST_TEST(node.must("ip -4 route show table all") == all_routes);
  BOOST_TEST(node.set_elements("pods").size() == pods.size());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc
