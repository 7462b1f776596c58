// `ztc explain` on the command line: packet words, usage errors (exit 2,
// naming the word), member errors (exit 1), and the offline answer for the
// example policy. Nothing here reads a namespace.
#include "tools/ztc/explain_command.h"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tools/ztc/cli.h"

namespace ztc {
namespace {

const std::string kExample = std::string(ZTC_SOURCE_DIR) + "/examples/ambient-node.zt";

struct CliRun {
  int exit_code;
  std::string out, err;
};

CliRun cli(std::vector<std::string> args) {
  args.insert(args.begin(), {"ztc", "explain", kExample});
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  int code = run_cli(static_cast<int>(argv.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

const std::string kUsageHint = "\nRun 'ztc explain --help' for usage.\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(explain_command)

BOOST_AUTO_TEST_CASE(packet_words_in_any_order) {
  explain::Packet p;
  std::string error;
  BOOST_TEST_REQUIRE(
      parse_packet_words({"dport", "80", "ct", "mark", "0x210", "tcp", "daddr", "10.96.0.10", "iif",
                          "veth1", "saddr", "10.244.1.5", "sport", "40000", "mark", "4096"},
                         &p, &error));
  BOOST_TEST(p.iif.value_or("-") == "veth1");
  BOOST_TEST(p.protocol.value_or("-") == "tcp");
  BOOST_TEST(p.saddr->str() == "10.244.1.5");
  BOOST_TEST(p.daddr.str() == "10.96.0.10");
  BOOST_TEST(*p.sport == 40000);
  BOOST_TEST(*p.dport == 80);
  BOOST_TEST(p.mark == 0x1000u);
  BOOST_TEST(p.ct_mark == 0x210u);
  explain::Packet local;
  BOOST_TEST(parse_packet_words({"local", "daddr", "fd00::1", "icmp"}, &local, &error));
  BOOST_TEST(local.local());
  BOOST_TEST((local.family() == IpFamily::v6));
}

BOOST_AUTO_TEST_CASE(bad_packet_words_are_usage_errors_naming_the_word) {
  std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"iif", "v1", "daddr", "10.0.0.1", "frob"},
       "unknown packet word 'frob' (expected iif NAME | local, tcp | udp | icmp, saddr ADDR, "
       "daddr ADDR, sport N, dport N, mark VALUE, ct mark VALUE)"},
      {{"iif", "v1", "daddr", "10.0.0.300"}, "packet word 'daddr 10.0.0.300': not an IPv4 address"},
      {{"iif", "v1", "daddr", "10.0.0.0/8"},
       "packet word 'daddr 10.0.0.0/8': a prefix where an address is required"},
      {{"iif", "v1", "daddr", "10.0.0.1", "tcp", "dport", "70000"},
       "packet word 'dport 70000': not a port (1 to 65535)"},
      {{"iif", "v1", "daddr", "10.0.0.1", "mark", "0xfffffffff"},
       "packet word 'mark 0xfffffffff': not a 32-bit number"},
      {{"iif", "v1", "daddr", "10.0.0.1", "ct", "0x1"},
       "packet word 'ct': expected `ct mark VALUE`"},
      {{"iif", "v1", "daddr", "10.0.0.1", "mark"}, "packet word 'mark' needs a value"},
      {{"iif", "a/b", "daddr", "10.0.0.1"},
       "packet word 'iif a/b': not an interface name (1 to 15 characters; no '/', ':', '\"', '#' "
       "or spaces)"},
      {{"iif", "v1", "local", "daddr", "10.0.0.1"},
       "packet word 'local': given twice (iif NAME or local, once)"},
      {{"iif", "v1", "tcp", "udp", "daddr", "10.0.0.1"},
       "packet word 'udp': given twice (one protocol)"},
      {{"daddr", "10.0.0.1"},
       "the packet needs `iif NAME` (it arrives on NAME) or `local` (the node sends it)"},
      {{"local", "saddr", "10.0.0.1"}, "the packet needs `daddr ADDR`"},
      {{"local", "saddr", "fd00::1", "daddr", "10.0.0.1"},
       "saddr and daddr are of different families"},
      {{"local", "icmp", "dport", "1", "daddr", "10.0.0.1"},
       "packet word 'icmp': ICMP has no ports (sport/dport)"},
      {{"local", "dport", "1", "daddr", "10.0.0.1"}, "ports need a protocol: tcp or udp"},
  };
  for (const auto& [words, message] : cases) {
    BOOST_TEST_CONTEXT(message) {
      CliRun run = cli(words);
      BOOST_TEST(run.exit_code == 2);
      BOOST_TEST(run.err == "ztc: error: " + message + kUsageHint);
      BOOST_TEST(run.out == "");
    }
  }
}

BOOST_AUTO_TEST_CASE(member_errors) {
  CliRun shape = cli({"--member", "pods", "local", "daddr", "10.0.0.1"});
  BOOST_TEST(shape.exit_code == 2);
  BOOST_TEST(shape.err == "ztc: error: --member pods: expected SET=ELEMENT\n");
  CliRun value = cli({"--member", "pods=10.0.0.300", "local", "daddr", "10.0.0.1"});
  BOOST_TEST(value.exit_code == 1);
  BOOST_TEST(value.err ==
             "ztc: error: element '10.0.0.300' of set 'pods' (ipv4): not an IPv4 address\n");
  CliRun set = cli({"--member", "nope=10.0.0.1", "local", "daddr", "10.0.0.1"});
  BOOST_TEST(set.exit_code == 1);
  BOOST_TEST(set.err == "ztc: error: the policy has no set 'nope' (managed sets: pods)\n");
}

BOOST_AUTO_TEST_CASE(enrolled_pod_tcp_is_captured_offline) {
  CliRun run = cli({"--member", "pods=10.244.1.21", "--json", "iif", "veth9", "tcp", "saddr",
                    "10.244.1.21", "daddr", "10.96.0.10", "sport", "40000", "dport", "80"});
  BOOST_TEST_REQUIRE(run.exit_code == 0);
  BOOST_TEST(run.err == "");
  auto json = nlohmann::json::parse(run.out);
  BOOST_TEST(json["mark"] == "0x100");
  BOOST_TEST(json["ct_mark"] == "0x0");
  BOOST_TEST(json["verdict"] == "egress");
  BOOST_TEST(json["route"]["rule"] == 101);
  BOOST_TEST(json["route"]["table"] == "101");
  BOOST_TEST(json["route"]["dev"] == "istioout");
  BOOST_TEST(json["route"]["via"] == "192.168.127.2");
  BOOST_TEST(json["route"]["src"].is_null());
  // Not enrolled: the same packet goes by the main table, unknown offline.
  CliRun plain = cli({"--json", "iif", "veth9", "tcp", "saddr", "10.244.1.21", "daddr",
                      "10.96.0.10", "sport", "40000", "dport", "80"});
  auto other = nlohmann::json::parse(plain.out);
  BOOST_TEST(other["mark"] == "0x0");
  BOOST_TEST(other["route"]["table"] == "main");
  BOOST_TEST(other["route"]["rule"] == 32766);
  BOOST_TEST(other["route"]["dev"].is_null());
  BOOST_TEST(other["route"]["via"].is_null());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc
