// `ztc trace` on a namespace the test creates: traced probes (sent inside it)
// show the policy lines they take; the trace chains go when the trace ends,
// on SIGTERM, and, after a SIGKILL, at the next diff.
#include <boost/test/unit_test.hpp>

#include "backend/netns.h"
#include "testsupport/ambient_node.h"
#include "testsupport/files.h"

namespace ztc {
namespace {

using testing::AmbientNode;
using testing::TempDir;

const char* kPolicy =
    "table ip obs\n"                                // 1
    "mark seen = 0x10\n"                            // 2
    "capture prerouting {\n"                        // 3
    "  iif \"lo\" => return\n"                      // 4
    "  iif \"obsdummy\" => mark |= seen, return\n"  // 5
    "}\n"                                           // 6
    "capture output {\n"                            // 7
    "  udp dport 9001 => mark |= seen\n"            // 8
    "  udp dport 9002 => mark |= seen\n"            // 9
    "}\n";

// Three datagrams to 9001 and one to 9002, inside the namespace, with bound
// receivers (no ICMP errors back).
std::string probes(const AmbientNode& node) {
  return "ip netns exec " + shell_quote(node.name()) +
         " timeout 10 python3 -c \"import socket\n"
         "r1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r1.bind(('127.0.0.1', 9001))\n"
         "r2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r2.bind(('127.0.0.1', 9002))\n"
         "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
         "s.sendto(b'x', ('127.0.0.1', 9002))\n"
         "for _ in range(3): s.sendto(b'x', ('127.0.0.1', 9001))\n\"";
}

// `ztc trace ...` in the background, then `then` (bounded), then wait for it.
// Prints the trace's stdout, then "rc=N", then its stderr.
CommandResult trace_while(const AmbientNode& node, const std::string& policy,
                          const std::string& args, const std::string& then, const TempDir& dir) {
  std::string out = dir.file("trace.out"), err = dir.file("trace.err");
  return run_command(shell_quote(testing::ztc_binary()) + " trace " + shell_quote(policy) +
                     " --netns " + shell_quote(node.name()) + " " + args + " >" + shell_quote(out) +
                     " 2>" + shell_quote(err) + " & pid=$!; sleep 1; " + then +
                     "; wait $pid; echo rc=$?; cat " + shell_quote(out) + " " + shell_quote(err));
}

bool has_trace_chains(const AmbientNode& node) {
  return node.run("nft -s list table ip obs").output.find("ztc_trace_") != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(trace_kernel)

BOOST_AUTO_TEST_CASE(traced_probes_show_the_lines_they_take, *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-trace");
  TempDir dir;
  std::string policy = dir.write("p.zt", kPolicy);
  BOOST_TEST_REQUIRE(node.ztc("load " + shell_quote(policy)).exit_code == 0);
  std::string before = node.must("nft -s list ruleset");

  CommandResult run =
      trace_while(node, policy, "--count 2 --timeout 8 udp dport 9001", probes(node), dir);
  const std::string& text = run.output;
  BOOST_TEST(text.find("rc=0\n") != std::string::npos, text);
  // Only 9001 is traced: out through output (line 8), back in on lo (line 4).
  BOOST_TEST(text.find("packet 1:   output: " + policy +
                       ":8: udp dport 9001 => mark |= seen "
                       "(verdict continue)\n") != std::string::npos,
             text);
  BOOST_TEST(text.find("packet 2:   prerouting_iif_4_3: " + policy +
                       ":4: iif \"lo\" => return (verdict continue)\n") != std::string::npos,
             text);
  BOOST_TEST(text.find(":9:") == std::string::npos, text);
  BOOST_TEST(
      text.find("packet 2: route with mark 0x10: table main: local dev lo\n") != std::string::npos,
      text);
  BOOST_TEST(text.find("2 packets traced\n") != std::string::npos, text);
  // The trace chains are gone: the table is as loaded.
  BOOST_TEST(node.must("nft -s list ruleset") == before);
}

BOOST_AUTO_TEST_CASE(the_routing_decision_follows_the_mark_the_policy_set,
                     *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-trace");
  TempDir dir;
  std::string policy = dir.write("p.zt",
                                 "table ip obs\n"
                                 "mark seen = 0x10\n"
                                 "iface tunnel = \"istioin\"\n"
                                 "capture output {\n"
                                 "  udp dport 9001 => mark |= seen\n"
                                 "}\n"
                                 "rule 100 fwmark seen lookup 100\n"
                                 "route 100 {\n"
                                 "  10.99.0.0/24 dev tunnel scope link\n"
                                 "}\n");
  // Unmarked, 10.99.0.0/24 goes via the tunnel's peer (main table).
  node.must("ip route add 10.99.0.0/24 via 192.168.126.2 dev istioin");
  BOOST_TEST_REQUIRE(node.ztc("load " + shell_quote(policy)).exit_code == 0);
  std::string send = "ip netns exec " + shell_quote(node.name()) +
                     " timeout 10 python3 -c \"import socket\n"
                     "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                     "s.sendto(b'x', ('10.99.0.5', 9001))\n\"";
  CommandResult run = trace_while(node, policy, "--count 1 --timeout 8 local udp", send, dir);
  BOOST_TEST(run.output.find("packet 1:   output: " + policy +
                             ":5: udp dport 9001 => mark |= seen (verdict continue)\n") !=
                 std::string::npos,
             run.output);
  // `local`: traced from output only, and only that chain was added and removed.
  BOOST_TEST(run.output.find("rc=0\n") != std::string::npos, run.output);
  BOOST_TEST(!has_trace_chains(node));
  BOOST_TEST(run.output.find("packet 1: route with mark 0x10: table 100: unicast dev istioin\n") !=
                 std::string::npos,
             run.output);
}

BOOST_AUTO_TEST_CASE(sigterm_removes_the_trace_and_sigkill_leaves_it_to_diff,
                     *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-trace");
  TempDir dir;
  std::string policy = dir.write("p.zt", kPolicy);
  BOOST_TEST_REQUIRE(node.ztc("load " + shell_quote(policy)).exit_code == 0);

  CommandResult term = trace_while(node, policy, "--timeout 30", "kill -TERM $pid", dir);
  BOOST_TEST(term.output.find("rc=143\n") != std::string::npos, term.output);
  BOOST_TEST(!has_trace_chains(node));

  CommandResult killed = trace_while(node, policy, "--timeout 30", "kill -KILL $pid", dir);
  BOOST_TEST(killed.output.find("rc=137\n") != std::string::npos, killed.output);
  BOOST_TEST_REQUIRE(has_trace_chains(node));
  testing::ZtcRun diff = node.ztc("diff " + shell_quote(policy));
  BOOST_TEST(diff.exit_code == 0, diff.out + diff.err);
  BOOST_TEST(diff.out == "no differences\n");
  BOOST_TEST(diff.err.find("ztc: removed the stale trace chain ztc_trace_output of table ip obs "
                           "(its ztc trace, pid ") != std::string::npos,
             diff.err);
  BOOST_TEST(!has_trace_chains(node));

  // The same after a re-load (incremental: the table is there), which drops
  // the chains and says so.
  killed = trace_while(node, policy, "--timeout 30", "kill -KILL $pid", dir);
  BOOST_TEST_REQUIRE(has_trace_chains(node));
  testing::ZtcRun load = node.ztc("load " + shell_quote(policy));
  BOOST_TEST(load.exit_code == 0, load.err);
  BOOST_TEST(load.out.find(", members untouched)") != std::string::npos, load.out);
  BOOST_TEST(load.err.find("ztc: removed the stale trace chain ztc_trace_prerouting of table ip "
                           "obs (its ztc trace, pid ") != std::string::npos,
             load.err);
  BOOST_TEST(!has_trace_chains(node));
  BOOST_TEST(node.ztc("diff " + shell_quote(policy)).out == "no differences\n");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc
