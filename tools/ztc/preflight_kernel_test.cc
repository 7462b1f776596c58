// `ztc preflight` on throwaway ambient nodes that also hold another project's
// footprint, built with the commands that project runs (its ip rules, its
// iptables or nft rules, its devices), each finding checked with its policy
// line. Nothing here touches the root namespace.
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "testsupport/ambient_node.h"
#include "testsupport/files.h"

namespace ztc {
namespace {

using testing::AmbientNode;
using Run = testing::ZtcRun;

const std::string kExample = std::string(ZTC_SOURCE_DIR) + "/examples/ambient-node.zt";

// "path:LINE:1" of the first example line that starts with `start`.
std::string at(const std::string& start) {
  std::istringstream lines(testing::read_file(kExample));
  int number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    if (line.rfind(start, 0) == 0) return kExample + ":" + std::to_string(number) + ":1";
  }
  BOOST_FAIL("no line starting with " << start);
  return "";
}

// "kind policy [owner]" of each finding in `--json` output, sorted.
std::multiset<std::string> findings(const Run& run) {
  auto document = nlohmann::json::parse(run.out, nullptr, false);
  BOOST_REQUIRE_MESSAGE(document.is_object(), "not JSON: " << run.out << run.err);
  std::multiset<std::string> out;
  for (const auto& finding : document["conflicts"]) {
    out.insert(finding["kind"].get<std::string>() + " " + finding["policy"].get<std::string>() +
               (finding.contains("owner") ? " " + finding["owner"].get<std::string>() : ""));
  }
  return out;
}

std::string nodes(const Run& run) {
  std::string text;
  nlohmann::json document = nlohmann::json::parse(run.out);
  for (const auto& finding : document["conflicts"]) {
    text += finding["node"].get<std::string>() + "\n";
  }
  return text;
}

// kube-proxy in nftables mode, as pkg/proxy/nftables/proxier.go sets it up:
// its base chains at their priorities, the masquerade mark 0x4000, one service
// reached through the service-ips verdict map.
const char* const kKubeProxyNft = R"(
add table ip kube-proxy { comment "rules for kube-proxy"; }
add chain ip kube-proxy filter-prerouting { type filter hook prerouting priority -110; }
add chain ip kube-proxy filter-input { type filter hook input priority -110; }
add chain ip kube-proxy filter-forward { type filter hook forward priority -110; }
add chain ip kube-proxy filter-output { type filter hook output priority -110; }
add chain ip kube-proxy filter-output-post-dnat { type filter hook output priority -90; }
add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100; }
add chain ip kube-proxy nat-output { type nat hook output priority -100; }
add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority 100; }
add chain ip kube-proxy firewall-check
add chain ip kube-proxy services
add chain ip kube-proxy masquerading
add chain ip kube-proxy mark-for-masquerade
add chain ip kube-proxy service-ULMVA6XW-default/web/tcp/http
add map ip kube-proxy firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict; }
add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict; }
add rule ip kube-proxy filter-prerouting ct state new jump firewall-check
add rule ip kube-proxy filter-output ct state new jump firewall-check
add rule ip kube-proxy nat-prerouting jump services
add rule ip kube-proxy nat-output jump services
add rule ip kube-proxy nat-postrouting jump masquerading
add rule ip kube-proxy firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips
add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
add rule ip kube-proxy mark-for-masquerade mark set mark or 0x4000
add rule ip kube-proxy masquerading mark and 0x4000 == 0 return
add rule ip kube-proxy masquerading mark set mark xor 0x4000
add rule ip kube-proxy masquerading masquerade fully-random
add rule ip kube-proxy service-ULMVA6XW-default/web/tcp/http ip daddr 10.96.0.20 ip saddr != 10.244.0.0/16 jump mark-for-masquerade
add element ip kube-proxy service-ips { 10.96.0.20 . tcp . 80 : goto service-ULMVA6XW-default/web/tcp/http }
)";

