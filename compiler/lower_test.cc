// Lowering: checked IR -> native nft, printed with nft::format_rule (one rule
// as nft prints it) and nft::emit_text. Policies go through the checker so
// the cases read as policy text; a few build the IR by hand to pin lowering
// decisions independently of the checker.
#include "compiler/lower.h"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "backend/nft_text.h"
#include "compiler/check.h"
#include "compiler/load.h"
#include "testsupport/policies.h"

namespace ztc {
namespace {

// The table without the counter every policy rule has for `ztc stats`
// (rule_counter_name_test.cc pins those): the cases here are about the rest.
nft::Table without_rule_counters(nft::Table table) {
  table.counters.clear();
  for (nft::Chain& chain : table.chains) {
    std::vector<nft::Rule> kept;
    for (nft::Rule& rule : chain.rules) {
      auto& statements = rule.statements;
      statements.erase(std::remove_if(statements.begin(), statements.end(),
                                      [](const nft::Statement& s) {
                                        auto* counter = std::get_if<nft::Counter>(&s);
                                        return counter && !counter->name.empty();
                                      }),
                       statements.end());
      if (!statements.empty()) kept.push_back(std::move(rule));
    }
    chain.rules = std::move(kept);
  }
  return table;
}

// Sets, then chains with their base (type hook priority) and rules.
std::string chains_text(const nft::Table& with_counters) {
  const nft::Table table = without_rule_counters(with_counters);
  std::string out;
  for (const nft::Set& s : table.sets) {
    out += "set " + s.name + " " + s.type + (s.interval ? " interval" : "") +
           (s.managed ? " managed" : "") + " {";
    for (size_t i = 0; i < s.elements.size(); ++i) out += (i ? ", " : " ") + s.elements[i].value;
    out += s.elements.empty() ? "}\n" : " }\n";
  }
  for (const nft::Chain& c : table.chains) {
    out += "chain " + c.name;
    if (c.base) {
      out += std::string(" (") + nft::chain_type_name(c.base->type) + " " +
             nft::hook_name(c.base->hook) + " " + std::to_string(c.base->priority) + ")";
    }
    out += "\n";
    for (const nft::Rule& r : c.rules) out += "  " + nft::format_rule(table.family, r) + "\n";
  }
  return out;
}

using testing::checked_policy;

std::string lowered(const std::string& source) {
  return chains_text(ztc::lower(checked_policy(source)));
}

struct LowerCase {
  const char* name;
  std::string source;
  std::string expected;
};

BOOST_AUTO_TEST_SUITE(lower)

BOOST_AUTO_TEST_CASE(policies_to_nft_rules) {
  const std::vector<LowerCase> cases = {
      {"mark arithmetic: |=, =, &= ~ and a field set through its mask",
       "table ip t\n"
       "mark a = 0x1\n"
       "mark two = 0x30\n"
       "mark field 0x100/0xf00\n"
       "capture prerouting {\n"
       "  => mark |= a\n"
       "  => mark |= two\n"
       "  => mark = a\n"
       "  => mark &= ~two\n"
       "  => mark |= field\n"
       "  => mark = field\n"
       "  => mark &= ~field\n"
       "  => ct mark |= a\n"
       "  => ct mark = 0xffffffff\n"
       "  => ct mark &= ~a\n"
       "  => ct mark |= field\n"
       "}\n",
       "chain prerouting (filter prerouting -150)\n"
       "  meta mark set meta mark | 0x00000001\n"
       "  meta mark set meta mark | 0x00000030\n"
       "  meta mark set 0x00000001\n"
       "  meta mark set meta mark & 0xffffffcf\n"
       "  meta mark set meta mark & 0xfffff0ff | 0x00000100\n"
       "  meta mark set 0x00000100\n"
       "  meta mark set meta mark & 0xfffff0ff\n"
       "  ct mark set ct mark | 0x00000001\n"
       "  ct mark set 0xffffffff\n"
       "  ct mark set ct mark & 0xfffffffe\n"
       "  ct mark set ct mark & 0xfffff0ff | 0x00000100\n"},
      {"mark matches: bits, whole values, ct mark",
       "table ip t\n"
       "mark proxy = 0x210\n"
       "mark field 0x100/0xf00\n"
       "capture prerouting {\n"
       "  mark has proxy => return\n"
       "  mark lacks proxy => return\n"
       "  ct mark has field => return\n"
       "  ct mark lacks field => return\n"
       "  mark == 0x5 => return\n"
       "  ct mark != 0x0 => return\n"
       "}\n",
       "chain prerouting (filter prerouting -150)\n"
       "  meta mark & 0x00000210 == 0x00000210 return\n"
       "  meta mark & 0x00000210 != 0x00000210 return\n"
       "  ct mark & 0x00000f00 == 0x00000100 return\n"
       "  ct mark & 0x00000f00 != 0x00000100 return\n"
       "  meta mark 0x00000005 return\n"
       "  ct mark != 0x00000000 return\n"},
      {"ct save: OR form when the rule tests every copied bit",
       "table ip t\n"
       "mark conn_skip = 0x220\n"
       "mark skip = 0x200\n"
       "capture forward {\n"
       "  mark has conn_skip => ct save conn_skip\n"
       "  mark has conn_skip => ct save skip\n"
       "  ct mark has conn_skip => ct restore conn_skip\n"
       "}\n",
       "chain forward (filter forward -150)\n"
       "  meta mark & 0x00000220 == 0x00000220 ct mark set ct mark | 0x00000220\n"
       "  meta mark & 0x00000220 == 0x00000220 ct mark set ct mark | 0x00000200\n"
       "  ct mark & 0x00000220 == 0x00000220 meta mark set meta mark | 0x00000220\n"},
      {"ct save and restore: an exact per-bit chain otherwise, shared by its users",
       "table ip t\n"
       "mark a = 0x5\n"
       "capture forward {\n"
       "  udp => ct save a\n"
       "  mark has 0x1 => ct save a\n"
       "  ct mark has a => ct save a\n"
       "  tcp => ct restore a\n"
       "}\n"
       "capture input {\n"
       "  => ct save a\n"
       "}\n",
       "chain forward (filter forward -150)\n"
       "  meta l4proto udp jump ct_save_5\n"
       "  meta mark & 0x00000001 == 0x00000001 jump ct_save_5\n"
       "  ct mark & 0x00000005 == 0x00000005 jump ct_save_5\n"
       "  meta l4proto tcp jump ct_restore_5\n"
       "chain input (filter input -150)\n"
       "  jump ct_save_5\n"
       "chain ct_save_5\n"
       "  meta mark & 0x00000001 == 0x00000001 ct mark set ct mark | 0x00000001\n"
       "  meta mark & 0x00000001 == 0x00000000 ct mark set ct mark & 0xfffffffe\n"
       "  meta mark & 0x00000004 == 0x00000004 ct mark set ct mark | 0x00000004\n"
       "  meta mark & 0x00000004 == 0x00000000 ct mark set ct mark & 0xfffffffb\n"
       "chain ct_restore_5\n"
       "  ct mark & 0x00000001 == 0x00000001 meta mark set meta mark | 0x00000001\n"
       "  ct mark & 0x00000001 == 0x00000000 meta mark set meta mark & 0xfffffffe\n"
       "  ct mark & 0x00000004 == 0x00000004 meta mark set meta mark | 0x00000004\n"
       "  ct mark & 0x00000004 == 0x00000000 meta mark set meta mark & 0xfffffffb\n"},
      {"a jump followed by more actions moves them to a chain: goto when the rule ends in a "
       "verdict",
       "table ip t\n"
       "mark a = 0x3\n"
       "capture forward {\n"
       "  udp => ct save a, mark |= 0x4, return\n"
       "  tcp => ct save a, ct restore 0x30, accept\n"
       "}\n",
       "chain forward (filter forward -150)\n"
       "  meta l4proto udp goto forward_actions_4_3\n"
       "  meta l4proto tcp goto forward_actions_5_3\n"
       "chain ct_save_3\n"
       "  meta mark & 0x00000001 == 0x00000001 ct mark set ct mark | 0x00000001\n"
       "  meta mark & 0x00000001 == 0x00000000 ct mark set ct mark & 0xfffffffe\n"
       "  meta mark & 0x00000002 == 0x00000002 ct mark set ct mark | 0x00000002\n"
       "  meta mark & 0x00000002 == 0x00000000 ct mark set ct mark & 0xfffffffd\n"
       "chain forward_actions_4_3\n"
       "  jump ct_save_3\n"
       "  meta mark set meta mark | 0x00000004 return\n"
       "chain ct_restore_30\n"
       "  ct mark & 0x00000010 == 0x00000010 meta mark set meta mark | 0x00000010\n"
       "  ct mark & 0x00000010 == 0x00000000 meta mark set meta mark & 0xffffffef\n"
       "  ct mark & 0x00000020 == 0x00000020 meta mark set meta mark | 0x00000020\n"
       "  ct mark & 0x00000020 == 0x00000000 meta mark set meta mark & 0xffffffdf\n"
       "chain forward_actions_5_3\n"
       "  jump ct_save_3\n"
       "  jump ct_restore_30\n"
       "  accept\n"},
      {"a jump followed by more actions moves them to a chain: jump when evaluation goes on",
       "table ip t\n"
       "mark a = 0x3\n"
       "capture forward {\n"
       "  udp => ct save a, mark |= 0x4\n"
       "  => counter, ct save a, ct restore 0x30\n"
       "  tcp => mark |= 0x8, ct save a\n"
       "}\n",
       "chain forward (filter forward -150)\n"
       "  meta l4proto udp jump forward_actions_4_3\n"
       "  jump forward_actions_5_3\n"
       "  meta l4proto tcp meta mark set meta mark | 0x00000008 jump ct_save_3\n"
       "chain ct_save_3\n"
       "  meta mark & 0x00000001 == 0x00000001 ct mark set ct mark | 0x00000001\n"
       "  meta mark & 0x00000001 == 0x00000000 ct mark set ct mark & 0xfffffffe\n"
       "  meta mark & 0x00000002 == 0x00000002 ct mark set ct mark | 0x00000002\n"
       "  meta mark & 0x00000002 == 0x00000000 ct mark set ct mark & 0xfffffffd\n"
       "chain forward_actions_4_3\n"
       "  jump ct_save_3\n"
       "  meta mark set meta mark | 0x00000004\n"
       "chain ct_restore_30\n"
       "  ct mark & 0x00000010 == 0x00000010 meta mark set meta mark | 0x00000010\n"
       "  ct mark & 0x00000010 == 0x00000000 meta mark set meta mark & 0xffffffef\n"
       "  ct mark & 0x00000020 == 0x00000020 meta mark set meta mark | 0x00000020\n"
       "  ct mark & 0x00000020 == 0x00000000 meta mark set meta mark & 0xffffffdf\n"
       "chain forward_actions_5_3\n"
       "  counter jump ct_save_3\n"
       "  jump ct_restore_30\n"},
      {"no nat in an ip table: dnat at prerouting/output, snat at postrouting/input",
       "table ip t\n"
       "mark o = 0x100\n"
       "nat prerouting, output, postrouting, input { mark has o => no nat }\n",
       "chain nat_prerouting (nat prerouting -110)\n"
       "  meta mark & 0x00000100 == 0x00000100 dnat to ip daddr\n"
       "chain nat_output (nat output -110)\n"
       "  meta mark & 0x00000100 == 0x00000100 dnat to ip daddr\n"
       "chain nat_postrouting (nat postrouting 90)\n"
       "  meta mark & 0x00000100 == 0x00000100 snat to ip saddr\n"
       "chain nat_input (nat input 90)\n"
       "  meta mark & 0x00000100 == 0x00000100 snat to ip saddr\n"},
      {"no nat in an ip6 table",
       "table ip6 t\n"
       "nat prerouting, postrouting { => no nat }\n",
       "chain nat_prerouting (nat prerouting -110)\n"
       "  dnat to ip6 daddr\n"
       "chain nat_postrouting (nat postrouting 90)\n"
       "  snat to ip6 saddr\n"},
      {"no nat in inet: one rule per family unless an address fixes it",
       "table inet t\n"
       "mark o = 0x100\n"
       "nat prerouting, postrouting {\n"
       "  mark has o => no nat\n"
       "  saddr 10.0.0.0/8 => no nat\n"
       "  daddr fd00::/8 => no nat\n"
       "  udp => counter\n"
       "}\n",
       "chain nat_prerouting (nat prerouting -110)\n"
       "  meta mark & 0x00000100 == 0x00000100 meta nfproto ipv4 dnat ip to ip daddr\n"
       "  meta mark & 0x00000100 == 0x00000100 meta nfproto ipv6 dnat ip6 to ip6 daddr\n"
       "  ip saddr 10.0.0.0/8 dnat ip to ip daddr\n"
       "  ip6 daddr fd00::/8 dnat ip6 to ip6 daddr\n"
       "  meta l4proto udp counter\n"
       "chain nat_postrouting (nat postrouting 90)\n"
       "  meta mark & 0x00000100 == 0x00000100 meta nfproto ipv4 snat ip to ip saddr\n"
       "  meta mark & 0x00000100 == 0x00000100 meta nfproto ipv6 snat ip6 to ip6 saddr\n"
       "  ip saddr 10.0.0.0/8 snat ip to ip saddr\n"
       "  ip6 daddr fd00::/8 snat ip6 to ip6 saddr\n"
       "  meta l4proto udp counter\n"},
      {"dnat to an address and port in each family",
       "table inet t\n"
       "nat output {\n"
       "  udp dport 53 => dnat to 10.96.0.10:53\n"
       "  tcp dport 53 => dnat to [fd00::10]:53\n"
       "  daddr 10.0.0.1 => dnat to 10.96.0.10\n"
       "  daddr fd00::1 => dnat to fd00::10\n"
       "}\n",
       "chain nat_output (nat output -110)\n"
       "  meta l4proto udp th dport 53 dnat ip to 10.96.0.10:53\n"
       "  meta l4proto tcp th dport 53 dnat ip6 to [fd00::10]:53\n"
       "  ip daddr 10.0.0.1 dnat ip to 10.96.0.10\n"
       "  ip6 daddr fd00::1 dnat ip6 to fd00::10\n"},
      {"dnat in ip and ip6 tables names no family",
       "table ip6 t\n"
       "nat prerouting {\n"
       "  udp dport 53 => dnat to [fd00::10]:53\n"
       "  => dnat to fd00::10\n"
       "}\n",
       "chain nat_prerouting (nat prerouting -110)\n"
       "  meta l4proto udp th dport 53 dnat to [fd00::10]:53\n"
       "  dnat to fd00::10\n"},
      {"interface dispatch, equal actions: one rule on an anonymous set",
       "table ip t\n"
       "capture prerouting {\n"
       "  iif \"a\", \"b\" => mark |= 0x1, return\n"
       "  iif \"c\" => mark |= 0x1, return\n"
       "  iif \"b\", \"d\" => mark |= 0x1, return\n"
       "  udp => return\n"
       "}\n",
       "chain prerouting (filter prerouting -150)\n"
       "  iifname { \"a\", \"b\", \"c\", \"d\" } meta mark set meta mark | 0x00000001 return\n"
       "  meta l4proto udp return\n"},
      {"interface dispatch, different actions: a verdict map with goto chains",
       "table ip t\n"
       "capture prerouting {\n"
       "  iif \"a\", \"b\" => mark |= 0x1, return\n"
       "  iif \"c\" => mark |= 0x2, return\n"
       "  iif \"b\", \"d\" => accept\n"
       "  iif \"e\" => mark |= 0x1, return\n"
       "  iif \"f\" => return\n"
       "  udp => return\n"
       "}\n",
       "chain prerouting (filter prerouting -150)\n"
       "  iifname vmap { \"a\" : goto prerouting_iif_3_3, \"b\" : goto prerouting_iif_3_3, \"c\" : "
       "goto prerouting_iif_4_3, \"d\" : goto prerouting_iif_5_3, \"e\" : goto prerouting_iif_3_3, "
       "\"f\" : goto prerouting_iif_7_3 }\n"
       "  meta l4proto udp return\n"
       "chain prerouting_iif_3_3\n"
       "  meta mark set meta mark | 0x00000001\n"
       "chain prerouting_iif_4_3\n"
       "  meta mark set meta mark | 0x00000002\n"
       "chain prerouting_iif_5_3\n"
       "  accept\n"
       "chain prerouting_iif_7_3\n"},
      {"interface dispatch needs a run of two plain iif rules ending in a verdict",
       "table ip t\n"
       "group g = { \"x\", \"y\" }\n"
       "capture prerouting {\n"
       "  iif \"a\" => return\n"
       "  udp => return\n"
       "  iif \"b\" => mark |= 0x1\n"
       "  iif \"c\" => return\n"
       "  iif != \"d\" => return\n"
       "  iif \"e\" => return\n"
       "  iif g => return\n"
       "  iif \"f\" udp => return\n"
       "  iif \"h\" => drop\n"
       "}\n",
       "set g ifname { \"x\", \"y\" }\n"
       "chain prerouting (filter prerouting -150)\n"
       "  iifname \"a\" return\n"
       "  meta l4proto udp return\n"
       "  iifname \"b\" meta mark set meta mark | 0x00000001\n"
       "  iifname \"c\" return\n"
       "  iifname != \"d\" return\n"
       "  iifname \"e\" return\n"
       "  iifname @g return\n"
       "  iifname \"f\" meta l4proto udp return\n"
       "  iifname \"h\" drop\n"},
      {"matches: interfaces, addresses, sets, protocols, ports",
       "table ip t\n"
       "set pods: ipv4 managed\n"
       "set nets: ipv4net = { 10.0.0.0/8, 192.168.1.1 }\n"
       "set ports: port = { 80, 443 }\n"
       "set names: ifname = { \"eth0\" }\n"
       "group g = { \"x\", \"y\" }\n"
       "capture forward {\n"
       "  iif \"a\" oif != \"b\", \"c\" => return\n"
       "  oif g => return\n"
       "  saddr @pods daddr != @nets => return\n"
       "  saddr 10.0.0.1, 10.1.0.0/16 => return\n"
       "  daddr != 10.0.0.1 => return\n"
       "  tcp => return\n"
       "  udp dport 53 => return\n"
       "  tcp sport != 1-1023, 8080 => return\n"
       "  tcp dport 80-90 => return\n"
       "}\n",
       "set pods ipv4_addr managed {}\n"
       "set nets ipv4_addr interval { 10.0.0.0/8, 192.168.1.1 }\n"
       "set ports inet_service { 80, 443 }\n"
       "set names ifname { \"eth0\" }\n"
       "set g ifname { \"x\", \"y\" }\n"
       "chain forward (filter forward -150)\n"
       "  iifname \"a\" oifname != { \"b\", \"c\" } return\n"
       "  oifname @g return\n"
       "  ip saddr @pods ip daddr != @nets return\n"
       "  ip saddr { 10.0.0.1, 10.1.0.0/16 } return\n"
       "  ip daddr != 10.0.0.1 return\n"
       "  meta l4proto tcp return\n"
       "  meta l4proto udp th dport 53 return\n"
       "  meta l4proto tcp th sport != { 1-1023, 8080 } return\n"
       "  meta l4proto tcp th dport 80-90 return\n"},
      {"bypass: one protocol, or a lookup on protocol . port",
       "table ip t\n"
       "bypass udp 6081, 7000-7010\n"
       "capture prerouting { bypass => return }\n",
       "chain prerouting (filter prerouting -150)\n"
       "  meta l4proto udp th dport { 6081, 7000-7010 } return\n"},
      {"bypass of several protocols",
       "table ip t\n"
       "bypass udp 6081\n"
       "bypass tcp 15008, 15001\n"
       "capture prerouting { bypass => return }\n",
       "chain prerouting (filter prerouting -150)\n"
       "  meta l4proto . th dport { udp . 6081, tcp . 15008, tcp . 15001 } return\n"},
      {"chains: types and priorities per hook",
       "table ip t\n"
       "capture prerouting, input, forward, output, postrouting { => counter }\n"
       "nat prerouting, input, output, postrouting { => counter }\n",
       "chain prerouting (filter prerouting -150)\n"
       "  counter\n"
       "chain input (filter input -150)\n"
       "  counter\n"
       "chain forward (filter forward -150)\n"
       "  counter\n"
       "chain output (route output -150)\n"
       "  counter\n"
       "chain postrouting (filter postrouting -150)\n"
       "  counter\n"
       "chain nat_prerouting (nat prerouting -110)\n"
       "  counter\n"
       "chain nat_input (nat input 90)\n"
       "  counter\n"
       "chain nat_output (nat output -110)\n"
       "  counter\n"
       "chain nat_postrouting (nat postrouting 90)\n"
       "  counter\n"},
  };
  for (const LowerCase& c : cases) {
    BOOST_TEST_CONTEXT(c.name) { BOOST_TEST(lowered(c.source) == c.expected); }
  }
}

// --- IR built by hand: lowering follows the IR's decisions.

ir::Rule rule(std::vector<ir::Match> matches, std::vector<ir::Action> actions, int line) {
  auto file = std::make_shared<const SourceFile>("h.zt", std::string(40, '\n'));
  return ir::Rule{std::move(matches), std::move(actions), Location{file, line, 3}};
}

ir::Policy one_chain(nft::Family family, bool nat, nft::Hook hook, std::vector<ir::Rule> rules) {
  ir::Policy policy;
  policy.family = family;
  policy.table = "t";
  policy.chains.push_back(ir::Chain{nat, hook, std::move(rules), {}});
  return policy;
}

BOOST_AUTO_TEST_CASE(ct_copy_follows_the_ir_flag) {
  // The same copy, once known to be an OR and once not.
  ir::MarkMatch has{false, ast::MarkOp::has, 0x30, 0x30};
  ir::Policy policy = one_chain(nft::Family::ip, false, nft::Hook::forward,
                                {rule({has}, {ir::CtCopy{true, 0x30, true}}, 1),
                                 rule({has}, {ir::CtCopy{true, 0x30, false}}, 2),
                                 rule({}, {ir::CtCopy{false, 0x80000000, false}}, 3)});
  BOOST_TEST(chains_text(ztc::lower(policy)) ==
             "chain forward (filter forward -150)\n"
             "  meta mark & 0x00000030 == 0x00000030 ct mark set ct mark | 0x00000030\n"
             "  meta mark & 0x00000030 == 0x00000030 jump ct_save_30\n"
             "  jump ct_restore_80000000\n"
             "chain ct_save_30\n"
             "  meta mark & 0x00000010 == 0x00000010 ct mark set ct mark | 0x00000010\n"
             "  meta mark & 0x00000010 == 0x00000000 ct mark set ct mark & 0xffffffef\n"
             "  meta mark & 0x00000020 == 0x00000020 ct mark set ct mark | 0x00000020\n"
             "  meta mark & 0x00000020 == 0x00000000 ct mark set ct mark & 0xffffffdf\n"
             "chain ct_restore_80000000\n"
             "  ct mark & 0x80000000 == 0x80000000 meta mark set meta mark | 0x80000000\n"
             "  ct mark & 0x80000000 == 0x00000000 meta mark set meta mark & 0x7fffffff\n");
}

BOOST_AUTO_TEST_CASE(mark_actions_from_ir) {
  using A = ast::MarkAssign;
  ir::Policy policy =
      one_chain(nft::Family::ip6, false, nft::Hook::output,
                {rule({}, {ir::MarkAction{false, A::or_bits, 0x200, 0x200}}, 1),
                 rule({}, {ir::MarkAction{false, A::or_bits, 0x1000, 0xf000}}, 2),
                 rule({}, {ir::MarkAction{true, A::set_whole, 0, 0}}, 3),
                 rule({}, {ir::MarkAction{true, A::clear_bits, 0x10, 0xff}}, 4),
                 rule({ir::MarkMatch{true, ast::MarkOp::not_equal, 0x7, 0xffffffff}},
                      {ir::Counter{}, ir::Verdict{ast::Verdict::drop}}, 5)});
  BOOST_TEST(chains_text(ztc::lower(policy)) ==
             "chain output (route output -150)\n"
             "  meta mark set meta mark | 0x00000200\n"
             "  meta mark set meta mark & 0xffff0fff | 0x00001000\n"
             "  ct mark set 0x00000000\n"
             "  ct mark set ct mark & 0xffffff00\n"
             "  ct mark != 0x00000007 counter drop\n");
}

// Every rule keeps the policy line it came from, also when it moved to a
// helper chain (dispatch targets, actions chains).
BOOST_AUTO_TEST_CASE(rules_keep_their_policy_location) {
  nft::Table table =
      ztc::lower(checked_policy("table ip t\nmark a = 0x3\ncapture prerouting {\n"
                                "  iif \"a\" => mark |= 0x4, return\n"
                                "  iif \"b\" => accept\n"
                                "  udp => ct save a, return\n}\n"));
  std::map<std::string, std::vector<std::string>> where;
  for (const nft::Chain& chain : table.chains) {
    for (const nft::Rule& r : chain.rules) where[chain.name].push_back(r.location.str());
  }
  using V = std::vector<std::string>;
  BOOST_TEST((where["prerouting"] == V{"p.zt:4:3", "p.zt:6:3"}));
  BOOST_TEST((where["prerouting_iif_4_3"] == V{"p.zt:4:3"}));
  BOOST_TEST((where["prerouting_iif_5_3"] == V{"p.zt:5:3"}));
  BOOST_TEST((where["prerouting_actions_6_3"] == V{"p.zt:6:3", "p.zt:6:3"}));
}

BOOST_AUTO_TEST_CASE(emit_text_of_a_small_policy) {
  nft::Table table = ztc::lower(
      checked_policy("table ip t\nset pods: ipv4 managed = { 10.0.0.1 comment \"uid-1\" }\n"
                     "mark a = 0x3\ncapture prerouting {\n  iif \"a\" => return\n"
                     "  udp => ct save a, return\n}\n"));
  nft::TextOutput out = nft::emit_text(without_rule_counters(table));
  BOOST_TEST(out.text ==
             "table ip t {}\n"
             "delete table ip t\n"
             "table ip t {\n"
             "\tcomment \"managed by ztc\"\n"
             "\tset pods {\n"
             "\t\ttype ipv4_addr\n"
             "\t\telements = { 10.0.0.1 comment \"uid-1\" }\n"
             "\t}\n"
             "\n"
             "\tchain prerouting {\n"
             "\t\t# capture: mangle priority, after conntrack (-200) so ct mark works\n"
             "\t\ttype filter hook prerouting priority -150; policy accept;\n"
             "\t\tiifname \"a\" return\n"
             "\t\tmeta l4proto udp goto prerouting_actions_6_3\n"
             "\t}\n"
             "\n"
             "\tchain ct_save_3 {\n"
             "\t\t# exact save of bits 0x3 into the ct mark\n"
             "\t\tmeta mark & 0x00000001 == 0x00000001 ct mark set ct mark | 0x00000001\n"
             "\t\tmeta mark & 0x00000001 == 0x00000000 ct mark set ct mark & 0xfffffffe\n"
             "\t\tmeta mark & 0x00000002 == 0x00000002 ct mark set ct mark | 0x00000002\n"
             "\t\tmeta mark & 0x00000002 == 0x00000000 ct mark set ct mark & 0xfffffffd\n"
             "\t}\n"
             "\n"
             "\tchain prerouting_actions_6_3 {\n"
             "\t\t# actions of the rule at p.zt:6:3\n"
             "\t\tjump ct_save_3\n"
             "\t\treturn\n"
             "\t}\n"
             "}\n");
  BOOST_REQUIRE(out.line_origin.size() == 30u);
  BOOST_TEST(out.line_origin[0].str() == "p.zt:1:1");   // table ip t {}
  BOOST_TEST(out.line_origin[4].str() == "p.zt:2:1");   // set pods
  BOOST_TEST(out.line_origin[12].str() == "p.zt:5:3");  // iifname "a" return
  BOOST_TEST(out.line_origin[13].str() == "p.zt:6:3");  // goto prerouting_actions_6_3
  BOOST_TEST(out.line_origin[27].str() == "p.zt:6:3");  // jump ct_save_3
}

// DESIGN: every emitted statement remembers the policy line that produced it,
// so that a kernel error is shown at the policy. The shared per-bit copy
// chain has no origin at all (its chain and rules).
BOOST_AUTO_TEST_CASE(copy_chain_rules_have_a_policy_origin) {
  nft::Table table = ztc::lower(
      checked_policy("table ip t\nmark a = 0x3\ncapture forward {\n  udp => ct save a\n}\n"));
  std::vector<std::string> unknown;
  for (const nft::Chain& chain : table.chains) {
    for (const nft::Rule& r : chain.rules) {
      if (!r.location.known())
        unknown.push_back(chain.name + ": " + nft::format_rule(table.family, r));
    }
  }
  BOOST_TEST(unknown.empty(), unknown.size() << " rules without a location, first: "
                                             << (unknown.empty() ? "" : unknown[0]));
}

// Two dispatch rules with different actions on one policy line each need a
// chain of their own. Both chains were named prerouting_iif_<line>: nft then
// merges them into one chain ("accept" then "drop"), and "b" is accepted
// instead of dropped.
BOOST_AUTO_TEST_CASE(dispatch_targets_on_one_line_get_distinct_chains) {
  nft::Table table = ztc::lower(checked_policy(
      "table ip t\ncapture prerouting { iif \"a\" => accept; iif \"b\" => drop }\n"));
  std::set<std::string> names;
  for (const nft::Chain& chain : table.chains) names.insert(chain.name);
  BOOST_TEST(names.size() == table.chains.size(), chains_text(table));
  // "a" and "b" lead to different chains.
  std::map<std::string, std::string> target;
  for (const nft::Chain& chain : table.chains) {
    for (const nft::Rule& r : chain.rules) {
      for (const nft::Statement& s : r.statements) {
        if (auto* vmap = std::get_if<nft::VerdictMap>(&s)) {
          for (const auto& [key, verdict] : vmap->entries) {
            target[std::get<nft::String>(key->value).value] = verdict.chain;
          }
        }
      }
    }
  }
  BOOST_REQUIRE(target.size() == 2u);
  BOOST_TEST(target["a"] != target["b"]);
}

// Helper chains were named <hook>_<kind>_<line>_<col>: a rule in an included
// file at the line and column of one in the including file got the same
// name, nft merged the two chains, and every packet ran both rules' actions.
BOOST_AUTO_TEST_CASE(helper_chains_of_rules_in_two_files_get_distinct_names) {
  MemoryFileSystem files;
  files.add("main.zt",
            "table ip t  include \"inc.zt\"  capture prerouting {\n"
            "  udp => ct save 0x1, mark |= 0x4\n"
            "  iif \"a\" => mark |= 0x10, accept\n"
            "  iif \"b\" => drop\n"
            "}\n");
  files.add("inc.zt",
            "capture prerouting {\n"
            "  tcp => ct save 0x1, mark |= 0x2\n"
            "  iif \"c\" => mark |= 0x20, accept\n"
            "  iif \"d\" => drop\n"
            "}\n");
  Diagnostics diagnostics;
  ast::Policy policy = load_policy("main.zt", files, diagnostics);
  nft::Table table = ztc::lower(check(policy, {}, diagnostics));
  BOOST_TEST_REQUIRE(diagnostics.render() == "");
  std::vector<std::string> names;
  for (const nft::Chain& chain : table.chains) names.push_back(chain.name);
  // The top file keeps the names goldens already have; inc.zt, the second
  // file read, adds f1.
  const std::vector<std::string> expected = {"prerouting",
                                             "prerouting_iif_f1_3_3",
                                             "prerouting_iif_f1_4_3",
                                             "prerouting_iif_3_3",
                                             "prerouting_iif_4_3",
                                             "ct_save_1",
                                             "prerouting_actions_f1_2_3",
                                             "prerouting_actions_2_3"};
  std::multiset<std::string> got(names.begin(), names.end());
  std::multiset<std::string> want(expected.begin(), expected.end());
  BOOST_TEST(got == want, chains_text(table));
}

BOOST_AUTO_TEST_CASE(two_chains_with_one_name_are_an_internal_error) {
  nft::Table table;
  table.family = nft::Family::ip;
  table.name = "t";
  auto file = std::make_shared<const SourceFile>("p.zt", "x\ny\n");
  nft::Chain first;
  first.name = "prerouting_iif_2_3";
  first.location = Location{file, 1, 1};
  nft::Chain second = first;
  second.location = Location{file, 2, 1};
  table.chains = {first, second};
  try {
    require_unique_chain_names(table);
    BOOST_FAIL("two chains named prerouting_iif_2_3 were accepted");
  } catch (const LoweringError& error) {
    BOOST_TEST(error.location.str() == "p.zt:2:1");
    BOOST_TEST(std::string(error.what()) ==
               "two chains named 'prerouting_iif_2_3' (the other is from p.zt:1:1): nft would "
               "merge them and run both rules' actions");
  }
  table.chains[1].name = "prerouting_iif_f1_2_3";
  BOOST_CHECK_NO_THROW(require_unique_chain_names(table));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc
