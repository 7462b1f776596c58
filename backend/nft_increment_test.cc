#include "backend/nft_increment.h"

#include <boost/test/unit_test.hpp>

namespace ztc::nft {
namespace {

// As `nft -t -s list ruleset` prints them (nft 1.0.6).
const std::string kLive =
    "table ip other {\n"
    "\tchain c {\n"
    "\t}\n"
    "}\n"
    "table ip ztunnel {\n"
    "\tcomment \"managed by ztc\"\n"
    "\tset pods {\n"
    "\t\ttype ipv4_addr\n"
    "\t\tcomment \"ztc member routes: via 192.168.126.2 dev istioin table 100\"\n"
    "\t}\n"
    "\n"
    "\tset ports {\n"
    "\t\ttype inet_service\n"
    "\t\telements = { 80, 443 }\n"
    "\t}\n"
    "\n"
    "\tcounter seen {\n"
    "\t}\n"
    "\n"
    "\tchain prerouting {\n"
    "\t\ttype filter hook prerouting priority mangle; policy accept;\n"
    "\t\ttcp dport @ports jump helper\n"
    "\t}\n"
    "\n"
    "\tchain helper {\n"
    "\t\tmeta mark set 0x00000100\n"
    "\t}\n"
    "}\n";

std::string with(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  BOOST_REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

TableDefinitions ztunnel(const std::string& listing) {
  return table_definitions(listing, Family::ip, "ztunnel");
}

const std::set<std::string> kManaged{"pods"};

BOOST_AUTO_TEST_SUITE(nft_increment)

BOOST_AUTO_TEST_CASE(a_listing_splits_into_attributes_and_objects) {
  TableDefinitions table = ztunnel(kLive);
  BOOST_TEST(table.found);
  BOOST_TEST(table.attributes == std::vector<std::string>{"\tcomment \"managed by ztc\""});
  BOOST_REQUIRE(table.blocks.size() == 5u);
  BOOST_TEST(table.blocks[2].kind == "counter");
  BOOST_TEST(table.blocks[2].name == "seen");
  BOOST_TEST(table.blocks[4].text == "\tchain helper {\n\t\tmeta mark set 0x00000100\n\t}\n");
  BOOST_TEST(!table_definitions(kLive, Family::ip, "nope").found);
  BOOST_TEST(!table_definitions(kLive, Family::inet, "ztunnel").found);
}

BOOST_AUTO_TEST_CASE(managed_tables_are_those_with_the_owner_comment) {
  BOOST_TEST(managed_table_refs(kLive) == std::vector<std::string>{"ip ztunnel"});
}

BOOST_AUTO_TEST_CASE(an_unchanged_table_needs_no_transaction) {
  std::optional<Increment> increment =
      plan_increment(Family::ip, "ztunnel", ztunnel(kLive), ztunnel(kLive), kManaged, nullptr);
  BOOST_REQUIRE(increment.has_value());
  BOOST_TEST(increment->buffer == "");
  BOOST_TEST(increment->rollback == "");
  BOOST_TEST(increment->changes.empty());
}

BOOST_AUTO_TEST_CASE(a_changed_rule_refills_its_chain_only) {
  TableDefinitions wanted = ztunnel(with(kLive, "0x00000100", "0x00000200"));
  std::optional<Increment> increment =
      plan_increment(Family::ip, "ztunnel", ztunnel(kLive), wanted, kManaged, nullptr);
  BOOST_REQUIRE(increment.has_value());
  BOOST_TEST(increment->buffer ==
             "flush chain ip ztunnel helper\n"
             "table ip ztunnel {\n"
             "\tchain helper {\n\t\tmeta mark set 0x00000200\n\t}\n"
             "}\n");
  BOOST_TEST(increment->rollback ==
             "flush chain ip ztunnel helper\n"
             "table ip ztunnel {\n"
             "\tchain helper {\n\t\tmeta mark set 0x00000100\n\t}\n"
             "}\n");
  BOOST_TEST(increment->changes == std::vector<std::string>{"~ chain helper"});
}

BOOST_AUTO_TEST_CASE(chains_come_and_go_and_a_changed_set_refills_every_chain) {
  std::string wanted_text = with(kLive,
                                 "\tchain helper {\n"
                                 "\t\tmeta mark set 0x00000100\n"
                                 "\t}\n",
                                 "\tchain fresh {\n"
                                 "\t\taccept\n"
                                 "\t}\n");
  wanted_text = with(wanted_text, "jump helper", "jump fresh");
  wanted_text = with(wanted_text, "{ 80, 443 }", "{ 80 }");
  std::optional<Increment> increment = plan_increment(Family::ip, "ztunnel", ztunnel(kLive),
                                                      ztunnel(wanted_text), kManaged, nullptr);
  BOOST_REQUIRE(increment.has_value());
  // The counter and the managed set are not touched.
  BOOST_TEST(increment->buffer ==
             "flush chain ip ztunnel prerouting\n"
             "flush chain ip ztunnel helper\n"
             "delete set ip ztunnel ports\n"
             "delete chain ip ztunnel helper\n"
             "table ip ztunnel {\n"
             "\tset ports {\n\t\ttype inet_service\n\t\telements = { 80 }\n\t}\n"
             "\tchain fresh {\n\t\taccept\n\t}\n"
             "\tchain prerouting {\n"
             "\t\ttype filter hook prerouting priority mangle; policy accept;\n"
             "\t\ttcp dport @ports jump fresh\n"
             "\t}\n"
             "}\n");
  BOOST_TEST(increment->changes == (std::vector<std::string>{"~ set ports", "~ chain prerouting",
                                                             "+ chain fresh", "- chain helper"}));
}

BOOST_AUTO_TEST_CASE(what_only_a_whole_load_can_do_is_refused_with_the_reason) {
  std::string why;
  auto refused = [&](const std::string& wanted) {
    why.clear();
    return !plan_increment(Family::ip, "ztunnel", ztunnel(kLive), ztunnel(wanted), kManaged, &why);
  };
  BOOST_TEST(refused(with(kLive, "table 100", "table 200")));
  BOOST_TEST(why == "managed set pods changes its definition");
  BOOST_TEST(refused(with(kLive, "priority mangle", "priority raw")));
  BOOST_TEST(why == "chain prerouting changes its hook");
  BOOST_TEST(refused(with(kLive, "\tcomment \"managed by ztc\"\n",
                          "\tcomment \"managed by ztc\"\n\tflags dormant\n")));
  BOOST_TEST(why == "the table's attributes change");
  BOOST_TEST(refused(with(kLive, "set pods {", "set renamed {")));
  BOOST_TEST(why == "managed set pods is not in the policy");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc::nft
