#include "testsupport/fake_nft_kernel.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

namespace ztc::nft {

BOOST_AUTO_TEST_SUITE(fake_nft_kernel)

BOOST_AUTO_TEST_CASE(fake_records_and_fails_on_demand) {
  FakeNftKernel fake;
  fake.fail_call(2, "Error: boom\n");
  BOOST_TEST(fake.run("a", false).success);
  ApplyResult failed = fake.run("b", false);
  BOOST_TEST(!failed.success);
  BOOST_TEST(failed.error == "Error: boom\n");
  BOOST_TEST(fake.run("c", true).success);
  BOOST_TEST(fake.calls.size() == 3u);
  BOOST_TEST(fake.committed == std::vector<std::string>{"a"});
  fake.set_elements["ip ztunnel pods"] = {{"10.0.0.1", "uid"}};
  BOOST_TEST(fake.list_set_elements(Family::ip, "ztunnel", "pods").size() == 1u);
  BOOST_TEST(!fake.list_table(Family::ip, "ztunnel", false));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc::nft
