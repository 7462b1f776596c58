// Interface names that nft would read as patterns never reach the kernel:
// `-D ztunnel_veth='u*'` once loaded `iifname "u*"` (every interface whose
// name starts with u) while the routes and sysctls used the literal name.
#include <boost/test/unit_test.hpp>
#include <string>

#include "backend/netns.h"
#include "testsupport/test_netns.h"

namespace ztc {
namespace {

const std::string kZtc = ZTC_BINARY;
const std::string kExample = std::string(ZTC_SOURCE_DIR) + "/examples/ambient-node.zt";

BOOST_AUTO_TEST_SUITE(names_kernel)

BOOST_AUTO_TEST_CASE(pattern_characters_in_a_define_are_refused_before_the_kernel,
                     *boost::unit_test::label("kernel")) {
  ScopedTestNetns netns("ztc-names");
  for (const std::string& name : {std::string("u*"), std::string("e\\*"), std::string("x\\")}) {
    BOOST_TEST_CONTEXT(name) {
      CommandResult run = run_command(shell_quote(kZtc) + " load " + shell_quote(kExample) +
                                      " -D " + shell_quote("ztunnel_veth=" + name) + " --netns " +
                                      shell_quote(netns.name()) + " 2>&1");
      BOOST_TEST(run.exit_code == 1);
      BOOST_TEST(run.output.rfind(kExample + ":", 0) == 0u);
      BOOST_TEST(run.output.find(": error: -D ztunnel_veth=" + name +
                                 ": not an interface name (1 to 15 characters; no '/', ':', '\"', "
                                 "'#', '*', '\\' or spaces) (parameter is ifname)\n") !=
                 std::string::npos);
      BOOST_TEST(netns.run("nft list ruleset").output == "");
      BOOST_TEST(netns.run("ip rule show | grep -c 'proto 122'").output == "0\n");
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc
