#include "model/routing_plan.h"

#include <boost/test/unit_test.hpp>

namespace ztc::route {
namespace {

IpPrefix ip(const std::string& text) {
  std::optional<IpPrefix> prefix = parse_ip_prefix(text);
  BOOST_REQUIRE(prefix.has_value());
  return *prefix;
}

// `route 100 for pods { member via 192.168.126.2 dev istioin src 10.244.1.1 }`
// and its IPv6 twin.
std::vector<DerivedRoutes> templates() {
  DerivedRoutes v4;
  v4.set = "pods";
  v4.route.table = 100;
  v4.route.via = ip("192.168.126.2");
  v4.route.device = "istioin";
  v4.route.source = ip("10.244.1.1");
  DerivedRoutes v6;
  v6.set = "pods";
  v6.route.family = IpFamily::v6;
  v6.route.table = 100;
  v6.route.via = ip("fd00:126::2");
  v6.route.device = "istioin";
  return {v4, v6};
}

BOOST_AUTO_TEST_SUITE(routing_plan)

BOOST_AUTO_TEST_CASE(a_member_gets_the_routes_of_its_set_and_family) {
  std::vector<Route> v4 = member_routes(templates(), "pods", "10.244.0.5");
  BOOST_REQUIRE(v4.size() == 1u);
  BOOST_TEST(describe(v4[0]) ==
             "-4 route 10.244.0.5 via 192.168.126.2 dev istioin src 10.244.1.1 table 100");
  std::vector<Route> v6 = member_routes(templates(), "pods", "fd00:10:244::5");
  BOOST_REQUIRE(v6.size() == 1u);
  BOOST_TEST(describe(v6[0]) == "-6 route fd00:10:244::5 via fd00:126::2 dev istioin table 100");
  BOOST_TEST(member_routes(templates(), "other", "10.244.0.5").empty());
  BOOST_TEST(member_routes(templates(), "pods", "\"istioin\"").empty());
}

BOOST_AUTO_TEST_CASE(member_routes_are_recognised_by_their_template) {
  const DerivedRoutes v4 = templates()[0];
  Route member = member_routes({v4}, "pods", "10.244.0.5")[0];
  BOOST_TEST(derived_from(v4, member));
  Route other = member;
  other.source.reset();
  BOOST_TEST(!derived_from(v4, other));  // another template's
  other = member;
  other.destination = ip("10.244.0.0/24");
  BOOST_TEST(!derived_from(v4, other));  // not a host: no member's
  other = member;
  other.table = 101;
  BOOST_TEST(!derived_from(v4, other));
  BOOST_TEST(!derived_from(templates()[1], member));
  BOOST_TEST((route_key(member) == RouteKey{IpFamily::v4, 100, ip("10.244.0.5"), 0}));
}

BOOST_AUTO_TEST_CASE(tables_are_named_as_iproute2_names_them) {
  BOOST_TEST(table_name(254) == "main");
  BOOST_TEST(table_name(255) == "local");
  BOOST_TEST(table_name(253) == "default");
  BOOST_TEST(table_name(100) == "100");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc::route
