#include "backend/nft_json_listing.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <utility>
#include <vector>

namespace ztc::nft {

BOOST_AUTO_TEST_SUITE(nft_json_listing)

BOOST_AUTO_TEST_CASE(set_listing_keeps_comments_and_quotes_names) {
  // Verbatim `nft -j list set` output of nft 1.0.6.
  std::vector<Element> pods = parse_set_elements_json(
      R"({"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", )"
      R"("json_schema_version": 1}}, {"set": {"family": "inet", "name": "pods", "table": "z", )"
      R"("type": "ipv4_addr", "handle": 1, "elem": [{"elem": {"val": "10.0.0.1", "comment": )"
      R"("uid-1"}}, "10.0.0.2"]}}]})");
  BOOST_TEST_REQUIRE(pods.size() == 2u);
  BOOST_TEST(pods[0].value == "10.0.0.1");
  BOOST_TEST(pods[0].comment == "uid-1");
  BOOST_TEST(pods[1].value == "10.0.0.2");
  BOOST_TEST(pods[1].comment == "");
  std::vector<Element> ifs = parse_set_elements_json(
      R"({"nftables": [{"set": {"family": "inet", "name": "ifs", "table": "z", )"
      R"("type": "ifname", "elem": ["veth.1", "istioin"]}}]})");
  BOOST_TEST_REQUIRE(ifs.size() == 2u);
  BOOST_TEST(ifs[0].value == "\"veth.1\"");
  std::vector<Element> ports = parse_set_elements_json(
      R"({"nftables": [{"set": {"type": "inet_service", "elem": [6081]}}]})");
  BOOST_TEST_REQUIRE(ports.size() == 1u);
  BOOST_TEST(ports[0].value == "6081");
  BOOST_TEST(parse_set_elements_json(R"({"nftables": [{"set": {"type": "ipv4_addr"}}]})").empty());
  BOOST_TEST(parse_set_elements_json("not json").empty());
}

BOOST_AUTO_TEST_CASE(table_sizes_count_top_level_objects_and_set_elements) {
  // Verbatim `nft -j -s list table ip z` of nft 1.0.6: a counter, two sets (one
  // empty), a map, two chains and two rules, one of them naming the counter.
  TableSizes sizes = parse_table_sizes_json(
      R"({"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", )"
      R"("json_schema_version": 1}}, {"table": {"family": "ip", "name": "z", "handle": 1}}, )"
      R"({"counter": {"family": "ip", "name": "prerouting_1", "table": "z", "handle": 3, )"
      R"("packets": 0, "bytes": 0}}, {"set": {"family": "ip", "name": "pods", "table": "z", )"
      R"("type": "ipv4_addr", "handle": 4, "elem": [{"elem": {"val": "10.0.0.1", "comment": )"
      R"("uid-1"}}, "10.0.0.2"]}}, {"set": {"family": "ip", "name": "empty", "table": "z", )"
      R"("type": "ipv4_addr", "handle": 5}}, {"map": {"family": "ip", "name": "ports", )"
      R"("table": "z", "type": "inet_service", "handle": 6, "map": "verdict"}}, {"chain": )"
      R"({"family": "ip", "table": "z", "name": "prerouting", "handle": 1, "type": "filter", )"
      R"("hook": "prerouting", "prio": -150, "policy": "accept"}}, {"chain": {"family": "ip", )"
      R"("table": "z", "name": "helper", "handle": 2}}, {"rule": {"family": "ip", "table": "z", )"
      R"("chain": "prerouting", "handle": 7, "expr": [{"match": {"op": "==", "left": )"
      R"({"payload": {"protocol": "ip", "field": "saddr"}}, "right": "@pods"}}, )"
      R"({"counter": "prerouting_1"}]}}, {"rule": {"family": "ip", "table": "z", "chain": )"
      R"("prerouting", "handle": 8, "expr": [{"match": {"op": "==", "left": {"payload": )"
      R"({"protocol": "ip", "field": "daddr"}}, "right": "10.0.0.9"}}, {"drop": null}]}}]})");
  BOOST_TEST(sizes.chains == 2u);
  BOOST_TEST(sizes.rules == 2u);
  BOOST_TEST(sizes.counters == 1u);
  using Sizes = std::vector<std::pair<std::string, size_t>>;
  BOOST_TEST((sizes.sets == Sizes{{"pods", 2}, {"empty", 0}}));
}

BOOST_AUTO_TEST_CASE(table_sizes_of_what_is_no_listing_are_zero) {
  for (const char* text : {"", "not json", "{}", R"({"nftables": 3})", R"([1, 2])",
                           R"({"nftables": [7, {"set": "x"}, {"chain": {}}]})"}) {
    BOOST_TEST_CONTEXT(text) {
      TableSizes sizes = parse_table_sizes_json(text);
      BOOST_TEST(sizes.rules == 0u);
      BOOST_TEST(sizes.counters == 0u);
      BOOST_TEST(sizes.sets.empty());
    }
  }
  BOOST_TEST(parse_table_sizes_json(R"({"nftables": [7, {"set": "x"}, {"chain": {}}]})").chains ==
             1u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc::nft
