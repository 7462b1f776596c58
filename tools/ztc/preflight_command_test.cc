// `ztc compile --against`: the registry's footprints, offline, as warnings;
// the policy is still printed and the exit status is that of the compile.
#include <boost/test/unit_test.hpp>
#include <sstream>
#include <string>

#include "tools/ztc/cli.h"

namespace ztc {
namespace {

struct Result {
  int code;
  std::string out, err;
};

Result cli(std::vector<std::string> args) {
  std::vector<const char*> argv{"ztc"};
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  std::ostringstream out, err;
  int code = run_cli(static_cast<int>(argv.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

const std::string kExample = std::string(ZTC_SOURCE_DIR) + "/examples/ambient-node.zt";

BOOST_AUTO_TEST_SUITE(preflight_command)

BOOST_AUTO_TEST_CASE(compile_against_warns_about_known_owners) {
  Result plain = cli({"compile", kExample, "--emit", "nft"});
  Result cilium = cli({"compile", kExample, "--emit", "nft", "--against", "cilium,flannel"});
  BOOST_TEST(cilium.code == 0);
  BOOST_TEST(cilium.out == plain.out);
  BOOST_TEST(plain.err == "");
  // skip = 0x200 sits in Cilium's mark field; rule 100 is where Cilium moves
  // the local rule; Cilium's geneve runs on the bypassed port. Flannel's 8472
  // is not bypassed: nothing about it.
  BOOST_TEST(cilium.err.find(kExample +
                             ":16:1: warning: mark: Cilium's mark field 0x0f00 (to-proxy 0x200, "
                             "from proxy 0xa00/0xb00, from host 0xc00) [Cilium]: mark skip = "
                             "0x200 overlaps bits 0x200") != std::string::npos,
             cilium.err);
  BOOST_TEST(cilium.err.find(":62:1: warning: rule-priority: ip rule 100: from all lookup local "
                             "(Cilium moves the local rule here) [Cilium]") != std::string::npos);
  BOOST_TEST(cilium.err.find(":27:1: warning: port: geneve device cilium_geneve on udp/6081 "
                             "[Cilium]") != std::string::npos);
  BOOST_TEST(cilium.err.find("Flannel") == std::string::npos);
  Result kube_proxy = cli({"compile", kExample, "--emit", "nft", "--against",
                           "kube-proxy-nftables,kube-proxy-iptables"});
  BOOST_TEST(kube_proxy.code == 0);
  BOOST_TEST(kube_proxy.err == "");
  Result networkd = cli({"compile", kExample, "--emit", "nft", "--against", "systemd-networkd"});
  BOOST_TEST(
      networkd.err.find(kExample + ":62:1: warning: rule-priority: systemd-networkd with "
                                   "ManageForeignRoutingPolicyRules=yes (its default) "
                                   "[systemd-networkd]: systemd-networkd deletes ip rules") !=
          std::string::npos,
      networkd.err);
}

BOOST_AUTO_TEST_CASE(compile_against_an_unknown_owner_is_a_usage_error) {
  Result r = cli({"compile", kExample, "--against", "weave"});
  BOOST_TEST(r.code == 2);
  BOOST_TEST(r.out == "");
  BOOST_TEST(r.err ==
             "ztc: error: --against weave: unknown; known: cilium calico kube-proxy-iptables "
             "kube-proxy-nftables flannel ovn-kubernetes aws-vpc-cni systemd-networkd\n");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc
