// LibNftKernel against the kernel, each test in a throwaway namespace: the kernel
// object is created inside it and keeps working there after the thread comes back.
#include "backend/libnft_kernel.h"

#include <boost/test/unit_test.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backend/nft_text.h"
#include "testsupport/libnft_in_netns.h"
#include "testsupport/test_netns.h"

namespace ztc::nft {

BOOST_AUTO_TEST_SUITE(libnft_kernel)

BOOST_AUTO_TEST_CASE(kernel_commits_lists_and_replaces_atomically,
                     *boost::unit_test::label("kernel")) {
  ScopedTestNetns netns("ztc-nft");
  auto kernel = testing::libnft_in(netns);
  BOOST_TEST(!kernel->list_table(Family::ip, "ztc_t", false));

  ApplyResult dry = kernel->run(testing::kLoadableTable, true);
  BOOST_TEST_REQUIRE(dry.success, dry.error);
  BOOST_TEST(!kernel->list_table(Family::ip, "ztc_t", false));  // dry run committed nothing

  ApplyResult applied = kernel->run(testing::kLoadableTable, false);
  BOOST_TEST_REQUIRE(applied.success, applied.error);
  std::optional<std::string> text = kernel->list_table(Family::ip, "ztc_t", false);
  BOOST_TEST_REQUIRE(text.has_value());
  BOOST_TEST(text->find("ip saddr @pods counter") != std::string::npos);
  BOOST_TEST(text->find("packets") == std::string::npos);  // stateless listing
  std::optional<std::string> json = kernel->list_table(Family::ip, "ztc_t", true);
  BOOST_TEST_REQUIRE(json.has_value());
  BOOST_TEST(json->find("\"nftables\"") != std::string::npos);

  std::vector<Element> pods = kernel->list_set_elements(Family::ip, "ztc_t", "pods");
  BOOST_TEST_REQUIRE(pods.size() == 2u);
  bool found_comment = false;
  for (const Element& e : pods) {
    found_comment |= e.value == "10.244.1.5" && e.comment == "pod-uid-5";
  }
  BOOST_TEST(found_comment);
  BOOST_TEST(kernel->list_set_elements(Family::ip, "ztc_t", "nosuch").empty());

  // Re-applying replaces, never duplicates.
  BOOST_TEST_REQUIRE(kernel->run(testing::kLoadableTable, false).success);
  CommandResult listed = netns.run("nft list table ip ztc_t | grep -c 'ip saddr @pods'");
  BOOST_TEST(listed.output == "1\n");
  // The root namespace never saw any of it.
  BOOST_TEST(run_command("nft list table ip ztc_t").exit_code != 0);
}

BOOST_AUTO_TEST_CASE(kernel_restores_the_previous_table, *boost::unit_test::label("kernel")) {
  ScopedTestNetns netns("ztc-nft");
  auto kernel = testing::libnft_in(netns);
  // Nothing before: restoring removes the table.
  std::optional<std::string> nothing = kernel->list_table(Family::ip, "ztc_t", false);
  BOOST_TEST_REQUIRE(kernel->run(testing::kLoadableTable, false).success);
  ApplyResult removed = kernel->run(restore_table_buffer(Family::ip, "ztc_t", nothing), false);
  BOOST_TEST_REQUIRE(removed.success, removed.error);
  BOOST_TEST(!kernel->list_table(Family::ip, "ztc_t", false));
  // Something before: restoring brings it back exactly, set elements and comments included.
  BOOST_TEST_REQUIRE(kernel->run(testing::kLoadableTable, false).success);
  std::optional<std::string> before = kernel->list_table(Family::ip, "ztc_t", false);
  BOOST_TEST_REQUIRE(before.has_value());
  std::string other = std::string(testing::kLoadableTable);
  other.replace(other.find("counter"), 7, "drop");
  BOOST_TEST_REQUIRE(kernel->run(other, false).success);
  BOOST_TEST(kernel->list_table(Family::ip, "ztc_t", false).value_or("") != *before);
  ApplyResult restored = kernel->run(restore_table_buffer(Family::ip, "ztc_t", before), false);
  BOOST_TEST_REQUIRE(restored.success, restored.error);
  BOOST_TEST(kernel->list_table(Family::ip, "ztc_t", false).value_or("") == *before);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc::nft
