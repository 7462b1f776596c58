// `ztc stats` on a namespace the test creates: probes sent inside it move the
// counters of exactly the rules they match (a plain rule, a verdict-map
// target), a re-load of an edited policy keeps the counters of the rules it
// did not change, and --prometheus passes a strict reader of the format.
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "testsupport/ambient_node.h"
#include "testsupport/files.h"
#include "testsupport/prometheus_parser.h"

namespace ztc {
namespace {

using testing::AmbientNode;
using testing::TempDir;
using testing::ZtcRun;

// Line numbers matter: the test finds rules by location.
const char* kPolicy =
    "table ip obs\n"                                // 1
    "mark seen = 0x10\n"                            // 2
    "capture prerouting {\n"                        // 3
    "  iif \"lo\" => return\n"                      // 4  (a verdict map: two targets)
    "  iif \"obsdummy\" => mark |= seen, return\n"  // 5
    "}\n"                                           // 6
    "capture output {\n"                            // 7
    "  udp dport 9001 => mark |= seen\n"            // 8
    "  udp dport 9002 => mark |= seen\n"            // 9
    "  tcp dport 9003 => return\n"                  // 10
    "}\n";

// Datagrams of `size` payload bytes from the namespace to itself, each port
// with a socket bound so no ICMP error travels back; bounded by the count.
std::string send_datagrams(const std::vector<std::pair<int, int>>& port_counts, int size) {
  std::string script =
      "import socket\n"
      "receivers = []\n"
      "sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n";
  for (const auto& [port, count] : port_counts) {
    script += "r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(('127.0.0.1', " +
              std::to_string(port) + ")); receivers.append(r)\n";
    script += "for _ in range(" + std::to_string(count) + "): sender.sendto(b'x' * " +
              std::to_string(size) + ", ('127.0.0.1', " + std::to_string(port) + "))\n";
  }
  return "timeout 10 python3 -c \"" + script + "\"";
}

nlohmann::json stats_json(const AmbientNode& node, const std::string& policy) {
  ZtcRun run = node.ztc("stats " + policy + " --json");
  BOOST_REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  return nlohmann::json::parse(run.out);
}

// The one rule entry at `location` in chain `hook`.
nlohmann::json rule_at(const nlohmann::json& stats, const std::string& location,
                       const std::string& hook) {
  for (const auto& rule : stats["rules"]) {
    if (rule["location"] == location && rule["hook"] == hook) return rule;
  }
  BOOST_FAIL("no rule at " + location + " in " + hook + ": " + stats.dump());
  return {};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(stats_kernel)

BOOST_AUTO_TEST_CASE(counters_move_on_the_rules_probes_hit_and_survive_a_reload,
                     *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-stats");
  node.must("ip link set lo up");
  TempDir dir;
  std::string policy = dir.write("p.zt", kPolicy);
  ZtcRun load = node.ztc("load " + policy);
  BOOST_REQUIRE_MESSAGE(load.exit_code == 0, load.err);

  node.must(send_datagrams({{9001, 3}, {9002, 1}}, 100));
  nlohmann::json stats = stats_json(node, policy);
  const std::string p = policy + ":";
  // IPv4 20 + UDP 8 + 100 bytes of payload per packet.
  BOOST_TEST(rule_at(stats, p + "8:3", "output")["packets"] == 3);
  BOOST_TEST(rule_at(stats, p + "8:3", "output")["bytes"] == 3 * 128);
  BOOST_TEST(rule_at(stats, p + "9:3", "output")["packets"] == 1);
  BOOST_TEST(rule_at(stats, p + "10:3", "output")["packets"] == 0);
  // Every probe arrived on lo: the verdict map's target for line 4 counted
  // them, the other target nothing.
  BOOST_TEST(rule_at(stats, p + "4:3", "prerouting")["packets"] == 4);
  BOOST_TEST(rule_at(stats, p + "5:3", "prerouting")["packets"] == 0);
  BOOST_TEST(stats["table"] == "ip obs");
  BOOST_TEST(stats["loaded"] == true);
  BOOST_TEST(stats["drift"] == 0);
  BOOST_TEST(stats["loaded_fingerprint"] == stats["policy_fingerprint"]);
  std::string first_since = rule_at(stats, p + "8:3", "output")["since"];

  // A rule added on top moves every line down by one; the changed rule
  // (9002 -> 9012) starts again, the others keep counting.
  std::string edited = testing::replaced_once(
      kPolicy, {{"capture output {\n", "capture output {\n  udp dport 9009 => return\n"},
                {"udp dport 9002", "udp dport 9012"}});
  dir.write("p.zt", edited);
  load = node.ztc("load " + policy);
  BOOST_REQUIRE_MESSAGE(load.exit_code == 0, load.err);
  // Counters kept by the incremental re-load, which leaves them in place.
  BOOST_TEST(load.out.find(", members untouched)") != std::string::npos, load.out);
  node.must(send_datagrams({{9001, 1}}, 100));
  stats = stats_json(node, policy);
  BOOST_TEST(rule_at(stats, p + "8:3", "output")["packets"] == 0);  // the new rule
  BOOST_TEST(rule_at(stats, p + "9:3", "output")["packets"] == 4);  // 9001, moved down
  BOOST_TEST(rule_at(stats, p + "9:3", "output")["since"] == first_since);
  BOOST_TEST(rule_at(stats, p + "10:3", "output")["packets"] == 0);  // 9012: new
  BOOST_TEST(rule_at(stats, p + "4:3", "prerouting")["packets"] == 5);
  BOOST_TEST(stats["drift"] == 0);

  // The same numbers in Prometheus text, which a strict reader accepts.
  ZtcRun prom = node.ztc("stats " + policy + " --prometheus");
  BOOST_REQUIRE_MESSAGE(prom.exit_code == 0, prom.err);
  std::string error;
  auto parsed = testing::parse_prometheus_text(prom.out, &error);
  BOOST_REQUIRE_MESSAGE(parsed, error << "\n" << prom.out);
  auto value = parsed->value("ztc_rule_packets_total",
                             {{"table", "ip obs"}, {"location", p + "9:3"}, {"hook", "output"}});
  BOOST_TEST_REQUIRE(value.has_value());
  BOOST_TEST(*value == 4);
  BOOST_TEST(parsed->types.at("ztc_rule_packets_total") == "counter");

  ZtcRun status = node.ztc("status --json");
  BOOST_REQUIRE_MESSAGE(status.exit_code == 0, status.err);
  nlohmann::json status_json = nlohmann::json::parse(status.out);
  BOOST_TEST(status_json["tables"].size() == 1u);
  BOOST_TEST(status_json["tables"][0]["table"] == "ip obs");
  BOOST_TEST(status_json["tables"][0]["counters"] == 6);
  BOOST_TEST(status_json["tables"][0]["fingerprint"] == stats["policy_fingerprint"]);
}

// The example policy on the ambient node: one datagram the node sends to
// itself moves the counters of exactly the rules `ztc explain` says it takes
// (out through output, back in on lo through prerouting and input).
BOOST_AUTO_TEST_CASE(counters_move_on_the_rules_explain_predicts,
                     *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-stats");
  node.must("ip link set lo up");
  const std::string example = shell_quote(testing::example_path("ambient-node"));
  ZtcRun load = node.ztc("load " + example);
  BOOST_REQUIRE_MESSAGE(load.exit_code == 0, load.err);
  nlohmann::json before = stats_json(node, example);
  node.must(
      "timeout 10 python3 -c \"import socket\n"
      "r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(('10.244.1.1', 9999))\n"
      "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('10.244.1.1', 40000))\n"
      "s.sendto(b'x', ('10.244.1.1', 9999))\n\"");
  nlohmann::json after = stats_json(node, example);

  // file:line of every rule whose counter moved (explain names lines, not columns).
  auto line_of = [](const std::string& location) {
    return location.substr(0, location.rfind(':'));
  };
  std::set<std::string> rules, moved;
  BOOST_TEST_REQUIRE(before["rules"].size() == after["rules"].size());
  for (size_t i = 0; i < after["rules"].size(); ++i) {
    std::string where = line_of(after["rules"][i]["location"]);
    rules.insert(where);
    uint64_t delta = after["rules"][i]["packets"].get<uint64_t>() -
                     before["rules"][i]["packets"].get<uint64_t>();
    if (delta > 0) moved.insert(where + " " + after["rules"][i]["hook"].get<std::string>());
    BOOST_TEST(delta <= 1u, where);
  }
  ZtcRun explained =
      node.ztc("explain " + example + " --json local udp saddr 10.244.1.1 daddr 10.244.1.1 " +
               "sport 40000 dport 9999");
  BOOST_REQUIRE_MESSAGE(explained.exit_code == 0, explained.err);
  std::set<std::string> predicted;
  const nlohmann::json explanation = nlohmann::json::parse(explained.out);
  for (const auto& step : explanation["steps"]) {
    if (!step.value("matched", false) || !step["location"].is_string()) continue;
    std::string where = step["location"];
    if (rules.count(where)) predicted.insert(where + " " + step["hook"].get<std::string>());
  }
  std::string both;
  for (const std::string& m : moved) both += "moved " + m + "\n";
  for (const std::string& p : predicted) both += "explain " + p + "\n";
  BOOST_TEST(predicted.size() >= 2u, both);
  BOOST_TEST((moved == predicted), both);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc
