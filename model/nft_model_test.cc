#include "model/nft_model.h"

#include <boost/test/unit_test.hpp>

namespace ztc::nft {

BOOST_AUTO_TEST_SUITE(nft_model)

BOOST_AUTO_TEST_CASE(tables_and_objects_are_named_as_nft_names_them) {
  BOOST_TEST(table_spec(Family::ip, "ztunnel") == "ip ztunnel");
  BOOST_TEST(table_spec(Family::inet, "ztunnel") == "inet ztunnel");
  BOOST_TEST(object_spec(Family::ip6, "ztunnel", "pods") == "ip6 ztunnel pods");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc::nft
