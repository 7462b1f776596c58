#include "backend/counter_values.h"

#include <boost/test/unit_test.hpp>

#include "backend/nft_text.h"

namespace ztc::nft {

BOOST_AUTO_TEST_SUITE(counter_values)

// As nft 1.0.6 lists a table with values (checked in a namespace).
const char* kListing =
    "table ip t {\n"
    "\tcomment \"managed by ztc\"\n"
    "\tcounter output_0123456789ab {\n"
    "\t\tpackets 5 bytes 300\n"
    "\t}\n"
    "\n"
    "\tcounter output_0123456789ab_2 {\n"
    "\t\tpackets 18446744073709551615 bytes 7\n"
    "\t}\n"
    "\n"
    "\tcounter stateless_one {\n"
    "\t}\n"
    "\n"
    "\tchain output {\n"
    "\t\ttype route hook output priority mangle; policy accept;\n"
    "\t\tudp dport 9001 counter name \"output_0123456789ab\" meta mark set meta mark | "
    "0x00000010\n"
    "\t\tcounter packets 9 bytes 9\n"
    "\t}\n"
    "}\n";

BOOST_AUTO_TEST_CASE(reads_the_objects_not_the_rules) {
  std::map<std::string, CounterValue> counters = counters_in_listing(kListing);
  BOOST_TEST_REQUIRE(counters.size() == 3u);
  BOOST_TEST(counters["output_0123456789ab"].packets == 5u);
  BOOST_TEST(counters["output_0123456789ab"].bytes == 300u);
  BOOST_TEST(counters["output_0123456789ab_2"].packets == 18446744073709551615ULL);
  BOOST_TEST(counters["stateless_one"].packets == 0u);
}

BOOST_AUTO_TEST_CASE(carries_the_values_of_counters_the_table_keeps) {
  Table table;
  table.name = "t";
  table.counters.push_back({"output_0123456789ab", {}, {}, 0, 0});
  table.counters.push_back({"output_new", {}, {}, 0, 0});
  std::vector<std::string> carried = carry_counters(&table, counters_in_listing(kListing));
  BOOST_TEST(carried == std::vector<std::string>{"output_0123456789ab"});
  BOOST_TEST(table.counters[0].packets == 5u);
  BOOST_TEST(table.counters[0].bytes == 300u);
  BOOST_TEST(table.counters[1].packets == 0u);
  // The load buffer starts the kept counter at its value, the new one at zero.
  std::string text = emit_text(table).text;
  BOOST_TEST(text.find("\tcounter output_0123456789ab {\n\t\tpackets 5 bytes 300\n\t}\n") !=
             std::string::npos);
  BOOST_TEST(text.find("\tcounter output_new {\n\t}\n") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc::nft
