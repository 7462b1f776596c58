#include "testsupport/ambient_node.h"

#include <boost/test/unit_test.hpp>
#include <cstdlib>

#include "testsupport/files.h"
#include "testsupport/golden.h"

namespace ztc::testing {

AmbientNode::AmbientNode(const std::string& prefix) : netns_(prefix) {
  must("sh " + shell_quote(source_path("testdata/ambient-node.sh")));
}

std::string AmbientNode::must(const std::string& command) const {
  CommandResult result = netns_.run(command);
  BOOST_REQUIRE_MESSAGE(result.exit_code == 0, "`" << command << "` failed: " << result.output);
  return result.output;
}

ZtcRun AmbientNode::ztc(const std::string& args, const std::string& stdin_text,
                        const std::string& wrapper) const {
  TempDir scratch;
  std::string input = scratch.write("stdin", stdin_text);
  std::string errors = scratch.file("stderr");
  CommandResult result =
      run_command(wrapper + shell_quote(ztc_binary()) + " " + args + " --netns " +
                  shell_quote(name()) + " <" + shell_quote(input) + " 2>" + shell_quote(errors));
  return {result.exit_code, result.output, read_file(errors)};
}

std::string AmbientNode::routes() const {
  return must(
      "{ ip -4 route show table all; ip -6 route show table all; } | "
      "grep -v ' proto kernel ' || true");
}

std::string AmbientNode::ztc_rules() const {
  return must("{ ip -4 rule; ip -6 rule; } | grep ' proto 122' || true");
}

std::string AmbientNode::ztc_routes() const {
  return must(
      "ip route show table all proto 122; ip -6 route show table all proto 122; "
      "ip route show table all proto 123; ip -6 route show table all proto 123");
}

std::string AmbientNode::sysctls() const {
  return must(
      "for d in all default istioin istioout veth1ae58883; do for k in rp_filter accept_local; "
      "do echo $d.$k=$(cat /proc/sys/net/ipv4/conf/$d/$k); done; done");
}

const std::string& ztc_binary() {
  // ZTC_TEST_BINARY runs the kernel tests against another build (to show
  // that a new test fails on an older ztc).
  static const std::string path = std::getenv("ZTC_TEST_BINARY") && *std::getenv("ZTC_TEST_BINARY")
                                      ? std::getenv("ZTC_TEST_BINARY")
                                      : ZTC_BINARY;
  return path;
}

std::string example_path(const std::string& name) {
  return std::string(ZTC_SOURCE_DIR) + "/examples/" + name + ".zt";
}

}  // namespace ztc::testing
