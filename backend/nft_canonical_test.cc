// with_sorted_elements: what `ztc diff` compares, so that two sets holding
// the same elements in different hash orders list the same.
#include "backend/nft_canonical.h"

#include <boost/test/unit_test.hpp>
#include <string>

namespace ztc::nft {
namespace {

BOOST_AUTO_TEST_SUITE(nft_canonical)

BOOST_AUTO_TEST_CASE(elements_are_one_a_line_and_sorted) {
  // As nft 1.0.6 lists a hash set: several elements a line, in hash order.
  const std::string live =
      "table ip t {\n"
      "\tset pods {\n"
      "\t\ttype ipv4_addr\n"
      "\t\telements = { 10.0.0.3, 10.0.0.1 comment \"a, {b}\",\n"
      "\t\t\t     10.0.0.2 }\n"
      "\t}\n"
      "\tset ifs {\n"
      "\t\ttype ifname\n"
      "\t\telements = { \"b\", \"a\" }\n"
      "\t}\n"
      "}\n";
  const std::string scratch =
      "table ip t {\n"
      "\tset pods {\n"
      "\t\ttype ipv4_addr\n"
      "\t\telements = { 10.0.0.2, 10.0.0.3,\n"
      "\t\t\t     10.0.0.1 comment \"a, {b}\" }\n"
      "\t}\n"
      "\tset ifs {\n"
      "\t\ttype ifname\n"
      "\t\telements = { \"a\", \"b\" }\n"
      "\t}\n"
      "}\n";
  const std::string expected =
      "table ip t {\n"
      "\tset pods {\n"
      "\t\ttype ipv4_addr\n"
      "\t\telements = {\n"
      "\t\t\t10.0.0.1 comment \"a, {b}\",\n"
      "\t\t\t10.0.0.2,\n"
      "\t\t\t10.0.0.3,\n"
      "\t\t}\n"
      "\t}\n"
      "\tset ifs {\n"
      "\t\ttype ifname\n"
      "\t\telements = {\n"
      "\t\t\t\"a\",\n"
      "\t\t\t\"b\",\n"
      "\t\t}\n"
      "\t}\n"
      "}\n";
  BOOST_TEST(with_sorted_elements(live) == expected);
  BOOST_TEST(with_sorted_elements(scratch) == expected);
}

BOOST_AUTO_TEST_CASE(listings_without_elements_are_unchanged) {
  const std::string table =
      "table ip t {\n\tchain c {\n\t\tiifname { \"b\", \"a\" } return\n\t}\n}\n";
  BOOST_TEST(with_sorted_elements(table) == table);
  BOOST_TEST(with_sorted_elements("") == "");
  // An unbalanced block (a cut listing) is left as it is, not dropped.
  BOOST_TEST(with_sorted_elements("\t\telements = { 1, 2") == "\t\telements = { 1, 2");
}

// A dump of a hash set that met a resize lists some elements twice; the
// scratch listing is taken again until no element is.
BOOST_AUTO_TEST_CASE(an_element_listed_twice_is_seen_in_any_block) {
  const std::string settled =
      "table ip t {\n\tset a {\n\t\ttype ipv4_addr\n\t\telements = { 10.0.0.2, 10.0.0.1,\n"
      "\t\t\t     10.0.0.3 }\n\t}\n\tset b {\n\t\ttype ipv4_addr\n"
      "\t\telements = { 10.0.0.1 }\n\t}\n}\n";
  BOOST_TEST(!lists_an_element_twice(settled));  // the same element in two sets is fine
  const std::string twice =
      "table ip t {\n\tset a {\n\t\ttype ipv4_addr\n\t\telements = { 10.0.0.2, 10.0.0.1,\n"
      "\t\t\t     10.0.0.2 }\n\t}\n}\n";
  BOOST_TEST(lists_an_element_twice(twice));
  // Two equal rules are not elements.
  BOOST_TEST(
      !lists_an_element_twice("table ip t {\n\tchain c {\n\t\tcounter\n\t\tcounter\n\t}\n}\n"));
}

// As a fresh load lists the table, and as the kernel lists it after an
// incremental re-load added counter `a` and chain `input` last.
const char* const kFreshOrder =
    "table ip t {\n"
    "\tcomment \"managed by ztc\"\n"
    "\tcounter a {\n"
    "\t}\n"
    "\n"
    "\tcounter b {\n"
    "\t}\n"
    "\n"
    "\tchain input {\n"
    "\t\ttype filter hook input priority filter; policy accept;\n"
    "\t\tudp dport 2 counter name \"b\" accept\n"
    "\t}\n"
    "\n"
    "\tchain output {\n"
    "\t\tudp dport 9 counter name \"b\" accept\n"
    "\t\tudp dport 1 counter name \"a\" accept\n"
    "\t}\n"
    "}\n"
    "table ip6 other {\n"
    "\tchain z {\n"
    "\t}\n"
    "\n"
    "\tchain y {\n"
    "\t}\n"
    "}\n";
const char* const kReloadedOrder =
    "table ip t {\n"
    "\tcomment \"managed by ztc\"\n"
    "\tcounter b {\n"
    "\t}\n"
    "\n"
    "\tcounter a {\n"
    "\t}\n"
    "\n"
    "\tchain output {\n"
    "\t\tudp dport 9 counter name \"b\" accept\n"
    "\t\tudp dport 1 counter name \"a\" accept\n"
    "\t}\n"
    "\n"
    "\tchain input {\n"
    "\t\ttype filter hook input priority filter; policy accept;\n"
    "\t\tudp dport 2 counter name \"b\" accept\n"
    "\t}\n"
    "}\n"
    "table ip6 other {\n"
    "\tchain y {\n"
    "\t}\n"
    "\n"
    "\tchain z {\n"
    "\t}\n"
    "}\n";

BOOST_AUTO_TEST_CASE(objects_list_alike_whatever_order_they_were_added_in) {
  // Rules keep their order (it is the policy's); the other table's chains
  // are sorted too.
  const std::string sorted_other = "table ip6 other {\n\tchain y {\n\t}\n\n\tchain z {\n\t}\n}\n";
  std::string fresh = kFreshOrder;
  BOOST_TEST(with_sorted_objects(kReloadedOrder) ==
             fresh.substr(0, fresh.find("table ip6")) + sorted_other);
  BOOST_TEST(with_sorted_objects(kFreshOrder) == with_sorted_objects(kReloadedOrder));
}

BOOST_AUTO_TEST_CASE(a_sorted_listing_is_its_own_sorted_form) {
  const std::string sorted = with_sorted_objects(kFreshOrder);
  BOOST_TEST(with_sorted_objects(sorted) == sorted);
  BOOST_TEST(with_sorted_objects("") == "");
  // Lines outside tables, and a cut listing, are kept as they are.
  BOOST_TEST(with_sorted_objects("# comment\ntable ip t {\n\tchain b {\n") ==
             "# comment\ntable ip t {\n\tchain b {\n");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc::nft
