#include "model/values.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <utility>

namespace ztc {
namespace {

using Split = std::optional<std::pair<std::string, std::string>>;

BOOST_AUTO_TEST_SUITE(values_text)

BOOST_AUTO_TEST_CASE(hex_prints_as_ip_rule_and_nft_do) {
  BOOST_TEST(hex(0) == "0x0");
  BOOST_TEST(hex(0x100) == "0x100");
  BOOST_TEST(hex(0xffffffffu) == "0xffffffff");
}

BOOST_AUTO_TEST_CASE(name_value_splits_at_the_first_equals_sign) {
  BOOST_TEST((split_name_value("NODE_IP=10.0.0.1") == Split({"NODE_IP", "10.0.0.1"})));
  BOOST_TEST((split_name_value("A=b=c") == Split({"A", "b=c"})));
  BOOST_TEST((split_name_value("EMPTY=") == Split({"EMPTY", ""})));
  BOOST_TEST(!split_name_value("=value"));
  BOOST_TEST(!split_name_value("NAME"));
  BOOST_TEST(!split_name_value(""));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc
