// What a load leaves for later: the sysctls it changed are put back by
// unload (and by a load of a policy that no longer sets them), and a load
// that would lose another ztc table or a set's members is refused unless
// --replace, saying what would be lost. The runtime directory is a scratch
// one (ZTC_RUN_DIR), so the records are the test's alone.
#include <boost/test/unit_test.hpp>
#include <string>

#include "backend/netns.h"
#include "testsupport/ambient_node.h"
#include "testsupport/files.h"

namespace ztc {
namespace {

using testing::AmbientNode;
using testing::read_file;
using testing::TempDir;
using Run = testing::ZtcRun;

const std::string kExample = testing::example_path("ambient-node");

// The example with every `from` replaced by `to`.
std::string example_with_all(const std::string& from, const std::string& to) {
  std::string text = read_file(kExample);
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

class Node : public AmbientNode {
 public:
  Node() : AmbientNode("ztc-life"), run_dir_(dir_.file("run")) {}
  Run ztc(const std::string& args) const {
    return AmbientNode::ztc(args, "", "env ZTC_RUN_DIR=" + shell_quote(run_dir_) + " ");
  }
  std::string run_files() const { return run_command("ls -A " + shell_quote(run_dir_)).output; }
  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
  std::string run_dir_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(lifecycle_kernel)

BOOST_AUTO_TEST_CASE(unload_puts_back_the_sysctls_load_changed,
                     *boost::unit_test::label("kernel")) {
  Node node;
  node.must("sysctl -qw net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.default.rp_filter=1");
  const std::string before = node.sysctls();
  BOOST_TEST_REQUIRE(before.find("all.rp_filter=2\n") != std::string::npos);

  BOOST_TEST_REQUIRE(node.ztc("load " + shell_quote(kExample)).exit_code == 0);
  BOOST_TEST(node.must("cat /proc/sys/net/ipv4/conf/all/rp_filter") == "0\n");
  // A reload must not take ztc's own values for the ones to put back.
  BOOST_TEST_REQUIRE(node.ztc("load " + shell_quote(kExample)).exit_code == 0);
  BOOST_TEST(node.ztc("diff --members " + shell_quote(kExample)).out == "no differences\n");

  // A policy that no longer sets accept_local: diff says it would go back,
  // the load puts it back.
  std::string without = node.dir().write(
      "no-accept-local.zt",
      testing::replaced_once(read_file(kExample),
                             {{"sysctl ztunnel, tunnel_in, tunnel_out { accept_local = 1 }", ""}}));
  Run diff = node.ztc("diff --members " + shell_quote(without));
  BOOST_TEST(diff.exit_code == 1);
  BOOST_TEST(diff.out.find("~ sysctl net.ipv4.conf.veth1ae58883.accept_local 1 -> 0\n") !=
                 std::string::npos,
             diff.out);
  Run load = node.ztc("load " + shell_quote(without));
  BOOST_TEST_REQUIRE(load.exit_code == 0, load.err);
  BOOST_TEST(node.must("cat /proc/sys/net/ipv4/conf/istioin/accept_local") == "0\n");
  BOOST_TEST(node.ztc("diff --members " + shell_quote(without)).out == "no differences\n");

  Run unload = node.ztc("unload " + shell_quote(without));
  BOOST_TEST_REQUIRE(unload.exit_code == 0, unload.err);
  BOOST_TEST(unload.out.find("; sysctls: 2 put back\n") != std::string::npos, unload.out);
  BOOST_TEST(unload.out.find("~ sysctl net.ipv4.conf.all.rp_filter 0 -> 2\n") != std::string::npos,
             unload.out);
  BOOST_TEST(node.sysctls() == before);
  BOOST_TEST(node.run_files() == "lock\n");  // the record goes with the unload
  // A second unload has nothing to put back.
  BOOST_TEST(node.ztc("unload " + shell_quote(without)).out ==
             "no table managed by ztc; routing: 0 entries removed\n");
  BOOST_TEST(node.sysctls() == before);
}

BOOST_AUTO_TEST_CASE(a_load_that_would_drop_another_table_or_a_set_with_members_is_refused,
                     *boost::unit_test::label("kernel")) {
  Node node;
  BOOST_TEST_REQUIRE(node.ztc("load " + shell_quote(kExample)).exit_code == 0);
  Run added =
      node.ztc("set add " + shell_quote(kExample) + " pods 10.244.1.5 10.244.1.6 10.244.1.7");
  BOOST_TEST_REQUIRE(added.exit_code == 0, added.err);
  const std::string nft_before = node.must("nft -s list ruleset");
  const std::string routes_before = node.ztc_routes();

  const std::string renamed_table = node.dir().write(
      "table.zt",
      testing::replaced_once(read_file(kExample), {{"table ip ztunnel\n", "table ip meshcap\n"}}));
  Run refused = node.ztc("load " + shell_quote(renamed_table));
  BOOST_TEST(refused.exit_code == 1);
  BOOST_TEST(refused.out == "");
  BOOST_TEST(refused.err == renamed_table +
                                ":12:1: error: loading table ip meshcap would remove table ip "
                                "ztunnel with 3 set elements and delete 3 ztc routes; nothing was "
                                "changed (--replace to do it)\n"
                                "    table ip meshcap\n"
                                "    ^\n"
                                "ztc: load failed; the node was left as it was\n");
  BOOST_TEST(node.must("nft -s list ruleset") == nft_before);
  BOOST_TEST(node.ztc_routes() == routes_before);

  const std::string renamed_set = node.dir().write("set.zt", example_with_all("pods", "workloads"));
  refused = node.ztc("load " + shell_quote(renamed_set) + " --dry-run");
  BOOST_TEST(refused.exit_code == 1);
  BOOST_TEST(refused.err.find("error: loading table ip ztunnel would remove set pods (not in the "
                              "policy) with 3 elements and delete 3 ztc routes; nothing was "
                              "changed (--replace to do it)\n") != std::string::npos,
             refused.err);
  refused = node.ztc("load " + shell_quote(renamed_set));
  BOOST_TEST(refused.exit_code == 1);
  BOOST_TEST(node.must("nft -s list ruleset") == nft_before);
  BOOST_TEST(node.ztc_routes() == routes_before);

  Run replaced = node.ztc("load " + shell_quote(renamed_set) + " --replace");
  BOOST_TEST(replaced.exit_code == 0, replaced.err);
  BOOST_TEST(node.ztc_routes().find("10.244.1.5") == std::string::npos);
  BOOST_TEST(node.ztc("diff --members " + shell_quote(renamed_set)).out == "no differences\n");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc
