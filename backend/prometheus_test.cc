// The exposition writer, read back by the tests' strict parser; and the
// parser itself refusing what the format does not allow.
#include "backend/prometheus.h"

#include <boost/test/unit_test.hpp>

#include "testsupport/prometheus_parser.h"

namespace ztc::prometheus {

BOOST_AUTO_TEST_SUITE(prometheus)

BOOST_AUTO_TEST_CASE(writes_help_type_and_escaped_samples) {
  Family packets{"ztc_rule_packets_total", "counter", "Packets \\ of a rule\nper line", {}};
  packets.samples.push_back(
      {{{"table", "ip t"}, {"location", "dir \"x\"\\p.zt:3:1\n"}}, value(uint64_t{12})});
  Family empty{"ztc_nothing", "gauge", "left out", {}};
  Family ratio{"ztc_ratio", "gauge", "a float", {{{}, value(0.5)}}};
  std::string text = exposition({packets, empty, ratio});
  BOOST_TEST(text ==
             "# HELP ztc_rule_packets_total Packets \\\\ of a rule\\nper line\n"
             "# TYPE ztc_rule_packets_total counter\n"
             "ztc_rule_packets_total{table=\"ip t\",location=\"dir \\\"x\\\"\\\\p.zt:3:1\\n\"} 12\n"
             "# HELP ztc_ratio a float\n"
             "# TYPE ztc_ratio gauge\n"
             "ztc_ratio 0.5\n");
  std::string error;
  auto parsed = testing::parse_prometheus_text(text, &error);
  BOOST_REQUIRE_MESSAGE(parsed, error);
  BOOST_TEST(*parsed->value("ztc_rule_packets_total",
                            {{"table", "ip t"}, {"location", "dir \"x\"\\p.zt:3:1\n"}}) == 12);
  BOOST_TEST(parsed->help.at("ztc_rule_packets_total") == "Packets \\ of a rule\nper line");
}

BOOST_AUTO_TEST_CASE(the_strict_parser_refuses_what_the_format_does_not_allow) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"a 1", "the text does not end in a newline"},
      {"# TYPE a counter\na 1\n", "line 1: counter a does not end in _total"},
      {"# TYPE a_total counter\n# TYPE a_total counter\n", "line 2: second TYPE for a_total"},
      {"a 1\n# TYPE a gauge\n", "line 2: TYPE after samples of a"},
      {"a 1\nb 1\na{x=\"1\"} 2\n", "line 3: samples of a in two blocks"},
      {"a{x=\"1\"} 1\na{x=\"1\"} 2\n", "line 2: series a twice"},
      {"a{x=\"1\",x=\"2\"} 1\n", "line 1: label x twice"},
      {"a{__x=\"1\"} 1\n", "line 1: label __x is reserved"},
      {"a{x=\"\\t\"} 1\n", "line 1: invalid escape in x"},
      {"a{x=1} 1\n", "line 1: label x has no quoted value"},
      {"a 1x\n", "line 1: invalid value '1x'"},
      {"1a 1\n", "line 1: no metric name"},
      {"# TYPE a_total counter\na_total -1\n", "line 2: negative counter a_total"},
      {"# TYPE a gauge\n# HELP a x\n# HELP a y\n", "line 3: second HELP for a"},
      {"# TYPE a meter\n", "line 1: unknown type 'meter'"},
  };
  for (const Case& c : cases) {
    std::string error;
    BOOST_TEST(!testing::parse_prometheus_text(c.text, &error).has_value(), c.text);
    BOOST_TEST(error == c.error, c.text);
  }
  std::string error;
  BOOST_TEST(testing::parse_prometheus_text(
                 "# comment\n\n# HELP a_total x\n# TYPE a_total counter\na_total{x=\"\"} 1e3 "
                 "1700000000\nb NaN\nc +Inf\n",
                 &error)
                 .has_value(),
             error);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc::prometheus
