#include "testsupport/ambient_node.h"

#include <boost/test/unit_test.hpp>
#include <cstdlib>

#include "testsupport/files.h"

namespace ztc::testing {

AmbientNode::AmbientNode(const std::string& prefix) : netns_(prefix) {
  must(
      "sysctl -qw net.ipv6.conf.all.addr_gen_mode=1 net.ipv6.conf.default.addr_gen_mode=1 && "
      "ip link add istioin type veth peer name pistioin && "
      "ip link add istioout type veth peer name pistioout && "
      "ip link add veth1ae58883 type veth peer name eth0z && "
      "for d in istioin pistioin istioout pistioout veth1ae58883 eth0z; do "
      "ip link set $d up || exit 1; done && "
      "ip addr add 192.168.126.1/30 dev istioin && "
      "ip addr add 192.168.127.1/30 dev istioout && "
      "ip addr add 10.244.1.1/24 dev veth1ae58883");
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
