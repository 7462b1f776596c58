#include "tools/ztc/wording.h"

#include <boost/test/unit_test.hpp>

namespace ztc {

BOOST_AUTO_TEST_SUITE(wording)

BOOST_AUTO_TEST_CASE(one_is_singular_and_every_other_count_plural) {
  BOOST_TEST(plural(0, "route", "routes") == "0 routes");
  BOOST_TEST(plural(1, "route", "routes") == "1 route");
  BOOST_TEST(plural(2, "member kept", "members kept") == "2 members kept");
  BOOST_TEST(plural(100000, "change", "changes") == "100000 changes");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc
