// The explain interpreter on small nft models written by hand (each case pins
// one piece of the kernel's semantics: verdicts across chains, priorities,
// mark arithmetic, sets, verdict maps, families, NAT, reroute), the routing
// decision on small plans, and a few policies compiled by the real pipeline
// (locations of lowered and helper-chain rules).
#include "backend/explain.h"

#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <vector>

#include "compiler/compile.h"
#include "compiler/load.h"

namespace ztc::explain {
namespace {

using nft::Field;

const SourceFilePtr kFile = std::make_shared<SourceFile>("m.zt", "");

Location at(int line) { return Location{kFile, line, 1}; }

nft::Rule rule(int line, std::vector<nft::Statement> statements) {
  nft::Rule r;
  r.statements = std::move(statements);
  r.location = at(line);
  return r;
}

nft::Chain base(std::string name, nft::Hook hook, int priority, std::vector<nft::Rule> rules,
                nft::ChainType type = nft::ChainType::filter) {
  nft::Chain c;
  c.name = std::move(name);
  c.base = nft::BaseChain{type, hook, priority};
  c.rules = std::move(rules);
  return c;
}

nft::Chain regular(std::string name, std::vector<nft::Rule> rules) {
  nft::Chain c;
  c.name = std::move(name);
  c.rules = std::move(rules);
  return c;
}

nft::Statement mark_or(uint32_t bits) {
  return nft::Mangle{Field::meta_mark, nft::bit_or(nft::field(Field::meta_mark), bits)};
}
nft::Statement has(Field field, uint32_t bits) {
  return nft::Match{nft::bit_and(nft::field(field), bits), nft::MatchOp::eq, nft::integer(bits)};
}
nft::Statement verdict(nft::VerdictKind kind, std::string chain = "") {
  return nft::Verdict{kind, std::move(chain)};
}
nft::Statement match(Field field, nft::ExprPtr right, nft::MatchOp op = nft::MatchOp::eq) {
  return nft::Match{nft::field(field), op, std::move(right)};
}

IpPrefix ip(const std::string& text) { return *parse_ip_prefix(text); }

Packet arriving(const std::string& iif, const std::string& saddr, const std::string& daddr,
                uint32_t mark = 0) {
  Packet p;
  p.iif = iif;
  p.protocol = "tcp";
  p.saddr = ip(saddr);
  p.daddr = ip(daddr);
  p.sport = 40000;
  p.dport = 80;
  p.mark = mark;
  return p;
}

// "hook/chain:line:Y|N" for every nft rule evaluated, in order (routing left out).
std::string trace(const Explanation& e) {
  std::string out;
  for (const Step& s : e.steps) {
    if (s.hook == "routing") continue;
    out += (out.empty() ? "" : " ") + s.hook + "/" + s.chain + ":" +
           std::to_string(s.location.line) + ":" + (s.matched ? "Y" : "N");
  }
  return out;
}

nft::Table table_of(std::vector<nft::Chain> chains, nft::Family family = nft::Family::ip) {
  nft::Table t;
  t.family = family;
  t.name = "t";
  t.chains = std::move(chains);
  return t;
}

struct ChainCase {
  const char* name;
  nft::Table table;
  Packet packet;
  uint32_t mark;
  std::string trace;
  Verdict verdict = Verdict::egress;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(explain_interpreter)

BOOST_AUTO_TEST_CASE(verdicts_across_chains_and_priorities) {
  using nft::Hook;
  using nft::VerdictKind;
  Packet p = arriving("eth0", "10.0.0.1", "10.9.0.1");
  std::vector<ChainCase> cases = {
      {"a jumped chain's return continues the caller with its next rule",
       table_of({base("pre", Hook::prerouting, -150,
                      {rule(1, {verdict(VerdictKind::jump, "sub")}), rule(2, {mark_or(0x2)})}),
                 regular("sub", {rule(3, {mark_or(0x1)}), rule(4, {verdict(VerdictKind::return_)}),
                                 rule(5, {mark_or(0x4)})})}),
       p, 0x3, "prerouting/pre:1:Y prerouting/sub:3:Y prerouting/sub:4:Y prerouting/pre:2:Y"},
      {"the end of a goto'd chain returns from the chain that went there",
       table_of({base("pre", Hook::prerouting, -150,
                      {rule(1, {verdict(VerdictKind::goto_, "sub")}), rule(2, {mark_or(0x2)})}),
                 regular("sub", {rule(3, {mark_or(0x1)})})}),
       p, 0x1, "prerouting/pre:1:Y prerouting/sub:3:Y"},
      {"accept in a jumped chain ends its base chain, not the hook",
       table_of({base("pre", Hook::prerouting, -150,
                      {rule(1, {verdict(VerdictKind::jump, "sub")}), rule(2, {mark_or(0x2)})}),
                 regular("sub", {rule(3, {verdict(VerdictKind::accept)})}),
                 base("later", Hook::prerouting, -100, {rule(4, {mark_or(0x10)})})}),
       p, 0x10, "prerouting/pre:1:Y prerouting/sub:3:Y prerouting/later:4:Y"},
      {"drop ends everything",
       table_of({base("pre", Hook::prerouting, -150, {rule(1, {verdict(VerdictKind::drop)})}),
                 base("later", Hook::prerouting, -100, {rule(2, {mark_or(0x10)})}),
                 base("fwd", Hook::forward, 0, {rule(3, {mark_or(0x20)})})}),
       p, 0x0, "prerouting/pre:1:Y", Verdict::drop},
      {"base chains run by priority, not in table order",
       table_of({base("late", Hook::prerouting, -100,
                      {rule(1, {has(Field::meta_mark, 0x5), mark_or(0x10)})}),
                 base("early", Hook::prerouting, -200,
                      {rule(2, {nft::Mangle{Field::meta_mark, nft::integer(0x5)}})})}),
       p, 0x15, "prerouting/early:2:Y prerouting/late:1:Y"},
      {"forward then postrouting after a forwarding decision",
       table_of({base("post", Hook::postrouting, -150, {rule(1, {mark_or(0x2)})}),
                 base("in", Hook::input, -150, {rule(2, {mark_or(0x4)})}),
                 base("fwd", Hook::forward, -150, {rule(3, {mark_or(0x1)})})}),
       p, 0x3, "forward/fwd:3:Y postrouting/post:1:Y"},
      {"a failing match stops the rule before its actions",
       table_of({base("pre", Hook::prerouting, -150,
                      {rule(1, {mark_or(0x1), has(Field::meta_mark, 0x2), mark_or(0x4)})})}),
       p, 0x1, "prerouting/pre:1:N"},
  };
  for (const ChainCase& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      Explanation e = explain(c.table, {}, c.packet, {});
      BOOST_TEST(hex(e.mark) == hex(c.mark));
      BOOST_TEST(trace(e) == c.trace);
      BOOST_TEST(verdict_name(e.verdict) == verdict_name(c.verdict));
    }
  }
}

BOOST_AUTO_TEST_CASE(mark_arithmetic) {
  using nft::Hook;
  auto value_of = [](Field f, uint32_t clear, uint32_t set) {
    return nft::Mangle{f, nft::bit_or(nft::bit_and(nft::field(f), ~clear), set)};
  };
  nft::Table t = table_of({base(
      "pre", Hook::prerouting, -150,
      {rule(1, {value_of(Field::meta_mark, 0xf00, 0x100)}),  // field 0x100/0xf00
       rule(2, {nft::Mangle{Field::meta_mark, nft::bit_and(nft::field(Field::meta_mark), ~0x10u)}}),
       rule(3, {nft::Mangle{Field::ct_mark, nft::bit_or(nft::field(Field::ct_mark), 0x220)}}),
       rule(4, {has(Field::ct_mark, 0x221), mark_or(0x8)})})});
  Packet p = arriving("eth0", "10.0.0.1", "10.9.0.1", 0x1f10);
  p.ct_mark = 0x1;
  Explanation e = explain(t, {}, p, {});
  BOOST_TEST(hex(e.mark) == "0x1108");
  BOOST_TEST(hex(e.ct_mark) == "0x221");
  BOOST_TEST_REQUIRE(e.steps.size() >= 3u);
  BOOST_TEST(e.steps[0].effect == "mark 0x1f10 -> 0x1110");
  BOOST_TEST(e.steps[2].effect == "ct mark 0x1 -> 0x221");
}

BOOST_AUTO_TEST_CASE(sets_prefixes_intervals_ranges_names) {
  using nft::Hook;
  nft::Table t = table_of({base(
      "pre", Hook::prerouting, -150,
      {rule(1, {match(Field::ip_saddr, nft::set_ref("nets")), mark_or(0x1)}),
       rule(2, {match(Field::th_dport, nft::anon_set({nft::integer(53), nft::range(1000, 2000)})),
                mark_or(0x2)}),
       rule(3, {match(Field::iifname, nft::set_ref("veths")), mark_or(0x4)}),
       rule(4, {match(Field::ip_saddr, nft::set_ref("pods")), mark_or(0x8)}),
       rule(5, {nft::Match{nft::concat({nft::field(Field::l4proto), nft::field(Field::th_dport)}),
                           nft::MatchOp::eq,
                           nft::anon_set({nft::concat({nft::symbol("udp"), nft::integer(6081)}),
                                          nft::concat({nft::symbol("tcp"), nft::integer(1500)})})},
                mark_or(0x10)}),
       rule(6, {match(Field::ip_daddr, nft::address("10.9.0.0/16"), nft::MatchOp::ne),
                mark_or(0x20)})})});
  t.sets = {
      nft::Set{"nets", "ipv4_addr", true, false, {{"192.168.0.0/16", ""}, {"10.0.0.0/8", ""}}, {}},
      nft::Set{"veths", "ifname", false, false, {{"\"veth*\"", ""}}, {}},
      nft::Set{"pods", "ipv4_addr", false, true, {}, {}}};
  Packet p = arriving("veth12", "10.1.2.3", "10.9.0.1");
  p.dport = 1500;
  NodeFacts facts;
  BOOST_TEST(hex(explain(t, {}, p, facts).mark) == "0x17");
  facts.members["pods"] = {"10.1.2.3"};
  BOOST_TEST(hex(explain(t, {}, p, facts).mark) == "0x1f");
  p.dport = 2001;
  p.iif = "eth0";
  Explanation e = explain(t, {}, p, facts);
  BOOST_TEST(hex(e.mark) == "0x9");
  BOOST_TEST(e.steps[1].effect == "th dport is 2001, not in { 53, 1000-2000 }");
  BOOST_TEST(e.steps[2].effect == "iifname is \"eth0\", not in @veths");
  BOOST_TEST(e.steps[5].effect == "ip daddr is 10.9.0.1 (the rule wants != 10.9.0.0/16)");
}

BOOST_AUTO_TEST_CASE(verdict_map_dispatch) {
  using nft::Hook;
  using nft::VerdictKind;
  nft::VerdictMap map{nft::field(Field::iifname),
                      {{nft::string("a"), nft::Verdict{VerdictKind::goto_, "ca"}},
                       {nft::string("b"), nft::Verdict{VerdictKind::goto_, "cb"}}}};
  nft::Table t = table_of(
      {base("pre", Hook::prerouting, -150, {rule(1, {map}), rule(2, {mark_or(0x100)})}),
       regular("ca", {rule(3, {mark_or(0x1)})}), regular("cb", {rule(4, {mark_or(0x2)})})});
  Explanation b = explain(t, {}, arriving("b", "10.0.0.1", "10.9.0.1"), {});
  BOOST_TEST(hex(b.mark) == "0x2");
  BOOST_TEST(trace(b) == "prerouting/pre:1:Y prerouting/cb:4:Y");
  Explanation c = explain(t, {}, arriving("c", "10.0.0.1", "10.9.0.1"), {});
  BOOST_TEST(hex(c.mark) == "0x100");
  BOOST_TEST(c.steps[0].effect == "iifname is \"c\": not in the verdict map");
}

BOOST_AUTO_TEST_CASE(families_of_ip_and_inet_tables) {
  using nft::Hook;
  std::vector<nft::Chain> chains = {base(
      "pre", Hook::prerouting, -150,
      {rule(1, {match(Field::ip_saddr, nft::address("0.0.0.0/0")), mark_or(0x1)}),
       rule(2, {match(Field::nfproto, nft::symbol("ipv6")), mark_or(0x2)}),
       rule(3,
            {match(Field::ip6_saddr, nft::address("fd00::/8"), nft::MatchOp::ne), mark_or(0x4)})})};
  Packet v6 = arriving("eth0", "fd00::1", "fd00::2");
  Packet v4 = arriving("eth0", "10.0.0.1", "10.0.0.2");
  Explanation inet6 = explain(table_of(chains, nft::Family::inet), {}, v6, {});
  BOOST_TEST(hex(inet6.mark) == "0x2");
  BOOST_TEST(inet6.steps[0].effect == "ip saddr: an ipv6 packet has none");
  // `!=` on a header the packet does not have fails too, as in nft.
  BOOST_TEST(hex(explain(table_of(chains, nft::Family::inet), {}, v4, {}).mark) == "0x1");
  Explanation ip_table = explain(table_of(chains, nft::Family::ip), {}, v6, {});
  BOOST_TEST(trace(ip_table) == "");
  BOOST_TEST(ip_table.notes.at(0) == "table ip t does not see ipv6 packets: no rule applies");
}

BOOST_AUTO_TEST_CASE(missing_headers_and_unknown_fields) {
  using nft::Hook;
  nft::Table t = table_of(
      {base("pre", Hook::prerouting, -150,
            {rule(1, {match(Field::th_dport, nft::integer(53), nft::MatchOp::ne), mark_or(0x1)}),
             rule(2, {match(Field::ip_saddr, nft::address("10.0.0.1"), nft::MatchOp::ne),
                      mark_or(0x2)})})});
  Packet p = arriving("eth0", "10.0.0.5", "10.9.0.1");
  p.protocol = "icmp";
  p.sport.reset();
  p.dport.reset();
  p.saddr.reset();
  Explanation e = explain(t, {}, p, {});
  BOOST_TEST(hex(e.mark) == "0x0");
  BOOST_TEST(e.steps[0].effect == "th dport: icmp has no ports");
  BOOST_TEST(e.steps[1].effect == "ip saddr: saddr not given (taken as not matching)");
  BOOST_TEST(e.notes.at(0) == "saddr not given: rules that test it are taken as not matching");
}

BOOST_AUTO_TEST_CASE(nat_binds_ends_the_chain_and_routes_the_new_destination) {
  using nft::Hook;
  nft::Table t = table_of(
      {base("nat_pre", Hook::prerouting, -110,
            {rule(1, {nft::Nat{nft::NatKind::dnat, nft::Family::ip, nft::address("10.7.7.7"), 53}}),
             rule(2, {mark_or(0x1)})},
            nft::ChainType::nat)});
  route::Plan plan;
  route::Rule r;
  r.priority = 10;
  r.table = 100;
  r.location = at(20);
  plan.rules.push_back(r);
  route::Route to;
  to.table = 100;
  to.destination = ip("10.7.7.0/24");
  to.device = "x0";
  to.location = at(21);
  plan.routes.push_back(to);
  Explanation e = explain(t, plan, arriving("eth0", "10.0.0.1", "10.9.0.1"), {});
  BOOST_TEST(hex(e.mark) == "0x0");
  BOOST_TEST(trace(e) == "prerouting/nat_pre:1:Y");
  BOOST_TEST(e.nat.at(0) == "dnat to 10.7.7.7:53");
  BOOST_TEST(e.route.dev.value_or("-") == "x0");
  BOOST_TEST(e.route.location.line == 21);
  BOOST_TEST(e.route.table == "100");
}

BOOST_AUTO_TEST_CASE(output_route_chain_reroutes_after_a_mark_change) {
  using nft::Hook;
  route::Plan plan;
  route::Rule r;
  r.priority = 100;
  r.fwmark = 0x200;
  r.fwmask = 0x200;
  r.table = 200;
  plan.rules.push_back(r);
  route::Route to;
  to.table = 200;
  to.destination = ip("0.0.0.0/0");
  to.device = "y0";
  plan.routes.push_back(to);
  Packet p = arriving("eth0", "10.0.0.1", "10.9.0.1");
  p.iif.reset();
  for (nft::ChainType type : {nft::ChainType::route, nft::ChainType::filter}) {
    nft::Table t =
        table_of({base("out", Hook::output, -150, {rule(1, {mark_or(0x200)})}, type),
                  base("post", Hook::postrouting, 0,
                       {rule(2, {match(Field::oifname, nft::string("y0")), mark_or(0x1)})})});
    Explanation e = explain(t, plan, p, {});
    bool route_chain = type == nft::ChainType::route;
    BOOST_TEST_CONTEXT(nft::chain_type_name(type)) {
      // A filter chain's mark is not seen by routing: the packet keeps the
      // route it had (the main table, unknown offline).
      BOOST_TEST(e.route.dev.value_or("-") == (route_chain ? "y0" : "-"));
      BOOST_TEST(e.route.table == (route_chain ? "200" : "main"));
      BOOST_TEST(hex(e.mark) == (route_chain ? "0x201" : "0x200"));
    }
  }
}

BOOST_AUTO_TEST_CASE(node_to_itself_loops_back_through_lo) {
  using nft::Hook;
  nft::Table t =
      table_of({base("out", Hook::output, -150, {rule(1, {mark_or(0x1)})}, nft::ChainType::route),
                base("post", Hook::postrouting, -150,
                     {rule(2, {match(Field::oifname, nft::string("lo")), mark_or(0x2)})}),
                base("pre", Hook::prerouting, -150,
                     {rule(3, {match(Field::iifname, nft::string("lo")), mark_or(0x4)})}),
                base("in", Hook::input, -150, {rule(4, {mark_or(0x8)})}),
                base("fwd", Hook::forward, -150, {rule(5, {mark_or(0x10)})})});
  Packet p = arriving("eth0", "10.0.0.1", "10.0.0.1");
  p.iif.reset();
  NodeFacts facts;
  facts.local_addresses = std::vector<IpPrefix>{ip("10.0.0.1")};
  Explanation e = explain(t, {}, p, facts);
  BOOST_TEST(verdict_name(e.verdict) == std::string("local"));
  BOOST_TEST(hex(e.mark) == "0xf");
  // out:0: the reroute after the route chain changed the mark.
  BOOST_TEST(trace(e) ==
             "output/out:1:Y output/out:0:Y postrouting/post:2:Y prerouting/pre:3:Y "
             "input/in:4:Y");
}

BOOST_AUTO_TEST_SUITE_END()

// --- routing
namespace {

route::Rule ip_rule(uint32_t priority, uint32_t table, int line) {
  route::Rule r;
  r.priority = priority;
  r.table = table;
  r.location = at(line);
  return r;
}

route::Route ip_route(uint32_t table, const std::string& destination, const std::string& dev,
                      int line, std::optional<uint32_t> metric = std::nullopt) {
  route::Route r;
  r.table = table;
  r.destination = ip(destination);
  r.device = dev;
  r.metric = metric;
  r.location = at(line);
  return r;
}

struct RouteCase {
  const char* name;
  std::string daddr;
  uint32_t mark;
  std::string iif;
  std::string expect;  // "rule/table/dev" or "local" or "unreachable"
  bool live = false;
  std::string saddr = "10.0.0.1";
};

std::string summary(const RouteChoice& c) {
  if (c.local) return "local";
  if (!c.reachable) return "unreachable";
  return (c.rule ? std::to_string(*c.rule) : "-") + "/" + c.table + "/" + c.dev.value_or("-");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(explain_routing)

BOOST_AUTO_TEST_CASE(rules_by_priority_tables_fall_through_longest_prefix) {
  route::Plan plan;
  route::Rule skip = ip_rule(100, 0, 1);
  skip.action = route::RuleAction::goto_;
  skip.goto_priority = route::kMainRulePriority;
  skip.fwmark = 0x200;
  skip.fwmask = 0x200;
  route::Rule marked = ip_rule(101, 101, 2);
  marked.fwmark = 0x100;  // no mask: the whole mark must be 0x100
  route::Rule from = ip_rule(102, 102, 3);
  from.from = ip("10.0.0.0/24");
  route::Rule iif = ip_rule(103, 103, 4);
  iif.iif = "lo";
  route::Rule empty = ip_rule(98, 105, 5);
  route::Rule dangling = ip_rule(99, 0, 6);
  dangling.action = route::RuleAction::goto_;
  dangling.goto_priority = 7;
  plan.rules = {iif, from, marked, skip, empty, dangling};
  plan.routes = {
      ip_route(101, "0.0.0.0/0", "out0", 10),        ip_route(102, "10.9.0.0/16", "wide", 11),
      ip_route(102, "10.9.1.0/24", "narrow", 12),    ip_route(102, "10.9.2.0/24", "costly", 13, 20),
      ip_route(102, "10.9.2.0/24", "cheap", 14, 10), ip_route(103, "0.0.0.0/0", "lo0", 15),
      ip_route(105, "192.168.50.130/32", "upl", 16)};
  route::DerivedRoutes derived;
  derived.set = "pods";
  derived.route = ip_route(104, "0.0.0.0/0", "tun", 17);
  derived.location = at(17);
  plan.derived = {derived};
  route::Rule members = ip_rule(104, 104, 7);
  plan.rules.push_back(members);
  std::map<std::string, std::vector<std::string>> pods = {{"pods", {"10.244.1.5"}}};

  NodeFacts live;
  live.local_addresses = std::vector<IpPrefix>{ip("10.244.1.1")};
  live.main_routes = std::vector<route::Route>{ip_route(254, "10.244.0.0/16", "main0", 0)};

  std::vector<RouteCase> cases = {
      {"skip bit: goto main, offline main has no device", "10.9.1.1", 0x300, "eth0",
       "32766/main/-"},
      {"fwmark without mask wants the whole mark", "10.9.1.1", 0x101, "eth0", "102/102/narrow"},
      {"fwmark matches", "10.9.1.1", 0x100, "eth0", "101/101/out0"},
      {"longest prefix wins", "10.9.1.1", 0, "eth0", "102/102/narrow"},
      {"lowest metric on a tie", "10.9.2.1", 0, "eth0", "102/102/cheap"},
      {"shorter prefix when the longer does not match", "10.9.3.1", 0, "eth0", "102/102/wide"},
      {"from does not match: iif lo is the node's own packets", "10.9.3.1", 0, "lo", "103/103/lo0",
       false, "192.168.0.1"},
      {"derived route of a member", "10.244.1.5", 0, "eth0", "104/104/tun", false, "192.168.0.1"},
      {"empty table falls through to main", "10.244.9.9", 0, "eth0", "32766/main/-", false,
       "192.168.0.1"},
      {"live: local address", "10.244.1.1", 0, "eth0", "local", true},
      {"live: main table route", "10.244.9.9", 0, "eth0", "32766/main/main0", true, "192.168.0.1"},
      {"live: no route anywhere", "172.16.0.1", 0, "eth0", "unreachable", true, "192.168.0.1"},
      {"loopback is local offline too", "127.0.0.1", 0, "eth0", "local"},
  };
  for (const RouteCase& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      RouteQuery q;
      q.daddr = ip(c.daddr);
      q.saddr = ip(c.saddr);
      q.mark = c.mark;
      q.iif = c.iif;
      std::vector<Step> steps;
      std::vector<std::string> notes;
      RouteChoice choice = decide_route(plan, c.live ? live : NodeFacts{}, pods, q, steps, notes);
      BOOST_TEST(summary(choice) == c.expect);
    }
  }
}

BOOST_AUTO_TEST_CASE(steps_say_why_each_rule_did_not_match) {
  route::Plan plan;
  route::Rule marked = ip_rule(101, 101, 2);
  marked.fwmark = 0x100;
  marked.fwmask = 0x100;
  route::Rule empty = ip_rule(105, 105, 3);
  plan.rules = {marked, empty};
  RouteQuery q;
  q.daddr = ip("10.9.1.1");
  q.mark = 0x40;
  q.iif = "eth0";
  std::vector<Step> steps;
  std::vector<std::string> notes;
  RouteChoice choice = decide_route(plan, {}, {}, q, steps, notes);
  std::vector<std::string> got;
  for (const Step& s : steps) got.push_back(s.chain + (s.matched ? " yes: " : " no: ") + s.effect);
  std::vector<std::string> want = {
      "rule 0: lookup local yes: 10.9.1.1 is not known to be local (offline): taken as not local",
      "rule 101 fwmark 0x100/0x100 lookup 101 no: mark 0x40 & 0x100 is 0x0, not 0x100",
      "rule 105 lookup 105 yes: table 105 has no route to 10.9.1.1: on to the next rule",
      "rule 32766: lookup main yes: table main: not known offline (--netns reads it); the packet "
      "goes by the main table"};
  BOOST_TEST(got == want, boost::test_tools::per_element());
  BOOST_TEST(choice.table == "main");
  BOOST_TEST(!choice.dev.has_value());
  BOOST_TEST(notes.size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

// --- through the real pipeline: what `load` installs, at the policy's lines
BOOST_AUTO_TEST_SUITE(explain_policy)

namespace {
CompiledPolicy compiled(const std::string& source) {
  MemoryFileSystem files;
  files.add("p.zt", source);
  Diagnostics diagnostics;
  auto policy = compile_policy("p.zt", files, {}, diagnostics);
  BOOST_TEST_REQUIRE(diagnostics.render() == "");
  return std::move(*policy);
}
}  // namespace

BOOST_AUTO_TEST_CASE(helper_chains_and_dispatch_keep_the_policy_lines) {
  CompiledPolicy p = compiled(
      "table ip t mark c = 0x100\n"             // 1
      "mark a = 0x1\n"                          // 2
      "mark b = 0x6\n"                          // 3
      "capture prerouting {\n"                  // 4
      "  iif \"x0\" => mark |= a, return\n"     // 5
      "  iif \"x1\" => mark |= b, return\n"     // 6
      "  iif \"x2\" => ct save b, mark |= a\n"  // 7
      "  iif != \"zz\" => mark |= c\n"          // 8
      "}\n");
  // x1: the verdict map's entry for line 6, in a helper chain (no return
  // left: the goto'd chain's end is the return).
  Packet packet = arriving("x1", "10.0.0.1", "10.9.0.1");
  Explanation e = explain(p.table, p.routing, packet, {});
  BOOST_TEST(hex(e.mark) == "0x6");
  std::vector<std::string> lines;
  for (const Step& s : e.steps) {
    if (s.hook != "routing")
      lines.push_back(std::to_string(s.location.line) + "/" + std::to_string(s.depth) +
                      (s.matched ? "Y" : "N"));
  }
  BOOST_TEST((lines == std::vector<std::string>{"5/0Y", "6/1Y"}), boost::test_tools::per_element());

  // x2: the exact bit-by-bit ct save (a jump into a helper chain), then the
  // rest of the rule's actions; ct mark bits outside b stay as they were.
  packet = arriving("x2", "10.0.0.1", "10.9.0.1", 0x4);
  packet.ct_mark = 0x3;
  e = explain(p.table, p.routing, packet, {});
  BOOST_TEST(hex(e.ct_mark) == "0x5");
  BOOST_TEST(hex(e.mark) == "0x105");
  for (const Step& s : e.steps) {
    if (s.hook == "routing") continue;
    BOOST_TEST_CONTEXT(s.chain << " " << s.effect) {
      BOOST_TEST((s.location.line == 5 || s.location.line == 7 || s.location.line == 8));
    }
  }
}

BOOST_AUTO_TEST_CASE(json_has_the_documented_fields) {
  CompiledPolicy p = compiled(
      "table ip t\nmark skip = 0x200\n"
      "capture prerouting { udp => mark |= skip }\n"
      "capture forward { mark has skip => ct save skip }\n"
      "rule 100 fwmark skip lookup 100\n"
      "route 100 { default via 10.1.1.1 dev \"t0\" src 10.1.1.2 }\n");
  Packet packet = arriving("eth0", "10.0.0.1", "10.9.0.1");
  packet.protocol = "udp";
  std::string json = render_json(explain(p.table, p.routing, packet, {}));
  for (const char* field :
       {"\"mark\": \"0x200\"", "\"ct_mark\": \"0x200\"", "\"verdict\": \"egress\"", "\"rule\": 100",
        "\"table\": \"100\"", "\"dev\": \"t0\"", "\"via\": \"10.1.1.1\"", "\"src\": \"10.1.1.2\"",
        "\"location\": \"p.zt:6\"", "\"hook\": \"forward\"", "\"chain\": \"forward\"",
        "\"location\": \"p.zt:4\"", "\"matched\": true", "\"effect\": \"ct mark 0x0 -> 0x200\""}) {
    BOOST_TEST_CONTEXT(field) { BOOST_TEST(json.find(field) != std::string::npos); }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc::explain
