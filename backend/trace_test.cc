#include "backend/trace.h"

#include <unistd.h>

#include <boost/test/unit_test.hpp>

namespace ztc::trace {

BOOST_AUTO_TEST_SUITE(trace)

BOOST_AUTO_TEST_CASE(trace_listeners_are_netfilter_sockets_in_the_trace_group) {
  const std::string header =
      "sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n";
  const std::string rtnl =
      "00000000fef126e7 0   0          00000000 0        0        0     2        0        4\n";
  const std::string netfilter =
      "00000000b3808431 12  0          00000000 0        0        0     2        0        46\n";
  const std::string monitor =
      "0000000074369a30 12  7550       00000100 0        0        0     2        0        47\n";
  // `nft monitor` (every event): the table, chain, ... groups and trace.
  const std::string monitor_all =
      "0000000074369a31 12  -41        000001fe 0        0        0     2        0        48\n";
  // Group 9 of another protocol (rtnetlink: RTNLGRP_IPV4_ROUTE) is no listener.
  const std::string route_listener =
      "0000000074369a32 0   -42        00000100 0        0        0     2        0        49\n";
  BOOST_TEST(trace_listeners(header) == 0);
  BOOST_TEST(trace_listeners(header + rtnl + netfilter + route_listener) == 0);
  BOOST_TEST(trace_listeners(header + rtnl + monitor + netfilter) == 1);
  BOOST_TEST(trace_listeners(header + monitor + monitor_all) == 2);
  BOOST_TEST(trace_listeners("") == 0);
}

BOOST_AUTO_TEST_CASE(packet_words_become_nft_matches) {
  std::string error;
  BOOST_TEST(
      selector({"iif", "veth1", "tcp", "saddr", "10.0.0.0/8", "dport", "80", "mark", "0x200"},
               nft::Family::ip, &error)
          ->match ==
      "iifname \"veth1\" meta l4proto tcp ip saddr 10.0.0.0/8 th dport 80 meta mark 512");
  BOOST_TEST(
      selector({"udp", "daddr", "fd00::1", "ct", "mark", "16"}, nft::Family::inet, &error)->match ==
      "meta l4proto udp ip6 daddr fd00::1 ct mark 16");
  BOOST_TEST(selector({}, nft::Family::ip, &error)->match == "");
  BOOST_TEST((selector({}, nft::Family::ip, &error)->hooks ==
              std::vector<std::string>{"prerouting", "output"}));
  // `local`: sent by the node, so traced where it starts, at output.
  auto local = selector({"local", "udp"}, nft::Family::ip, &error);
  BOOST_TEST(local->match == "meta l4proto udp");
  BOOST_TEST((local->hooks == std::vector<std::string>{"output"}));
  BOOST_TEST(add_buffer(nft::Family::ip, "obs", *local, 5) ==
             "add chain ip obs ztc_trace_output { type filter hook output priority -500; policy "
             "accept; }\n"
             "add rule ip obs ztc_trace_output meta l4proto udp meta nftrace set 1 comment \"ztc "
             "trace pid 5\"\n");
  struct Refused {
    std::vector<std::string> words;
    const char* error;
  };
  const Refused refused[] = {
      {{"daddr", "fd00::1"},
       "packet word 'daddr fd00::1': the table (ip) sees no packet of that family"},
      {{"dport", "70000"}, "packet word 'dport 70000': not a port"},
      {{"iif", "a\"b"}, "packet word 'iif a\"b': not an interface name"},
      {{"mark"}, "packet word 'mark' needs a value"},
      {{"ct", "zone", "1"}, "packet word 'ct': expected `ct mark VALUE`"},
      {{"oif", "x"},
       "unknown packet word 'oif' (expected iif NAME, local, tcp, udp, icmp, saddr A, daddr A, "
       "sport N, dport N, mark V, ct mark V)"},
  };
  for (const Refused& r : refused) {
    error.clear();
    BOOST_TEST(!selector(r.words, nft::Family::ip, &error).has_value());
    BOOST_TEST(error == r.error);
  }
}

BOOST_AUTO_TEST_CASE(chains_are_added_and_found_with_their_pid) {
  BOOST_TEST(add_buffer(nft::Family::ip, "obs", Selector{"th dport 80"}, 77) ==
             "add chain ip obs ztc_trace_prerouting { type filter hook prerouting priority -500; "
             "policy accept; }\n"
             "add rule ip obs ztc_trace_prerouting th dport 80 meta nftrace set 1 comment \"ztc "
             "trace pid 77\"\n"
             "add chain ip obs ztc_trace_output { type filter hook output priority -500; policy "
             "accept; }\n"
             "add rule ip obs ztc_trace_output th dport 80 meta nftrace set 1 comment \"ztc trace "
             "pid 77\"\n");
  // As nft lists them.
  std::string listing =
      "table ip obs {\n"
      "\tchain output {\n"
      "\t\ttype route hook output priority mangle; policy accept;\n"
      "\t}\n"
      "\n"
      "\tchain ztc_trace_prerouting {\n"
      "\t\ttype filter hook prerouting priority -500; policy accept;\n"
      "\t\tth dport 80 meta nftrace set 1 comment \"ztc trace pid 77\"\n"
      "\t}\n"
      "\n"
      "\tchain ztc_trace_output {\n"
      "\t\ttype filter hook output priority -500; policy accept;\n"
      "\t\tmeta nftrace set 1 comment \"ztc trace pid " +
      std::to_string(getpid()) +
      "\"\n"
      "\t}\n"
      "}\n";
  std::map<std::string, int> chains = trace_chains(listing);
  BOOST_TEST(chains.size() == 2u);
  BOOST_TEST(chains["ztc_trace_prerouting"] == 77);
  BOOST_TEST(chains["ztc_trace_output"] == getpid());
  // This process is alive; pid 77 is taken to be gone only if it is.
  std::vector<std::string> stale = stale_chains({{"a", getpid()}, {"b", 0}});
  BOOST_TEST(stale == std::vector<std::string>{"b"});
  BOOST_TEST(remove_buffer(nft::Family::inet, "t", {"ztc_trace_output"}) ==
             "delete chain inet t ztc_trace_output\n");
}

BOOST_AUTO_TEST_CASE(events_are_told_in_the_policy_lines) {
  auto file = std::make_shared<const SourceFile>(
      "p.zt", "table ip obs\n\ncapture output {\n  udp dport 9001 => mark |= seen   \n}\n");
  nft::Table table;
  table.name = "obs";
  table.counters.push_back({"output_0a", Location{file, 4, 3}, {}, 0, 0});
  Narrator narrator(table);
  auto told = [&](const std::string& line) { return narrator.line(*parse_event(line)); };
  // Another packet's events before the trace rule marked it: nothing.
  BOOST_TEST(told("trace id aa ip obs output rule udp dport 9001 (verdict continue)") == "");
  BOOST_TEST(told("trace id 01 ip obs ztc_trace_output packet: oif \"lo\" ip saddr 127.0.0.1 ip "
                  "daddr 127.0.0.2") ==
             "packet 1: oif \"lo\" ip saddr 127.0.0.1 ip daddr 127.0.0.2");
  BOOST_TEST(told("trace id 01 ip obs ztc_trace_output rule meta nftrace set 1 (verdict "
                  "continue)") == "");
  BOOST_TEST(told("trace id 01 ip obs output packet: oif \"lo\"") == "");
  BOOST_TEST(told("trace id 01 ip obs output rule udp dport 9001 counter name \"output_0a\" meta "
                  "mark set meta mark | 0x00000010 (verdict continue)") ==
             "packet 1:   output: p.zt:4: udp dport 9001 => mark |= seen (verdict continue)");
  BOOST_TEST(told("trace id 01 ip kube nat_pre rule ip daddr 10.0.0.1 dnat to 10.0.0.2 (verdict "
                  "accept)") ==
             "packet 1:   table ip kube chain nat_pre: rule ip daddr 10.0.0.1 dnat to 10.0.0.2 "
             "(verdict accept)");
  BOOST_TEST(told("trace id 01 ip obs output policy accept meta mark 0x00000010") ==
             "packet 1:   output: policy accept meta mark 0x00000010");
  BOOST_TEST(narrator.packets() == 1u);
  // For the routing lookup: the packet line's addresses, the last mark shown.
  auto keys = narrator.packet_keys();
  BOOST_TEST_REQUIRE(keys.size() == 1u);
  BOOST_TEST(keys[0].first == 1u);
  BOOST_TEST(keys[0].second.saddr->address_str() == "127.0.0.1");
  BOOST_TEST(!keys[0].second.iif.has_value());
  BOOST_TEST(keys[0].second.mark == 0x10u);
  BOOST_TEST(!parse_event("not a trace line").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc::trace