void install_kube_proxy_nft(const AmbientNode& node) {
  node.must("nft -f - <<'EOF'\n" + std::string(kKubeProxyNft) + "EOF");
}

BOOST_AUTO_TEST_SUITE(preflight_kernel)

BOOST_AUTO_TEST_CASE(a_node_with_only_kube_proxy_is_clean, *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-preflight");
  install_kube_proxy_nft(node);
  Run run = node.ztc("preflight " + kExample);
  BOOST_TEST(run.exit_code == 0, run.out << run.err);
  BOOST_TEST(run.out == "no conflicts\n");
  BOOST_TEST(run.err == "");
  // ztc's own table, rules and routes are not the node's: still clean after a load.
  Run load = node.ztc("load --strict " + kExample);
  BOOST_TEST(load.exit_code == 0, load.out << load.err);
  BOOST_TEST(load.err == "");
  run = node.ztc("preflight --json " + kExample);
  BOOST_TEST(run.exit_code == 0, run.out << run.err);
  BOOST_TEST(run.out == "{\n  \"conflicts\": []\n}\n");
}

BOOST_AUTO_TEST_CASE(cilium_marks_local_rule_and_mangle_chain, *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-preflight");
  // What Cilium does: move the local rule to 100, route marked traffic to its
  // proxy through table 2004, mark in CILIUM_PRE_mangle with its field 0xf00.
  node.must(
      "ip rule add priority 100 lookup local && ip rule del priority 0 lookup local && "
      "ip rule add fwmark 0x200/0xf00 lookup 2004 priority 9 && "
      "ip route add local default dev lo table 2004 && "
      "iptables-legacy -t mangle -N CILIUM_PRE_mangle && "
      "iptables-legacy -t mangle -A PREROUTING -m comment --comment "
      "'cilium-feeder: CILIUM_PRE_mangle' -j CILIUM_PRE_mangle && "
      "iptables-legacy -t mangle -A CILIUM_PRE_mangle -m mark ! --mark 0xe00/0xf00 "
      "-j MARK --set-xmark 0x200/0xf00");
  Run run = node.ztc("preflight --json " + kExample);
  BOOST_TEST(run.exit_code == 1, run.out << run.err);
  std::multiset<std::string> expected;
  for (const char* mark : {"mark outbound", "mark skip", "mark conn_skip", "mark proxy "}) {
    // The mangle rule and rule 9 both use 0xf00; proxy_ret (0x040) is clear.
    expected.insert("mark " + at(mark) + " Cilium");
    expected.insert("mark " + at(mark) + " Cilium");
  }
  expected.insert("rule-priority " + at("rule 100") + " Cilium");
  expected.insert("hook " + at("capture prerouting") + " Cilium");  // same priority, -150
  expected.insert("hook " + at("nat prerouting") + " Cilium");      // before it, writes 0x300
  BOOST_TEST(findings(run) == expected, boost::test_tools::per_element());
  std::string listed = nodes(run);
  BOOST_TEST(listed.find("iptables-legacy -t mangle -A CILIUM_PRE_mangle -m mark ! --mark "
                         "0xe00/0xf00 -j MARK --set-xmark 0x200/0xf00\n") != std::string::npos);
  BOOST_TEST(listed.find("ip rule 9: from all fwmark 0x200/0xf00 lookup 2004\n") !=
             std::string::npos);
  BOOST_TEST(listed.find("ip rule 100: from all lookup local\n") != std::string::npos);

  // load --strict refuses and changes nothing; load warns and loads.
  Run strict = node.ztc("load --strict " + kExample);
  BOOST_TEST(strict.exit_code == 1);
  BOOST_TEST(strict.err.find(at("mark skip") + ": warning: mark: ") != std::string::npos);
  BOOST_TEST(strict.err.find("ztc: load refused (--strict): preflight found conflicts; the node "
                             "was not changed\n") != std::string::npos);
  BOOST_TEST(node.run("nft list table ip ztunnel").exit_code != 0);
  BOOST_TEST(node.ztc_rules() == "");
  Run load = node.ztc("load " + kExample);
  BOOST_TEST(load.exit_code == 0, load.err);
  BOOST_TEST(load.err.find(at("rule 100") + ": warning: rule-priority: ") != std::string::npos);
  BOOST_TEST(node.run("nft list table ip ztunnel").exit_code == 0);
  // Loaded, the policy's own objects do not count: the same findings.
  BOOST_TEST(findings(node.ztc("preflight --json " + kExample)) == expected,
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(calico_mark_bits_are_clear_of_the_example_but_not_of_bit_16,
                     *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-preflight");
  // Calico's Felix, iptables-nft backend: its mangle chain with its mark bits
  // (IptablesMarkMask 0xffff0000), and its VXLAN device on 4789.
  node.must(
      "iptables-nft -t mangle -N cali-PREROUTING && "
      "iptables-nft -t mangle -A PREROUTING -m comment --comment 'cali:6gwbT8clXdHdC1b1' "
      "-j cali-PREROUTING && "
      "iptables-nft -t mangle -A cali-PREROUTING -m mark --mark 0x10000/0x10000 -j ACCEPT && "
      "iptables-nft -t mangle -A cali-PREROUTING -j MARK --set-xmark 0x0/0xffff0000 && "
      "ip link add vxlan.calico type vxlan id 4096 dstport 4789 && ip link set vxlan.calico up");
  Run run = node.ztc("preflight --json " + kExample);
  BOOST_TEST(run.exit_code == 1, run.out << run.err);
  // Masks compared exactly: no mark finding; the chain shares the -150 hook.
  BOOST_TEST(
      findings(run) == (std::multiset<std::string>{"hook " + at("capture prerouting") + " Calico"}),
      boost::test_tools::per_element());
  BOOST_TEST(nodes(run) ==
             "iptables-nft -t mangle PREROUTING (priority -150) -> cali-PREROUTING\n");
  const std::string policy =
      "table ip t\n"
      "mark high = 0x10000\n"
      "capture prerouting { mark has high => return }\n";
  run = node.ztc("preflight --json -", policy);
  // Two rules use bit 16: the test and the set.
  BOOST_TEST(findings(run) ==
                 (std::multiset<std::string>{"hook <stdin>:3:1 Calico", "mark <stdin>:2:1 Calico",
                                             "mark <stdin>:2:1 Calico"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_tunnel_on_the_bypass_port, *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-preflight");
  // OVN-Kubernetes' OVS creates genev_sys_6081, a geneve device on udp/6081.
  // This test kernel has no geneve (CONFIG_GENEVE unset): a vxlan device of
  // that name on that port stands in (same port, same finding). Its socket is
  // the device's, not a second finding.
  node.must(
      "ip link add genev_sys_6081 type vxlan id 7 dstport 6081 && "
      "ip link set genev_sys_6081 up && grep -q ':17C1 ' /proc/net/udp");
  Run run = node.ztc("preflight --json " + kExample);
  BOOST_TEST(run.exit_code == 1, run.out << run.err);
  BOOST_TEST(findings(run) ==
                 (std::multiset<std::string>{"port " + at("bypass udp 6081") + " OVN-Kubernetes"}),
             boost::test_tools::per_element());
  BOOST_TEST(nodes(run) == "vxlan device genev_sys_6081 on udp/6081\n");
}

BOOST_AUTO_TEST_CASE(aws_vpc_cni_connmark_shares_the_mangle_hook,
                     *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-preflight");
  // The AWS VPC CNI's primary-ENI connmark (0x80) and its rule at 1024.
  node.must(
      "ip rule add fwmark 0x80/0x80 lookup main priority 1024 && "
      "iptables-legacy -t mangle -A PREROUTING -i eth0z -m comment --comment 'AWS, primary ENI' "
      "-m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-xmark 0x80/0x80 && "
      "iptables-legacy -t mangle -A PREROUTING -i eni+ -m comment --comment 'AWS, primary ENI' "
      "-j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80");
  Run run = node.ztc("preflight --json " + kExample);
  BOOST_TEST(run.exit_code == 1, run.out << run.err);
  // 0x80 is none of the example's bits, and rule 1024 comes after its rules.
  BOOST_TEST(findings(run) == (std::multiset<std::string>{"hook " + at("capture prerouting")}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(both_iptables_backends_and_strict_rp_filter,
                     *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-preflight");
  node.must(
      "iptables-legacy -A INPUT -p tcp --dport 22 -j ACCEPT && "
      "iptables-nft -A INPUT -p tcp --dport 22 -j ACCEPT && "
      "sysctl -qw net.ipv4.conf.all.rp_filter=1");
  // The example sets rp_filter on all: only the backends clash.
  Run run = node.ztc("preflight --json " + kExample);
  BOOST_TEST(run.exit_code == 1, run.out << run.err);
  BOOST_TEST(findings(run) == (std::multiset<std::string>{"iptables " + at("table ip ztunnel")}),
             boost::test_tools::per_element());
  BOOST_TEST(nodes(run) == "iptables-legacy: 1 rule (filter); iptables-nft: 1 rule (filter)\n");
  // A policy that sets rp_filter on its interface but not on all.
  const std::string policy =
      "table ip t\n"
      "iface tunnel_in = \"istioin\"\n"
      "capture prerouting { iif tunnel_in => return }\n"
      "sysctl tunnel_in { rp_filter = 0 }\n";
  run = node.ztc("preflight -", policy);
  BOOST_TEST(run.exit_code == 1);
  BOOST_TEST(run.out.find("sysctl: net.ipv4.conf.all.rp_filter = 1\n"
                          "  policy: <stdin>:4:20: sysctl tunnel_in { rp_filter = 0 }\n") !=
                 std::string::npos,
             run.out);
  BOOST_TEST(run.out.find("  fix: add `sysctl all, istioin { rp_filter = 0 }` to the policy "
                          "(or 2, loose)\n") != std::string::npos);
}

// Routes of others are counted per policy table, each table one dump the
// kernel filters. A re-load does not read the table of the member routes
// (100k of them would be sent to find the others'): the first load, `load
// --strict` and `ztc preflight` still report a foreign route there.
BOOST_AUTO_TEST_CASE(foreign_routes_in_the_policy_tables_and_the_member_table_on_a_reload,
                     *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-preflight");
  node.must(
      "ip route add 10.98.0.0/16 dev istioout table 101 proto static && "
      "ip route add 10.99.0.0/16 dev istioin table 100 proto boot && "
      "ip route add 10.97.0.0/16 dev istioin table 4242 proto static");
  // A table's finding is at the first route that fills it: the line after
  // its block's header.
  auto first_route = [](const std::string& header) {
    const std::string line = at(header);
    const size_t colon = line.rfind(':', line.size() - 3);
    return line.substr(0, colon + 1) + std::to_string(std::stoi(line.substr(colon + 1)) + 1) +
           ":3";
  };
  const std::string table_100 = "route-table " + first_route("route 100 {");
  const std::string table_101 = "route-table " + first_route("route 101 {");
  const std::multiset<std::string> both{table_100, table_101};
  Run run = node.ztc("preflight --json " + kExample);
  BOOST_TEST(run.exit_code == 1, run.out << run.err);
  BOOST_TEST(findings(run) == both, boost::test_tools::per_element());
  BOOST_TEST(nodes(run) ==
             "ip route 10.99.0.0/16 dev istioin table 100 proto 3\n"
             "ip route 10.98.0.0/16 dev istioout table 101 proto 4\n");

  // The tables of the route-table warnings of a load.
  auto warned = [](const Run& load) {
    std::multiset<std::string> tables;
    std::istringstream lines(load.err);
    for (std::string line; std::getline(lines, line);) {
      if (line.find(": warning: route-table: ip route ") == std::string::npos) continue;
      const size_t table = line.find(" table ") + 7;
      tables.insert(line.substr(table, line.find(' ', table) - table));
    }
    return tables;
  };
  // First load: nothing of ztc's is live, table 100 is read.
  Run first = node.ztc("load " + kExample);
  BOOST_TEST(first.exit_code == 0, first.err);
  BOOST_TEST(warned(first) == (std::multiset<std::string>{"100", "101"}),
             boost::test_tools::per_element());
  Run members = node.ztc("set add " + kExample + " pods 10.244.1.5 10.244.1.6");
  BOOST_TEST(members.exit_code == 0, members.err);
  BOOST_TEST(node.run("ip route show table 100 proto 123").output ==
             "10.244.1.5 via 192.168.126.2 dev istioin src 10.244.1.1 \n"
             "10.244.1.6 via 192.168.126.2 dev istioin src 10.244.1.1 \n");
  // A re-load: table 101 is still read, table 100 (the member routes') not.
  Run reload = node.ztc("load " + kExample);
  BOOST_TEST(reload.exit_code == 0, reload.err);
  BOOST_TEST(reload.out.find("members untouched") != std::string::npos, reload.out);
  BOOST_TEST(warned(reload) == std::multiset<std::string>{"101"},
             boost::test_tools::per_element());
  // --strict reads everything, and refuses.
  Run strict = node.ztc("load --strict " + kExample);
  BOOST_TEST(strict.exit_code == 1);
  BOOST_TEST(warned(strict) == (std::multiset<std::string>{"100", "101"}),
             boost::test_tools::per_element());
  BOOST_TEST(findings(node.ztc("preflight --json " + kExample)) == both,
             boost::test_tools::per_element());
  // Without the foreign routes, a node holding only ztc's own is clean.
  node.must("ip route del 10.98.0.0/16 table 101 && ip route del 10.99.0.0/16 table 100");
  run = node.ztc("preflight " + kExample);
  BOOST_TEST(run.exit_code == 0, run.out << run.err);
  BOOST_TEST(run.out == "no conflicts\n");
}

// Each iptables-*-save is a process on every load: one runs only when its
// backend holds a table in the namespace. None on a node without iptables;
// the two IPv4 ones once iptables-legacy and iptables-nft each hold a rule
// (whose findings the test above checks).
BOOST_AUTO_TEST_CASE(load_runs_an_iptables_save_only_for_a_backend_with_tables,
                     *boost::unit_test::label("kernel")) {
  if (run_command("command -v strace >/dev/null").exit_code != 0) {
    BOOST_TEST_MESSAGE("strace is not installed: not checked");
    return;
  }
  AmbientNode node("ztc-preflight");
  testing::TempDir dir;
  auto saves_run = [&] {
    const std::string trace = dir.file("trace");
    // LeakSanitizer cannot run under ptrace: off for the traced ztc (ASan builds).
    Run load = node.ztc("load " + kExample, "",
                        "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" strace -f "
                        "-qq -e trace=execve -o " +
                            shell_quote(trace) + " ");
    BOOST_TEST(load.exit_code == 0, load.out << load.err);
    std::set<std::string> programs;
    std::istringstream lines(testing::read_file(trace));
    for (std::string line; std::getline(lines, line);) {
      size_t start = line.find("execve(\"");
      if (start == std::string::npos) continue;
      start += 8;
      std::string path = line.substr(start, line.find('"', start) - start);
      std::string program = path.substr(path.rfind('/') + 1);
      if (program.find("tables-") != std::string::npos && program.size() > 5 &&
          program.compare(program.size() - 5, 5, "-save") == 0) {
        programs.insert(program);
      }
    }
    return programs;
  };
  BOOST_TEST(saves_run() == std::set<std::string>{}, boost::test_tools::per_element());
  node.must(
      "iptables-legacy -A INPUT -p tcp --dport 22 -j ACCEPT && "
      "iptables-nft -A INPUT -p tcp --dport 22 -j ACCEPT");
  BOOST_TEST(saves_run() == (std::set<std::string>{"iptables-legacy-save", "iptables-nft-save"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc
