// The fixture itself: kernel tests compare listings taken before and after a
// command, so the node must hold still while nothing is done to it. Before the
// fixture quieted IPv6, link-local `local` routes appeared about a second
// after the links came up and made those comparisons flaky.
#include "testsupport/ambient_node.h"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <thread>

namespace ztc::testing {

BOOST_AUTO_TEST_SUITE(ambient_node)

BOOST_AUTO_TEST_CASE(the_node_holds_still_while_nothing_is_done_to_it,
                     *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-fixture");
  const std::string every_route = "ip -4 route show table all; ip -6 route show table all";
  const std::string before = node.must(every_route);
  const std::string filtered_before = node.routes();
  // Duplicate address detection takes one second (plus jitter) by default.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  BOOST_TEST(node.must(every_route) == before);
  BOOST_TEST(node.routes() == filtered_before);
  BOOST_TEST(filtered_before.find("proto kernel") == std::string::npos);
  BOOST_TEST(node.must("ip -6 addr show scope link") == "");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc::testing
