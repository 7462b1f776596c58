// Every policy rule gets one named counter, however it is lowered, and its
// name is the rule's identity: stable when lines move, new when the rule
// changes.
#include "compiler/rule_counter_name.h"

#include <boost/test/unit_test.hpp>
#include <map>
#include <string>

#include "backend/nft_text.h"
#include "compiler/lower.h"
#include "testsupport/policies.h"

namespace ztc {
namespace {

nft::Table lowered(const std::string& source) { return lower(testing::checked_policy(source)); }

// "line:col -> counter name" for every counter of the table.
std::map<std::string, std::string> counters_by_line(const nft::Table& table) {
  std::map<std::string, std::string> out;
  for (const nft::NamedCounter& c : table.counters) {
    out[std::to_string(c.location.line) + ":" + std::to_string(c.location.column)] = c.name;
  }
  return out;
}

// Rules of the table that reference `counter`, as nft prints them.
std::vector<std::string> rules_counting(const nft::Table& table, const std::string& counter) {
  std::vector<std::string> out;
  for (const nft::Chain& chain : table.chains) {
    for (const nft::Rule& rule : chain.rules) {
      std::string text = nft::format_rule(table.family, rule);
      if (text.find("counter name \"" + counter + "\"") != std::string::npos) {
        out.push_back(chain.name + ": " + text);
      }
    }
  }
  return out;
}

const char* kPolicy =
    "table ip t\n"
    "mark skip = 0x200\n"
    "capture prerouting {\n"
    "  iif \"a\" => return\n"
    "  iif \"b\" => mark |= skip, return\n"
    "  iif \"c\" => return\n"
    "  tcp dport 80 => mark |= skip\n"
    "  tcp dport 80 => mark |= skip\n"
    "}\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(rule_counters)

BOOST_AUTO_TEST_CASE(each_rule_counts_once_however_it_is_lowered) {
  nft::Table table = lowered(kPolicy);
  std::map<std::string, std::string> names = counters_by_line(table);
  // Lines 4 and 6 share the verdict map's target (same actions): one counter
  // at the first, the other merged into it.
  BOOST_TEST(names.size() == 4u);
  BOOST_TEST_REQUIRE(table.counters[0].location.line == 4);
  BOOST_TEST_REQUIRE(table.counters[0].merged.size() == 1u);
  BOOST_TEST(table.counters[0].merged[0].line == 6);
  BOOST_TEST(rules_counting(table, names["4:3"]) ==
             std::vector<std::string>{"prerouting_iif_4_3: counter name \"" + names["4:3"] + "\""});
  BOOST_TEST(rules_counting(table, names["5:3"]) ==
             std::vector<std::string>{"prerouting_iif_5_3: counter name \"" + names["5:3"] +
                                      "\" meta mark set meta mark | 0x00000200"});
  BOOST_TEST(rules_counting(table, names["7:3"]) ==
             std::vector<std::string>{"prerouting: meta l4proto tcp th dport 80 counter name \"" +
                                      names["7:3"] + "\" meta mark set meta mark | 0x00000200"});
  // Two identical rules: the same identity, told apart by their ordinal.
  BOOST_TEST(names["8:3"] == names["7:3"] + "_2");
  BOOST_TEST(names["7:3"].rfind("prerouting_", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(a_name_follows_the_rule_not_its_line) {
  std::map<std::string, std::string> before = counters_by_line(lowered(kPolicy));
  std::string moved = kPolicy;
  moved.replace(moved.find("mark skip"), 0, "# a comment\n\n");
  std::map<std::string, std::string> after = counters_by_line(lowered(moved));
  BOOST_TEST(after["9:3"] == before["7:3"]);
  BOOST_TEST(after["10:3"] == before["8:3"]);
  BOOST_TEST(after["7:3"] == before["5:3"]);

  std::string changed = kPolicy;
  changed.replace(changed.find("dport 80"), 8, "dport 81");
  std::map<std::string, std::string> edited = counters_by_line(lowered(changed));
  BOOST_TEST(edited["7:3"] != before["7:3"]);
  BOOST_TEST(edited["8:3"] == before["7:3"]);  // now the first of its content
}

BOOST_AUTO_TEST_CASE(an_inet_rule_split_per_family_shares_its_counter) {
  nft::Table table = lowered(
      "table inet t\n"
      "nat prerouting {\n"
      "  tcp dport 15008 => no nat\n"
      "}\n");
  BOOST_TEST_REQUIRE(table.counters.size() == 1u);
  BOOST_TEST(rules_counting(table, table.counters[0].name).size() == 2u);
}

BOOST_AUTO_TEST_CASE(the_table_declares_every_counter_before_its_sets) {
  std::string text = nft::emit_text(lowered(kPolicy)).text;
  size_t counter = text.find("\tcounter prerouting_");
  BOOST_TEST_REQUIRE(counter != std::string::npos);
  BOOST_TEST(text.find("\tchain ") > counter);
  BOOST_TEST(text.substr(counter).find("{\n\t}\n") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc
