// The preflight comparison against fake node readings (table-driven), and the
// parsers of iptables-save text and nft JSON listings.
#include "backend/preflight.h"
#include "tools/ztc/preflight_policy.h"

#include <sys/socket.h>

#include <boost/test/unit_test.hpp>
#include <functional>
#include <set>
#include <utility>
#include <string>
#include <vector>

#include "backend/preflight_node.h"
#include "backend/preflight_registry.h"
#include "compiler/compile.h"

namespace ztc::preflight {
namespace {

const char* const kPolicy =
    "table ip ztunnel\n"                                             // 1
    "mark outbound  = 0x100\n"                                       // 2
    "mark skip      = 0x200\n"                                       // 3
    "mark conn_skip = skip | 0x020\n"                                // 4
    "mark proxy_ret = 0x040\n"                                       // 5
    "iface tunnel_in = \"istioin\"\n"                                // 6
    "iface ztunnel   = \"veth1\"\n"                                  // 7
    "bypass udp 6081\n"                                              // 8
    "capture prerouting {\n"                                         // 9
    "  iif tunnel_in => mark |= skip, return\n"                      // 10
    "  bypass => return\n"                                           // 11
    "  ct mark has conn_skip => mark |= skip\n"                      // 12
    "}\n"                                                            // 13
    "capture forward { mark has conn_skip => ct save conn_skip }\n"  // 14
    "nat prerouting { mark has outbound => no nat }\n"               // 15
    "rule 100 fwmark skip goto main\n"                               // 16
    "rule 101 fwmark outbound lookup 101\n"                          // 17
    "rule 103 lookup 100\n"                                          // 18
    "route 101 { default via 10.0.0.2 dev ztunnel onlink }\n"        // 19
    "route 100 { 10.244.1.2 dev ztunnel scope link }\n"              // 20
    "sysctl ztunnel { rp_filter = 0 }\n";                            // 21

PolicyFootprint footprint() {
  MemoryFileSystem files;
  files.add("policy.zt", kPolicy);
  Diagnostics diagnostics;
  auto compiled = compile_policy("policy.zt", files, {}, diagnostics);
  BOOST_REQUIRE_MESSAGE(compiled, diagnostics.render());
  return policy_footprint(compiled->ir, compiled->table);
}

MarkUse use(MarkField field, bool writes, uint32_t mask, const std::string& hint = "") {
  MarkUse u;
  u.field = field;
  u.writes = writes;
  u.mask = mask;
  u.node = "the rule";
  u.owner_hint = hint;
  return u;
}

NodeIpRule ip_rule(uint32_t priority, uint32_t table, std::optional<uint32_t> fwmark = {},
                   IpFamily family = IpFamily::v4) {
  NodeIpRule r;
  r.family = family;
  r.priority = priority;
  r.table = table;
  r.fwmark = fwmark;
  if (fwmark) r.fwmask = *fwmark;
  r.node = "rule " + std::to_string(priority);
  return r;
}

NodeBaseChain base(std::string family, Hook hook, int priority, uint32_t written, bool nats,
                   bool reads = false) {
  NodeBaseChain c;
  c.family = std::move(family);
  c.hook = hook;
  c.priority = priority;
  c.written_bits = written;
  c.writes_marks = written != 0;
  c.nats = nats;
  c.reads_marks = reads;
  c.node = "chain";
  return c;
}

struct Case {
  const char* name;
  std::function<void(NodeFootprint&)> node;
  // "kind line:col owner" per finding, in order.
  std::vector<std::string> expected;
};

std::string summary(const Finding& f) {
  return f.kind + " " + std::to_string(f.policy.line) + ":" + std::to_string(f.policy.column) +
         (f.owner.empty() ? "" : " " + f.owner);
}

BOOST_AUTO_TEST_SUITE(preflight)

BOOST_AUTO_TEST_CASE(compare_finds_each_kind_at_its_policy_line) {
  PolicyFootprint policy = footprint();
  const std::vector<Case> cases = {
      {"clean node", [](NodeFootprint&) {}, {}},
      {"Cilium's mark field overlaps outbound, skip, conn_skip",
       [](NodeFootprint& n) {
         n.marks.push_back(use(MarkField::packet, true, 0xf00, "CILIUM_PRE_mangle"));
       },
       {"mark 2:1 Cilium", "mark 3:1 Cilium", "mark 4:1 Cilium"}},
      {"one rule that reads and writes the field: one finding per mark",
       [](NodeFootprint& n) {
         n.marks.push_back(use(MarkField::packet, false, 0xf00, "CILIUM_PRE_mangle"));
         n.marks.push_back(use(MarkField::packet, true, 0xf00, "CILIUM_PRE_mangle"));
       },
       {"mark 2:1 Cilium", "mark 3:1 Cilium", "mark 4:1 Cilium"}},
      {"kube-proxy's 0x4000 is clear of every mark",
       [](NodeFootprint& n) {
         n.marks.push_back(use(MarkField::packet, true, 0x4000, "kube-proxy"));
       },
       {}},
      {"masks compare exactly: a mask beside the policy's bits is no conflict",
       [](NodeFootprint& n) { n.marks.push_back(use(MarkField::packet, false, 0x1080)); },
       {}},
      {"a whole-mark reader meets every mark",
       [](NodeFootprint& n) { n.marks.push_back(use(MarkField::packet, false, 0xffffffff)); },
       {"mark 2:1", "mark 3:1", "mark 4:1", "mark 5:1"}},
      {"ct mark: only marks the policy keeps on the ct mark",
       [](NodeFootprint& n) {
         n.marks.push_back(use(MarkField::conntrack, true, 0x120));  // 0x100: outbound, packet only
       },
       {"mark 4:1"}},
      {"same priority as rule 100 (Cilium's local rule)",
       [](NodeFootprint& n) { n.rules.push_back(ip_rule(100, 255)); },
       {"rule-priority 16:1 Cilium"}},
      {"between the policy's rules, shadowing rule 103",
       [](NodeFootprint& n) { n.rules.push_back(ip_rule(102, 7)); },
       {"rule-priority 18:1"}},
      {"between, with a mark no later rule of the policy tests: rule 103 matches any mark",
       [](NodeFootprint& n) { n.rules.push_back(ip_rule(102, 7, 0x4000)); },
       {"rule-priority 18:1"}},
      {"at rule 101's priority, whatever it matches",
       [](NodeFootprint& n) { n.rules.push_back(ip_rule(101, 7, 0x4000)); },
       {"rule-priority 17:1"}},
      {"outside the policy's priorities, the kernel's defaults, the other family",
       [](NodeFootprint& n) {
         n.rules.push_back(ip_rule(50, 7));
         n.rules.push_back(ip_rule(200, 7));
         n.rules.push_back(ip_rule(0, 255));
         n.rules.push_back(ip_rule(32766, 254));
         n.rules.push_back(ip_rule(32767, 253));
         n.rules.push_back(ip_rule(100, 7, {}, IpFamily::v6));
       },
       {}},
      {"foreign routes in tables 100 and 101; none of them v6",
       [](NodeFootprint& n) {
         n.route_tables.push_back({IpFamily::v4, 100, 2, "route a"});
         n.route_tables.push_back({IpFamily::v4, 101, 1, "route b"});
         n.route_tables.push_back({IpFamily::v6, 100, 1, "route c"});
         n.route_tables.push_back({IpFamily::v4, 2004, 1, "route d"});
       },
       {"route-table 20:13", "route-table 19:13"}},
      {"OVN's geneve on the bypass port; the policy's own geneve is fine",
       [](NodeFootprint& n) {
         n.tunnels.push_back({"genev_sys_6081", "geneve", 6081});
         n.tunnels.push_back({"istioin", "geneve", 6081});
         n.tunnels.push_back({"flannel.1", "vxlan", 8472});
         n.sockets.push_back({"udp", 6081, "udp socket"});
       },
       {"port 8:1 OVN-Kubernetes"}},
      {"a plain socket on the bypass port",
       [](NodeFootprint& n) {
         n.sockets.push_back({"udp", 6081, "udp socket"});
         n.sockets.push_back({"tcp", 6081, "tcp socket"});
       },
       {"port 8:1"}},
      // The -150 chain also runs before the nat chain (-110) and writes outbound's bit.
      {"hooks: same priority with marks; before with NAT; not: no marks, other family",
       [](NodeFootprint& n) {
         n.chains.push_back(base("ip", Hook::prerouting, -150, 0xf00, false));
         n.chains.push_back(base("inet", Hook::prerouting, -110, 0, false));  // kube-proxy filter
         n.chains.push_back(base("ip6", Hook::prerouting, -150, 0xf00, false));
         n.chains.push_back(base("ip", Hook::forward, -200, 0x4000, false));  // clear of ours
         n.chains.push_back(base("ip", Hook::prerouting, -300, 0, true));
       },
       {"hook 9:1", "hook 9:1", "hook 15:1", "hook 15:1"}},
      {"both iptables backends hold rules",
       [](NodeFootprint& n) {
         n.iptables.push_back({"iptables-legacy", 3, "mangle"});
         n.iptables.push_back({"iptables-nft", 1, "nat"});
       },
       {"iptables 1:1"}},
      {"one iptables backend is fine",
       [](NodeFootprint& n) {
         n.iptables.push_back({"iptables-nft", 9, "nat"});
       },
       {}},
      {"strict rp_filter: conf.all over the policy's 0; an interface's own",
       [](NodeFootprint& n) {
         n.devices = {"lo", "veth1", "istioin"};
         n.sysctls = {{"net.ipv4.conf.all.rp_filter", "1"},
                      {"net.ipv4.conf.veth1.rp_filter", "0"},
                      {"net.ipv4.conf.istioin.rp_filter", "1"}};
       },
       {"sysctl 10:3", "sysctl 21:18"}},
      {"systemd-networkd removes foreign rules: reported at the first rule",
       [](NodeFootprint& n) { n.rule_removers.push_back("networkd"); },
       {"rule-priority 16:1 systemd-networkd"}},
      {"loose rp_filter and absent devices are fine",
       [](NodeFootprint& n) {
         n.devices = {"lo", "veth1"};
         n.sysctls = {{"net.ipv4.conf.all.rp_filter", "2"},
                      {"net.ipv4.conf.istioin.rp_filter", "1"}};
       },
       {}},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      NodeFootprint node;
      c.node(node);
      std::vector<std::string> got;
      for (const Finding& finding : compare(policy, node)) got.push_back(summary(finding));
      std::sort(got.begin(), got.end());
      std::vector<std::string> expected = c.expected;
      std::sort(expected.begin(), expected.end());
      BOOST_TEST(got == expected, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(a_finding_says_what_why_and_what_to_do) {
  NodeFootprint node;
  MarkUse cilium = use(MarkField::packet, true, 0xf00, "CILIUM_PRE_mangle");
  cilium.node = "iptables-legacy -t mangle -A CILIUM_PRE_mangle -j MARK --set-xmark 0x200/0xf00";
  node.marks.push_back(cilium);
  PolicyFootprint policy = footprint();
  std::vector<Finding> findings = compare(policy, node);
  BOOST_REQUIRE_EQUAL(findings.size(), 3u);
  BOOST_TEST(render_text({findings[1]}) ==
             "mark: iptables-legacy -t mangle -A CILIUM_PRE_mangle -j MARK --set-xmark "
             "0x200/0xf00\n"
             "  policy: policy.zt:3:1: mark skip      = 0x200\n"
             "  why: mark skip = 0x200 overlaps bits 0x200 that this rule (Cilium) writes on the "
             "packet mark (mask 0xf00): it can set or clear the policy's bits, so packets are "
             "captured, skipped or routed by someone else's decision\n"
             "  fix: choose bits for mark skip outside 0xf00 (bits no one on this node uses: "
             "0xfffff0ff)\n");
  BOOST_TEST(render_json({findings[1]}).find("\"policy\": \"policy.zt:3:1\"") != std::string::npos);
  BOOST_TEST(render_json({}) == "{\n  \"conflicts\": []\n}\n");
}

BOOST_AUTO_TEST_CASE(iptables_save_marks_connmark_and_base_chains) {
  const char* save =
      "# Generated by iptables-save v1.8.9\n"
      "*mangle\n"
      ":PREROUTING ACCEPT [0:0]\n"
      ":CILIUM_PRE_mangle - [0:0]\n"
      "-A PREROUTING -m comment --comment \"cilium-feeder: CILIUM_PRE_mangle\" -j "
      "CILIUM_PRE_mangle\n"
      "-A CILIUM_PRE_mangle -m mark ! --mark 0xe00/0xf00 -j MARK --set-xmark 0x200/0xf00\n"
      "-A CILIUM_PRE_mangle -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80\n"
      "COMMIT\n"
      "*nat\n"
      ":POSTROUTING ACCEPT [0:0]\n"
      ":KUBE-POSTROUTING - [0:0]\n"
      "-A POSTROUTING -j KUBE-POSTROUTING\n"
      "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n"
      "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000\n"
      "-A KUBE-POSTROUTING -j MASQUERADE --random-fully\n"
      "COMMIT\n";
  NodeFootprint node;
  std::set<std::string> tables = read_iptables_save("iptables-legacy", false, save, &node);
  BOOST_TEST((tables == std::set<std::string>{"mangle", "nat"}));
  std::vector<std::string> uses;
  for (const MarkUse& u : node.marks) {
    uses.push_back(std::string(u.field == MarkField::packet ? "mark" : "ct") +
                   (u.writes ? " w " : " r ") + hex(u.mask) + " " + u.owner_hint);
  }
  BOOST_TEST(uses == (std::vector<std::string>{
                         "mark r 0xf00 CILIUM_PRE_mangle", "mark w 0xf00 CILIUM_PRE_mangle",
                         "ct r 0x80 CILIUM_PRE_mangle", "mark w 0x80 CILIUM_PRE_mangle",
                         "mark r 0x4000 KUBE-POSTROUTING", "mark w 0x4000 KUBE-POSTROUTING"}),
             boost::test_tools::per_element());
  BOOST_TEST(node.marks[1].node ==
             "iptables-legacy -t mangle -A CILIUM_PRE_mangle -m mark ! --mark 0xe00/0xf00 -j MARK "
             "--set-xmark 0x200/0xf00");
  BOOST_REQUIRE_EQUAL(node.chains.size(), 2u);
  BOOST_TEST(node.chains[0].node ==
             "iptables-legacy -t mangle PREROUTING (priority -150) -> CILIUM_PRE_mangle");
  BOOST_TEST(node.chains[0].written_bits == 0xf80u);
  BOOST_TEST(!node.chains[0].nats);
  BOOST_TEST(node.chains[1].priority == 100);
  BOOST_TEST(node.chains[1].nats);
  BOOST_REQUIRE_EQUAL(node.iptables.size(), 1u);
  BOOST_TEST(node.iptables[0].rules == 7);
  BOOST_TEST(node.iptables[0].tables == "mangle, nat");
}

BOOST_AUTO_TEST_CASE(nft_json_reads_masks_writes_and_jumps) {
  // As nft 1.0.6 prints `meta mark & 0xf00 == 0x200`, `mark set mark or
  // 0x4000`, `ct mark set ct mark and 0xffffff0f` and a jump, in a base chain.
  const char* json = R"({"nftables": [
    {"metainfo": {"version": "1.0.6"}},
    {"table": {"family": "ip", "name": "other", "handle": 1}},
    {"chain": {"family": "ip", "table": "other", "name": "pre", "handle": 1, "type": "filter",
               "hook": "prerouting", "prio": -150, "policy": "accept"}},
    {"chain": {"family": "ip", "table": "other", "name": "marking", "handle": 2}},
    {"rule": {"family": "ip", "table": "other", "chain": "pre", "handle": 3, "expr": [
      {"match": {"op": "==", "left": {"&": [{"meta": {"key": "mark"}}, 3840]}, "right": 512}},
      {"jump": {"target": "marking"}}]}},
    {"rule": {"family": "ip", "table": "other", "chain": "marking", "handle": 4, "expr": [
      {"mangle": {"key": {"meta": {"key": "mark"}},
                  "value": {"|": [{"meta": {"key": "mark"}}, 16384]}}}]}},
    {"rule": {"family": "ip", "table": "other", "chain": "marking", "handle": 5, "expr": [
      {"mangle": {"key": {"ct": {"key": "mark"}},
                  "value": {"&": [{"ct": {"key": "mark"}}, 4294967055]}}}]}},
    {"rule": {"family": "ip", "table": "other", "chain": "marking", "handle": 6, "expr": [
      {"set": {"op": "add", "elem": {"concat": [{"meta": {"key": "mark"}}, {"ct": {"key": "mark"}}]},
               "set": "@seen"}}]}},
    {"table": {"family": "ip", "name": "ztunnel", "handle": 2}},
    {"rule": {"family": "ip", "table": "ztunnel", "chain": "x", "handle": 1, "expr": [
      {"mangle": {"key": {"meta": {"key": "mark"}}, "value": 1}}]}}
  ]})";
  const char* text =
      "table ip other { # handle 1\n"
      "\tchain pre { # handle 1\n"
      "\t\ttype filter hook prerouting priority mangle; policy accept;\n"
      "\t\tmeta mark & 0x00000f00 == 0x00000200 jump marking # handle 3\n"
      "\t}\n"
      "}\n";
  NodeFootprint node;
  std::string error;
  BOOST_REQUIRE(read_nft_ruleset(json, text, {"ip ztunnel"}, &node, &error));
  BOOST_REQUIRE_EQUAL(node.marks.size(), 3u);
  BOOST_TEST(node.marks[0].node ==
             "nft table ip other chain pre handle 3: meta mark & 0x00000f00 == 0x00000200 jump "
             "marking");
  BOOST_TEST(
      (!node.marks[0].writes && node.marks[0].mask == 0xf00u && node.marks[0].value == 0x200u));
  BOOST_TEST((node.marks[1].writes && node.marks[1].mask == 0x4000u));
  BOOST_TEST((node.marks[2].writes && node.marks[2].field == MarkField::conntrack &&
              node.marks[2].mask == 0xf0u));
  BOOST_TEST(node.marks[1].node == "nft table ip other chain marking handle 4");
  BOOST_REQUIRE_EQUAL(node.chains.size(), 1u);
  BOOST_TEST(node.chains[0].written_bits == 0x40f0u);  // through the jump
  BOOST_TEST(node.chains[0].reads_marks);
  BOOST_TEST(node.chains[0].node ==
             "nft table ip other chain pre (filter hook prerouting priority -150)");
  BOOST_TEST(!read_nft_ruleset("not json", "", {}, &node, &error));
}

BOOST_AUTO_TEST_CASE(registry_entries_have_sources_and_are_found_by_name) {
  for (const KnownOwner& owner : known_owners()) {
    BOOST_TEST_CONTEXT(owner.name) { BOOST_TEST(!owner.sources.empty()); }
  }
  for (const char* name : {"cilium", "calico", "kube-proxy-iptables", "kube-proxy-nftables",
                           "flannel", "ovn-kubernetes", "aws-vpc-cni", "systemd-networkd"}) {
    BOOST_TEST(find_owner(name) != nullptr, name);
  }
  BOOST_TEST(owner_of_name("KUBE-MARK-MASQ") == "kube-proxy (iptables)");
  BOOST_TEST(owner_of_name("kube-proxy") == "kube-proxy (nftables)");
  BOOST_TEST(owner_of_name("cali-PREROUTING") == "Calico");
  BOOST_TEST(owner_of_name("genev_sys_6081") == "OVN-Kubernetes");
  BOOST_TEST(owner_of_name("mytable") == "");
  BOOST_TEST(owner_of_rule(9, 2004) == "Cilium");
  BOOST_TEST(owner_of_name("rule:9:2004") == "Cilium");
  BOOST_TEST(owner_of_name("rule:9:2005") == "");
  BOOST_TEST(owner_of_rule(1024, 254) == "AWS VPC CNI");
}

// Which route tables read_node dumps: the policy's, by family; a table of
// member routes only while none of the policy's nft tables is live, when the
// scope says so (`ztc load`).
BOOST_AUTO_TEST_CASE(route_tables_to_read_leaves_the_member_table_to_the_first_load) {
  NodeReadScope scope;
  scope.route_tables = {{IpFamily::v4, 100, true, true, {}},
                        {IpFamily::v4, 101, true, false, {}},
                        {IpFamily::v6, 100, false, false, {}}};
  using Tables = std::set<std::pair<int, uint32_t>>;
  const Tables all{{AF_INET, 100}, {AF_INET, 101}, {AF_INET6, 100}};
  const Tables without_members{{AF_INET, 101}, {AF_INET6, 100}};
  for (bool first_load_only : {false, true}) {
    for (bool live : {false, true}) {
      BOOST_TEST_CONTEXT("first load only: " << first_load_only << ", live: " << live) {
        scope.member_tables_before_first_load_only = first_load_only;
        BOOST_TEST((route_tables_to_read(scope, live) ==
                    (first_load_only && live ? without_members : all)));
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc::preflight
