#include "backend/nft_set_listing.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

namespace ztc::nft {

BOOST_AUTO_TEST_SUITE(nft_set_listing)

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

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc::nft
