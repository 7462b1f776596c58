// The three forms of `ztc stats` for one set of numbers.
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include "testsupport/prometheus_parser.h"
#include "tools/ztc/stats_command.h"

namespace ztc {
namespace {

Stats sample_stats() {
  Stats stats;
  stats.table = "ip ztunnel";
  stats.loaded = true;
  stats.loaded_at = "2026-12-02T20:45:00Z";
  stats.loaded_fingerprint = "00112233aabbccdd";
  stats.policy_fingerprint = "00112233aabbccdd";
  stats.rules.push_back({"p.zt:30:3",
                         {"p.zt:31:3"},
                         "prerouting",
                         "prerouting_0a",
                         true,
                         12,
                         840,
                         "2026-12-02T20:00:00Z"});
  stats.rules.push_back({"p.zt:40:3", {}, "output", "output_0b", true, 1, 1, ""});
  stats.rules.push_back({"p.zt:41:3", {}, "output", "output_0c", false, 0, 0, ""});
  stats.sets.push_back({"pods", true, 3});
  stats.routes_per_table = {{100, 3}, {101, 2}};
  stats.ztc_ip_rules = 4;
  stats.drift = 0;
  stats.preflight_findings = 2;
  return stats;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(stats_output)

BOOST_AUTO_TEST_CASE(text) {
  BOOST_TEST(stats_text(sample_stats()) ==
             "table ip ztunnel: loaded, last load 2026-12-02T20:45:00Z, fingerprint "
             "00112233aabbccdd (this policy)\n"
             "rules:\n"
             "  p.zt:30:3 prerouting: 12 packets, 840 bytes, since 2026-12-02T20:00:00Z (with "
             "p.zt:31:3)\n"
             "  p.zt:40:3 output: 1 packet, 1 byte, since an unrecorded load\n"
             "  p.zt:41:3 output: not loaded\n"
             "sets:\n"
             "  pods: 3 elements\n"
             "routing (ztc's): 4 rules; table 100 3 routes; table 101 2 routes\n"
             "drift: none\n"
             "preflight: 2 findings\n");
}

BOOST_AUTO_TEST_CASE(json_has_rules_and_sets) {
  nlohmann::json document = nlohmann::json::parse(stats_json(sample_stats()));
  BOOST_TEST(document["rules"].size() == 3u);
  BOOST_TEST(document["rules"][0]["location"] == "p.zt:30:3");
  BOOST_TEST(document["rules"][0]["packets"] == 12);
  BOOST_TEST(document["rules"][0]["bytes"] == 840);
  BOOST_TEST(document["rules"][0]["merged"][0] == "p.zt:31:3");
  BOOST_TEST(document["rules"][1]["since"].is_null());
  BOOST_TEST(document["sets"][0]["name"] == "pods");
  BOOST_TEST(document["sets"][0]["elements"] == 3);
  BOOST_TEST(document["routes"][1]["table"] == 101);
  BOOST_TEST(document["drift"] == 0);
  BOOST_TEST(document["preflight_findings"] == 2);
  BOOST_TEST(document["last_load"] == "2026-12-02T20:45:00Z");
}

BOOST_AUTO_TEST_CASE(prometheus_passes_the_strict_reader) {
  std::string text = stats_prometheus(sample_stats());
  std::string error;
  auto parsed = testing::parse_prometheus_text(text, &error);
  BOOST_REQUIRE_MESSAGE(parsed, error << "\n" << text);
  std::map<std::string, std::string> rule = {
      {"table", "ip ztunnel"}, {"location", "p.zt:30:3"}, {"hook", "prerouting"}};
  BOOST_TEST(*parsed->value("ztc_rule_packets_total", rule) == 12);
  BOOST_TEST(*parsed->value("ztc_rule_bytes_total", rule) == 840);
  BOOST_TEST(*parsed->value("ztc_rule_reset_timestamp_seconds", rule) == 1796241600);
  // A counter the table does not hold is no series (not a zero).
  BOOST_TEST(
      !parsed->value("ztc_rule_packets_total",
                     {{"table", "ip ztunnel"}, {"location", "p.zt:41:3"}, {"hook", "output"}}));
  BOOST_TEST(*parsed->value("ztc_set_elements", {{"table", "ip ztunnel"}, {"set", "pods"}}) == 3);
  BOOST_TEST(*parsed->value("ztc_routes", {{"route_table", "100"}}) == 3);
  BOOST_TEST(*parsed->value("ztc_last_load_timestamp_seconds", {{"table", "ip ztunnel"}}) ==
             1796244300);
  BOOST_TEST(*parsed->value("ztc_drift_lines", {{"table", "ip ztunnel"}}) == 0);
  BOOST_TEST(parsed->types.at("ztc_rule_bytes_total") == "counter");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc
