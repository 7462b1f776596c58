#include "backend/nft_text.h"

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "backend/netns.h"
#include "testsupport/test_netns.h"
namespace ztc::nft {
namespace {

// --- model builders: keep the expected texts readable.

Match eq(ExprPtr left, ExprPtr right) {
  return Match{std::move(left), MatchOp::eq, std::move(right)};
}
Match ne(ExprPtr left, ExprPtr right) {
  return Match{std::move(left), MatchOp::ne, std::move(right)};
}
Mangle set_mark(ExprPtr value) { return Mangle{Field::meta_mark, std::move(value)}; }
Verdict verdict(VerdictKind kind, std::string chain = "") {
  return Verdict{kind, std::move(chain)};
}
ExprPtr hex(uint32_t value) { return integer(value, true); }
ExprPtr mark_has(Field field_, uint32_t bits) { return bit_and(field(field_), bits); }
Rule rule(std::vector<Statement> statements, Location location = {}) {
  return Rule{std::move(statements), std::move(location)};
}
Chain base_chain(std::string name, ChainType type, Hook hook, int priority) {
  Chain chain;
  chain.name = std::move(name);
  chain.base = BaseChain{type, hook, priority};
  return chain;
}

// Every statement kind, in an ip table, the way lowering uses them.
Table ztunnel_table() {
  Table table;
  table.family = Family::ip;
  table.name = "ztunnel";
  table.sets.push_back(
      Set{"pods", "ipv4_addr", false, true, {{"10.244.0.2", ""}, {"10.244.0.7", "uid-7"}}, {}});
  table.sets.push_back(
      Set{"nets", "ipv4_addr", true, false, {{"10.0.0.0/8", ""}, {"192.168.1.1", ""}}, {}});
  table.sets.push_back(Set{"empty", "ipv4_addr", false, true, {}, {}});

  Chain tunnel;
  tunnel.name = "tunnel";
  tunnel.comment = "tunnel traffic";
  tunnel.rules.push_back(rule({set_mark(bit_or(field(Field::meta_mark), 0x200)), Counter{},
                               verdict(VerdictKind::return_)}));

  Chain pre = base_chain("prerouting", ChainType::filter, Hook::prerouting, -150);
  pre.rules.push_back(rule({eq(field(Field::iifname), anon_set({string("istioin"), string("x")})),
                            verdict(VerdictKind::accept)}));
  pre.rules.push_back(
      rule({eq(mark_has(Field::meta_mark, 0x200), hex(0x200)), verdict(VerdictKind::return_)}));
  pre.rules.push_back(rule(
      {ne(mark_has(Field::meta_mark, 0x40), hex(0x40)), Counter{}, verdict(VerdictKind::drop)}));
  pre.rules.push_back(rule({eq(mark_has(Field::ct_mark, 0x220), hex(0x220)),
                            set_mark(bit_or(field(Field::meta_mark), 0x200))}));
  pre.rules.push_back(rule({ne(field(Field::iifname), string("veth1")),
                            ne(field(Field::ip_saddr), address("10.244.1.2")),
                            Mangle{Field::ct_mark, bit_or(field(Field::ct_mark), 0x210)}}));
  pre.rules.push_back(
      rule({eq(field(Field::l4proto), symbol("tcp")), eq(field(Field::ip_saddr), set_ref("pods")),
            ne(field(Field::ip_daddr), set_ref("nets")),
            set_mark(bit_or(field(Field::meta_mark), 0x100))}));
  pre.rules.push_back(
      rule({VerdictMap{field(Field::iifname),
                       {{string("istioin"), verdict(VerdictKind::jump, "tunnel")},
                        {string("istioout"), verdict(VerdictKind::goto_, "tunnel")}}}}));
  pre.rules.push_back(rule({eq(concat({field(Field::l4proto), field(Field::th_dport)}),
                               anon_set({concat({symbol("udp"), integer(6081)}),
                                         concat({symbol("tcp"), integer(15008)})})),
                            verdict(VerdictKind::accept)}));

  Chain out = base_chain("output", ChainType::route, Hook::output, -150);
  out.rules.push_back(
      rule({eq(field(Field::ip_saddr), address("10.244.1.1")), set_mark(hex(0x220))}));

  Chain nat_pre = base_chain("nat_prerouting", ChainType::nat, Hook::prerouting, -110);
  nat_pre.rules.push_back(rule({eq(mark_has(Field::meta_mark, 0x100), hex(0x100)),
                                Nat{NatKind::dnat, Family::ip, field(Field::ip_daddr), {}}}));
  nat_pre.rules.push_back(
      rule({eq(field(Field::l4proto), symbol("udp")), eq(field(Field::th_dport), integer(53)),
            Nat{NatKind::dnat, Family::ip, address("10.96.0.10"), 53}}));
  Chain nat_post = base_chain("nat_postrouting", ChainType::nat, Hook::postrouting, 90);
  nat_post.rules.push_back(rule({eq(mark_has(Field::meta_mark, 0x100), hex(0x100)),
                                 Nat{NatKind::snat, Family::ip, field(Field::ip_saddr), {}}}));

  table.chains = {tunnel, pre, out, nat_pre, nat_post};
  return table;
}

const char* const kZtunnelText =
    "table ip ztunnel {}\n"
    "delete table ip ztunnel\n"
    "table ip ztunnel {\n"
    "\tcomment \"managed by ztc\"\n"
    "\tset pods {\n"
    "\t\ttype ipv4_addr\n"
    "\t\telements = { 10.244.0.2, 10.244.0.7 comment \"uid-7\" }\n"
    "\t}\n"
    "\n"
    "\tset nets {\n"
    "\t\ttype ipv4_addr\n"
    "\t\tflags interval\n"
    "\t\telements = { 10.0.0.0/8, 192.168.1.1 }\n"
    "\t}\n"
    "\n"
    "\tset empty {\n"
    "\t\ttype ipv4_addr\n"
    "\t}\n"
    "\n"
    "\tchain tunnel {\n"
    "\t\t# tunnel traffic\n"
    "\t\tmeta mark set meta mark | 0x00000200 counter return\n"
    "\t}\n"
    "\n"
    "\tchain prerouting {\n"
    "\t\ttype filter hook prerouting priority -150; policy accept;\n"
    "\t\tiifname { \"istioin\", \"x\" } accept\n"
    "\t\tmeta mark & 0x00000200 == 0x00000200 return\n"
    "\t\tmeta mark & 0x00000040 != 0x00000040 counter drop\n"
    "\t\tct mark & 0x00000220 == 0x00000220 meta mark set meta mark | 0x00000200\n"
    "\t\tiifname != \"veth1\" ip saddr != 10.244.1.2 ct mark set ct mark | 0x00000210\n"
    "\t\tmeta l4proto tcp ip saddr @pods ip daddr != @nets meta mark set meta mark | 0x00000100\n"
    "\t\tiifname vmap { \"istioin\" : jump tunnel, \"istioout\" : goto tunnel }\n"
    "\t\tmeta l4proto . th dport { udp . 6081, tcp . 15008 } accept\n"
    "\t}\n"
    "\n"
    "\tchain output {\n"
    "\t\ttype route hook output priority -150; policy accept;\n"
    "\t\tip saddr 10.244.1.1 meta mark set 0x00000220\n"
    "\t}\n"
    "\n"
    "\tchain nat_prerouting {\n"
    "\t\ttype nat hook prerouting priority -110; policy accept;\n"
    "\t\tmeta mark & 0x00000100 == 0x00000100 dnat to ip daddr\n"
    "\t\tmeta l4proto udp th dport 53 dnat to 10.96.0.10:53\n"
    "\t}\n"
    "\n"
    "\tchain nat_postrouting {\n"
    "\t\ttype nat hook postrouting priority 90; policy accept;\n"
    "\t\tmeta mark & 0x00000100 == 0x00000100 snat to ip saddr\n"
    "\t}\n"
    "}\n";

// Every field, in an inet table (the only family where all of them are
// valid), and nat naming its family as inet requires.
Table inet_table() {
  Table table;
  table.family = Family::inet;
  table.name = "ztc";
  Chain pre = base_chain("prerouting", ChainType::filter, Hook::prerouting, -150);
  pre.rules.push_back(
      rule({eq(field(Field::iifname), string("eth0")), eq(field(Field::oifname), string("eth1")),
            eq(field(Field::l4proto), symbol("tcp")), eq(field(Field::th_sport), integer(1024)),
            ne(field(Field::th_dport), integer(80)), verdict(VerdictKind::accept)}));
  pre.rules.push_back(rule(
      {eq(field(Field::nfproto), symbol("ipv4")), eq(field(Field::ip_saddr), address("10.0.0.1")),
       eq(field(Field::ip_daddr), address("10.0.0.0/8")), verdict(VerdictKind::accept)}));
  pre.rules.push_back(rule(
      {eq(field(Field::nfproto), symbol("ipv6")), eq(field(Field::ip6_saddr), address("fd00::1")),
       eq(field(Field::ip6_daddr), address("fd00::/64")), verdict(VerdictKind::accept)}));
  pre.rules.push_back(rule({eq(field(Field::meta_mark), hex(0x220)),
                            eq(field(Field::ct_mark), integer(528)), verdict(VerdictKind::drop)}));
  Chain nat = base_chain("nat_prerouting", ChainType::nat, Hook::prerouting, -110);
  nat.rules.push_back(rule({Nat{NatKind::dnat, Family::ip, field(Field::ip_daddr), {}}}));
  nat.rules.push_back(rule({Nat{NatKind::dnat, Family::ip6, field(Field::ip6_daddr), {}}}));
  nat.rules.push_back(rule({eq(field(Field::l4proto), symbol("udp")),
                            Nat{NatKind::dnat, Family::ip, address("10.96.0.10"), 53}}));
  nat.rules.push_back(rule({eq(field(Field::l4proto), symbol("udp")),
                            Nat{NatKind::dnat, Family::ip6, address("fd00::10"), 53}}));
  Chain post = base_chain("nat_postrouting", ChainType::nat, Hook::postrouting, 90);
  post.rules.push_back(rule({Nat{NatKind::snat, Family::ip, field(Field::ip_saddr), {}}}));
  post.rules.push_back(rule({Nat{NatKind::snat, Family::ip6, field(Field::ip6_saddr), {}}}));
  table.chains = {pre, nat, post};
  return table;
}

const char* const kInetText =
    "table inet ztc {}\n"
    "delete table inet ztc\n"
    "table inet ztc {\n"
    "\tcomment \"managed by ztc\"\n"
    "\tchain prerouting {\n"
    "\t\ttype filter hook prerouting priority -150; policy accept;\n"
    "\t\tiifname \"eth0\" oifname \"eth1\" meta l4proto tcp th sport 1024 th dport != 80 accept\n"
    "\t\tmeta nfproto ipv4 ip saddr 10.0.0.1 ip daddr 10.0.0.0/8 accept\n"
    "\t\tmeta nfproto ipv6 ip6 saddr fd00::1 ip6 daddr fd00::/64 accept\n"
    "\t\tmeta mark 0x00000220 ct mark 528 drop\n"
    "\t}\n"
    "\n"
    "\tchain nat_prerouting {\n"
    "\t\ttype nat hook prerouting priority -110; policy accept;\n"
    "\t\tdnat ip to ip daddr\n"
    "\t\tdnat ip6 to ip6 daddr\n"
    "\t\tmeta l4proto udp dnat ip to 10.96.0.10:53\n"
    "\t\tmeta l4proto udp dnat ip6 to [fd00::10]:53\n"
    "\t}\n"
    "\n"
    "\tchain nat_postrouting {\n"
    "\t\ttype nat hook postrouting priority 90; policy accept;\n"
    "\t\tsnat ip to ip saddr\n"
    "\t\tsnat ip6 to ip6 saddr\n"
    "\t}\n"
    "}\n";

Table ip6_nat_table() {
  Table table;
  table.family = Family::ip6;
  table.name = "ztc6";
  Chain nat = base_chain("nat_prerouting", ChainType::nat, Hook::prerouting, -110);
  nat.rules.push_back(rule({Nat{NatKind::dnat, Family::ip6, field(Field::ip6_daddr), {}}}));
  nat.rules.push_back(rule({eq(field(Field::l4proto), symbol("udp")),
                            Nat{NatKind::dnat, Family::ip6, address("fd00::10"), 53}}));
  Chain post = base_chain("nat_postrouting", ChainType::nat, Hook::postrouting, 90);
  post.rules.push_back(rule({Nat{NatKind::snat, Family::ip6, field(Field::ip6_saddr), {}}}));
  table.chains = {nat, post};
  return table;
}

const char* const kIp6NatText =
    "table ip6 ztc6 {}\n"
    "delete table ip6 ztc6\n"
    "table ip6 ztc6 {\n"
    "\tcomment \"managed by ztc\"\n"
    "\tchain nat_prerouting {\n"
    "\t\ttype nat hook prerouting priority -110; policy accept;\n"
    "\t\tdnat to ip6 daddr\n"
    "\t\tmeta l4proto udp dnat to [fd00::10]:53\n"
    "\t}\n"
    "\n"
    "\tchain nat_postrouting {\n"
    "\t\ttype nat hook postrouting priority 90; policy accept;\n"
    "\t\tsnat to ip6 saddr\n"
    "\t}\n"
    "}\n";

size_t count_lines(const std::string& text) {
  size_t lines = 0;
  for (char c : text) lines += c == '\n';
  return lines;
}

// --- kernel helpers: everything runs inside a namespace the test created.

class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    char path[] = "/tmp/ztc-emit-XXXXXX";
    int fd = mkstemp(path);
    BOOST_REQUIRE(fd >= 0);
    close(fd);
    path_ = path;
    std::ofstream(path_) << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

CommandResult load_text(const ScopedTestNetns& netns, const std::string& text) {
  TempFile file(text);
  return netns.run("nft -f " + file.path());
}

std::string list_table(const ScopedTestNetns& netns, const Table& table) {
  CommandResult listed = netns.run("nft list table " + table_spec(table.family, table.name));
  BOOST_REQUIRE_MESSAGE(listed.exit_code == 0, listed.output);
  return listed.output;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(nft_text)

BOOST_AUTO_TEST_CASE(every_statement_kind_in_an_ip_table) {
  BOOST_TEST(emit_text(ztunnel_table()).text == kZtunnelText);
}

BOOST_AUTO_TEST_CASE(every_field_and_nat_in_an_inet_table) {
  BOOST_TEST(emit_text(inet_table()).text == kInetText);
}

BOOST_AUTO_TEST_CASE(nat_in_an_ip6_table_omits_the_family) {
  BOOST_TEST(emit_text(ip6_nat_table()).text == kIp6NatText);
}

BOOST_AUTO_TEST_CASE(empty_table) {
  Table table;
  table.family = Family::ip6;
  table.name = "t";
  BOOST_TEST(emit_text(table).text == "table ip6 t {}\ndelete table ip6 t\ntable ip6 t {\n\tcomment \"managed by ztc\"\n}\n");
}

BOOST_AUTO_TEST_CASE(set_types_and_elements) {
  Table table;
  table.name = "t";
  table.sets.push_back(Set{"ifs", "ifname", false, false, {{"\"istioin\"", "a b"}}, {}});
  table.sets.push_back(Set{"svc",
                           "ipv4_addr . inet_service",
                           true,
                           false,
                           {{"10.0.0.0/8 . 53", ""}, {"10.1.0.1-10.1.0.9 . 80", ""}},
                           {}});
  BOOST_TEST(emit_text(table).text ==
             "table ip t {}\n"
             "delete table ip t\n"
             "table ip t {\n"
    "\tcomment \"managed by ztc\"\n"
             "\tset ifs {\n"
             "\t\ttype ifname\n"
             "\t\telements = { \"istioin\" comment \"a b\" }\n"
             "\t}\n"
             "\n"
             "\tset svc {\n"
             "\t\ttype ipv4_addr . inet_service\n"
             "\t\tflags interval\n"
             "\t\telements = { 10.0.0.0/8 . 53, 10.1.0.1-10.1.0.9 . 80 }\n"
             "\t}\n"
             "}\n");
}

BOOST_AUTO_TEST_CASE(matches_print_eq_only_after_a_bitwise_operation) {
  auto text = [](Match match) { return format_rule(Family::ip, rule({std::move(match)})); };
  BOOST_TEST(text(eq(field(Field::meta_mark), hex(0x200))) == "meta mark 0x00000200");
  BOOST_TEST(text(ne(field(Field::meta_mark), hex(0x200))) == "meta mark != 0x00000200");
  BOOST_TEST(text(eq(mark_has(Field::meta_mark, 0x200), hex(0x200))) ==
             "meta mark & 0x00000200 == 0x00000200");
  BOOST_TEST(text(eq(bit_or(field(Field::ct_mark), 0x1), integer(3))) ==
             "ct mark | 0x00000001 == 3");
  BOOST_TEST(text(eq(mark_has(Field::meta_mark, 0x200), set_ref("marks"))) ==
             "meta mark & 0x00000200 @marks");
  BOOST_TEST(text(ne(field(Field::iifname), anon_set({string("a"), string("b")}))) ==
             "iifname != { \"a\", \"b\" }");
  BOOST_TEST(text(ne(field(Field::ip_saddr), set_ref("pods"))) == "ip saddr != @pods");
}

BOOST_AUTO_TEST_CASE(every_verdict) {
  auto text = [](Verdict v) { return format_rule(Family::ip, rule({std::move(v)})); };
  BOOST_TEST(text(verdict(VerdictKind::accept)) == "accept");
  BOOST_TEST(text(verdict(VerdictKind::drop)) == "drop");
  BOOST_TEST(text(verdict(VerdictKind::return_)) == "return");
  BOOST_TEST(text(verdict(VerdictKind::jump, "c")) == "jump c");
  BOOST_TEST(text(verdict(VerdictKind::goto_, "c")) == "goto c");
}

BOOST_AUTO_TEST_CASE(multi_line_chain_comment_becomes_comment_lines) {
  Table table;
  table.name = "t";
  Chain chain;
  chain.name = "c";
  chain.comment = "first\n\nthird\n";
  table.chains.push_back(chain);
  BOOST_TEST(emit_text(table).text ==
             "table ip t {}\n"
             "delete table ip t\n"
             "table ip t {\n"
    "\tcomment \"managed by ztc\"\n"
             "\tchain c {\n"
             "\t\t# first\n"
             "\t\t#\n"
             "\t\t# third\n"
             "\t}\n"
             "}\n");
}

BOOST_AUTO_TEST_CASE(line_origin_maps_each_line_to_its_policy_line) {
  auto file = std::make_shared<SourceFile>("policy.zt", "");
  auto at = [&](int line) { return Location{file, line, 1}; };
  Table table;
  table.name = "t";
  table.location = at(1);
  table.sets.push_back(Set{"s", "ipv4_addr", false, false, {{"10.0.0.1", ""}}, at(2)});
  Chain chain = base_chain("c", ChainType::filter, Hook::input, 0);
  chain.comment = "why";
  chain.location = at(3);
  chain.rules.push_back(rule({verdict(VerdictKind::accept)}, at(4)));
  chain.rules.push_back(rule({verdict(VerdictKind::drop)}, at(5)));
  table.chains.push_back(chain);

  TextOutput out = emit_text(table);
  // Policy line of each output line, 0 for none.
  const std::vector<int> expected = {
      1, 1, 1, 1,  // table X {}, delete table X, table X {, comment
      2, 2, 2, 0,  // set s {, type, elements, }
      0,           // blank line between blocks
      3, 3, 3,     // chain c {, # why, type ...
      4, 5,        // the two rules
      0, 0,        // closing braces of the chain and the table
  };
  BOOST_REQUIRE_EQUAL(out.line_origin.size(), count_lines(out.text));
  BOOST_REQUIRE_EQUAL(out.line_origin.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    BOOST_TEST_CONTEXT("output line " << i + 1) {
      BOOST_TEST(out.line_origin[i].known() == (expected[i] != 0));
      BOOST_TEST(out.line_origin[i].line == expected[i]);
    }
  }
}

BOOST_AUTO_TEST_CASE(line_origin_covers_every_line_of_a_large_table) {
  TextOutput out = emit_text(ztunnel_table());
  BOOST_TEST(out.line_origin.size() == count_lines(out.text));
}

BOOST_AUTO_TEST_CASE(set_element_commands) {
  Table table = ztunnel_table();
  const Set& pods = table.sets[0];
  std::vector<Element> elements = {{"10.0.0.1", ""}, {"10.0.0.2", "uid-2"}};
  BOOST_TEST(emit_set_elements_command(table, pods, elements, true) ==
             "add element ip ztunnel pods { 10.0.0.1, 10.0.0.2 comment \"uid-2\" }\n");
  BOOST_TEST(emit_set_elements_command(table, pods, elements, false) ==
             "delete element ip ztunnel pods { 10.0.0.1, 10.0.0.2 }\n");
  BOOST_TEST(emit_set_elements_command(table, pods, {}, true) == "");
}

BOOST_AUTO_TEST_CASE(loads_and_reloads_in_every_family, *boost::unit_test::label("kernel")) {
  for (const Table& table : {ztunnel_table(), inet_table(), ip6_nat_table()}) {
    BOOST_TEST_CONTEXT("table " << table_spec(table.family, table.name)) {
      ScopedTestNetns netns("ztc-emit");
      std::string text = emit_text(table).text;
      CommandResult first = load_text(netns, text);
      BOOST_REQUIRE_MESSAGE(first.exit_code == 0, first.output);
      std::string listed = list_table(netns, table);
      // Loading again replaces the table instead of adding to it.
      CommandResult second = load_text(netns, text);
      BOOST_REQUIRE_MESSAGE(second.exit_code == 0, second.output);
      BOOST_TEST(list_table(netns, table) == listed);
      // Spot checks that the kernel holds what we meant, in nft's spelling.
      if (table.name == "ztunnel") {
        BOOST_TEST(listed.find("\t\tmeta mark & 0x00000040 != 0x00000040 counter packets 0 bytes 0 "
                               "drop\n") != std::string::npos);
        BOOST_TEST(listed.find("\t\tiifname vmap { \"istioin\" : jump tunnel, \"istioout\" : goto "
                               "tunnel }\n") != std::string::npos);
        BOOST_TEST(listed.find("elements = { 10.244.0.2, 10.244.0.7 comment \"uid-7\" }") !=
                   std::string::npos);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(reload_drops_old_rules_and_elements, *boost::unit_test::label("kernel")) {
  ScopedTestNetns netns("ztc-emit");
  Table table = ztunnel_table();
  BOOST_REQUIRE(load_text(netns, emit_text(table).text).exit_code == 0);
  table.sets[0].elements = {{"10.9.9.9", ""}};
  table.chains.pop_back();
  CommandResult reloaded = load_text(netns, emit_text(table).text);
  BOOST_REQUIRE_MESSAGE(reloaded.exit_code == 0, reloaded.output);
  std::string listed = list_table(netns, table);
  BOOST_TEST(listed.find("10.244.0.2") == std::string::npos);
  BOOST_TEST(listed.find("10.9.9.9") != std::string::npos);
  BOOST_TEST(listed.find("nat_postrouting") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(set_element_commands_load, *boost::unit_test::label("kernel")) {
  ScopedTestNetns netns("ztc-emit");
  Table table = ztunnel_table();
  BOOST_REQUIRE(load_text(netns, emit_text(table).text).exit_code == 0);
  const Set& pods = table.sets[0];
  std::vector<Element> added = {{"10.0.0.1", "uid-1"}, {"10.0.0.2", ""}};
  CommandResult add = load_text(netns, emit_set_elements_command(table, pods, added, true));
  BOOST_REQUIRE_MESSAGE(add.exit_code == 0, add.output);
  // Delete elements that were added with comments, named without them.
  std::vector<Element> removed = {{"10.0.0.1", "uid-1"}, {"10.244.0.7", "uid-7"}};
  CommandResult del = load_text(netns, emit_set_elements_command(table, pods, removed, false));
  BOOST_REQUIRE_MESSAGE(del.exit_code == 0, del.output);
  CommandResult listed = netns.run("nft list set ip ztunnel pods");
  BOOST_REQUIRE(listed.exit_code == 0);
  BOOST_TEST(listed.output.find("elements = { 10.0.0.2, 10.244.0.2 }") != std::string::npos,
             listed.output);
}

// nft reports errors at FILE:LINE:COL of the text it was given; line_origin
// must turn that line into the policy line of the offending rule.
BOOST_AUTO_TEST_CASE(nft_error_line_maps_to_the_rule, *boost::unit_test::label("kernel")) {
  auto file = std::make_shared<SourceFile>("policy.zt", "");
  Table table = ztunnel_table();
  Rule bad = rule({verdict(VerdictKind::jump, "no_such_chain")}, Location{file, 42, 3});
  table.chains[1].rules.insert(table.chains[1].rules.begin() + 2, bad);
  TextOutput out = emit_text(table);

  ScopedTestNetns netns("ztc-emit");
  TempFile text(out.text);
  CommandResult load = netns.run("nft -f " + text.path());
  BOOST_REQUIRE(load.exit_code != 0);
  std::smatch where;
  std::regex position(std::regex_replace(text.path(), std::regex("[.]"), "\\.") + ":([0-9]+):");
  BOOST_REQUIRE_MESSAGE(std::regex_search(load.output, where, position), load.output);
  size_t line = std::stoul(where[1]);
  BOOST_REQUIRE(line >= 1 && line <= out.line_origin.size());
  BOOST_TEST(out.line_origin[line - 1].line == 42);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc::nft
