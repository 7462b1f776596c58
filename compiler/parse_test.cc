// Parse stage: source text -> AST (checked through dump_ast), syntax errors
// -> exact diagnostics, hostile and large input; and the loader that splices
// includes, on an in-memory file system.
#include "compiler/parse.h"

#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <vector>

#include "compiler/check.h"
#include "compiler/dump.h"
#include "compiler/load.h"

namespace ztc {
namespace {

struct Parsed {
  ast::Policy policy;
  std::string dump;
  std::string errors;
};

Parsed parse_text(const std::string& text, const std::string& path = "p.zt") {
  Diagnostics diagnostics;
  auto file = std::make_shared<const SourceFile>(path, text);
  Parsed out;
  out.policy = parse_source(file, diagnostics);
  out.dump = dump_ast(out.policy);
  out.errors = diagnostics.render();
  return out;
}

struct DumpCase {
  const char* name;
  std::string source;
  std::string dump;
};

BOOST_AUTO_TEST_SUITE(parse)

BOOST_AUTO_TEST_CASE(source_to_ast) {
  const std::vector<DumpCase> cases = {
      {"empty file", "", ""},
      {"comments and blank lines only", "# a comment\n\n   # another\n\t\n", ""},
      {"empty statements", ";;\n;", ""},
      {"include is kept for the loader", "include \"common.zt\"\n", "1:1 include \"common.zt\"\n"},
      {"params",
       "param p: ipv4 = 10.0.0.1\nparam q: ifname\nparam r: ipv6 = fd00::1\n"
       "param s: u32 = 0xff\nparam t: port = \"80\"\n",
       "1:1 param p: ipv4 = 10.0.0.1\n2:1 param q: ifname\n3:1 param r: ipv6 = fd00::1\n"
       "4:1 param s: u32 = 0xff\n5:1 param t: port = \"80\"\n"},
      // `name:` is a name then ':', not the start of an IPv6 address.
      {"name followed by a colon without a space", "param ab:ipv4\nparam dead:ipv6\n",
       "1:1 param ab: ipv4\n2:1 param dead: ipv6\n"},
      {"table families", "table ip a\ntable ip6 b\ntable inet c\n",
       "1:1 table ip a\n2:1 table ip6 b\n3:1 table inet c\n"},
      {"marks: with and without '=', or'ed terms, masks",
       "mark a 0x1\nmark b = a | 0x2 | 0XfF\nmark c = 0x100 / 0xf00\nmark d 1/b|c\n",
       "1:1 mark a = 0x1\n2:1 mark b = a | 0x2 | 0XfF\n3:1 mark c = 0x100 / 0xf00\n"
       "4:1 mark d = 1 / b | c\n"},
      {"interfaces, groups (trailing comma), addresses",
       "iface i = \"eth0\"\niface j = p\ngroup g = { i, \"x\", j, }\ngroup h = { \"y\" }\n"
       "addr n = 10.0.0.0/8\naddr m = fd00::/64\naddr o = p\n",
       "1:1 iface i = \"eth0\"\n2:1 iface j = p\n3:1 group g = { i, \"x\", j }\n"
       "4:1 group h = { \"y\" }\n5:1 addr n = 10.0.0.0/8\n6:1 addr m = fd00::/64\n7:1 addr o = p\n"},
      {"sets",
       "set s: ipv4 managed\nset d: ipv4 = { 10.96.0.10 comment \"kube-dns\", n, }\n"
       "set e: port = {}\nset f: ipv6 managed = { ::1, fd00::/64 }\n",
       "1:1 set s: ipv4 managed (0 elements)\n2:1 set d: ipv4 (2 elements)\n"
       "3:1 set e: port (0 elements)\n4:1 set f: ipv6 managed (2 elements)\n"},
      {"bypass ports, ranges and names", "bypass udp 6081\nbypass tcp 15001, 15006-15008, p, p-q\n",
       "1:1 bypass udp 6081\n2:1 bypass tcp 15001, 15006-15008, p, p-q\n"},
      {"rules separated by ';', on one line and across lines",
       "capture prerouting, input { udp => return; tcp => accept\n  => drop }\nnat postrouting {\n}\n",
       "1:1 capture prerouting, input\n1:29   udp => return\n1:44   tcp => accept\n2:3   => drop\n"
       "3:1 nat postrouting\n"},
      {"every match",
       "capture prerouting {\n  iif != i, \"x\" oif g saddr @s daddr != 10.0.0.1, fd00::1\n"
       "  tcp dport != 80, 443 udp sport 53 bypass ct mark has a mark lacks b mark == 0x3 "
       "ct mark != 4 => counter\n}\n",
       "1:1 capture prerouting\n2:3   iif != i, \"x\" oif g saddr @s daddr != 10.0.0.1, fd00::1 "
       "tcp dport != 80, 443 udp sport 53 bypass ct mark has a mark lacks b mark == 0x3 "
       "ct mark != 4 => counter\n"},
      {"every action",
       "nat output {\n  => mark |= a, ct mark = 0x5, mark &= ~b, ct mark &= ~ 0x1 | c, ct save a, "
       "ct restore b | 0x10, return\n"
       "  tcp sport 1-2 => no nat, dnat to 10.0.0.1:53, dnat to n, dnat to fd00::1, "
       "dnat to 10.0.0.1:p, accept, drop\n}\n",
       "1:1 nat output\n2:3   => mark |= a, ct mark = 0x5, mark &= ~b, ct mark &= ~0x1 | c, "
       "ct save a, ct restore b | 0x10, return\n"
       "3:3   tcp sport 1-2 => no nat, dnat to 10.0.0.1:53, dnat to n, dnat to fd00::1, "
       "dnat to 10.0.0.1:p, accept, drop\n"},
      {"routing rules",
       "rule 100 from 10.0.0.0/8 iif i fwmark a / 0xff goto main\nrule ipv6 101 lookup default\n"
       "rule 102 fwmark a|b lookup 200\nrule ipv4 103 goto 104\nrule 104 iif \"eth0\" lookup main\n",
       "1:1 rule 100 from 10.0.0.0/8 iif i fwmark a / 0xff goto main\n"
       "2:1 rule ipv6 101 lookup default\n3:1 rule 102 fwmark a | b lookup 200\n"
       "4:1 rule ipv4 103 goto 104\n5:1 rule 104 iif \"eth0\" lookup main\n"},
      {"routes",
       "route ipv4 100 for s { member via 10.0.0.1 dev i onlink scope link src p metric 5 ; }\n"
       "route main { default via 1.2.3.4 ; 10.0.0.0/8 dev \"eth0\" }\nroute local { }\n"
       "route ipv6 default { n dev e }\n",
       "1:1 route ipv4 100 for s\n1:24   member via 10.0.0.1 dev i onlink scope link src p metric 5\n"
       "2:1 route main\n2:14   default via 1.2.3.4\n2:36   10.0.0.0/8 dev \"eth0\"\n3:1 route local\n"
       "4:1 route ipv6 default\n4:22   n dev e\n"},
      {"sysctls", "sysctl all, default, i, \"eth9\" { rp_filter = 0; accept_local = 1 }\nsysctl x { }\n",
       "1:1 sysctl \"all\", \"default\", i, \"eth9\" { rp_filter=0, accept_local=1 }\n"
       "2:1 sysctl x {  }\n"},
      // Columns are byte columns: a tab is one column.
      {"columns after tabs", "\tmark a = 1\n  \t iface b = \"c\"\n", "1:2 mark a = 1\n2:5 iface b = \"c\"\n"},
      {"string escapes", "iface a = \"a\\\"b\\\\c\"\n", "1:1 iface a = \"a\"b\\c\"\n"},
      {"CRLF line ends", "table ip t\r\nmark a = 1\r\n", "1:1 table ip t\n2:1 mark a = 1\n"},
      {"non-UTF-8 bytes in a comment are ignored", "mark a = 1 # caf\xc3\xa9 \xff\xfe\n",
       "1:1 mark a = 1\n"},
      {"non-UTF-8 bytes in a string are kept", "iface a = \"\xff\xfe\"\n",
       "1:1 iface a = \"\xff\xfe\"\n"},
  };
  for (const DumpCase& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      Parsed parsed = parse_text(c.source);
      BOOST_TEST(parsed.errors == "");
      BOOST_TEST(parsed.dump == c.dump);
    }
  }
}

// `[fd00::1]:53` is an address and a port; the dump must not print it as the
// single address `fd00::1:53`.
BOOST_AUTO_TEST_CASE(bracketed_ipv6_dnat_target_dumps_unambiguously) {
  Parsed parsed = parse_text("nat prerouting { => dnat to [fd00::1]:53 }\n");
  BOOST_TEST(parsed.errors == "");
  BOOST_TEST(parsed.dump == "1:1 nat prerouting\n1:18   => dnat to [fd00::1]:53\n");
}

BOOST_AUTO_TEST_CASE(values_carry_kind_number_and_overflow) {
  Parsed parsed = parse_text(
      "mark a = 0XfF | 4294967295 | 4294967296 | 0xffffffffff | "
      "99999999999999999999999999999999 | 007\n");
  BOOST_REQUIRE(parsed.errors == "");
  BOOST_REQUIRE(parsed.policy.statements.size() == 1u);
  const auto& mark = std::get<ast::MarkDecl>(parsed.policy.statements[0]);
  const auto& terms = mark.value.terms;
  BOOST_REQUIRE(terms.size() == 6u);
  BOOST_TEST(terms[0].number == 255u);
  BOOST_TEST(!terms[0].overflow);
  BOOST_TEST(terms[1].number == 4294967295u);
  BOOST_TEST(!terms[1].overflow);
  BOOST_TEST(terms[2].overflow);
  BOOST_TEST(terms[3].overflow);
  // Far past 64 bits: flagged, never wrapped around to a small number.
  BOOST_TEST(terms[4].overflow);
  BOOST_TEST(terms[5].number == 7u);
  BOOST_TEST(terms[5].text == "007");
  for (const ast::Value& v : terms) BOOST_TEST(static_cast<int>(v.kind) == static_cast<int>(ast::Value::Kind::number));
  BOOST_TEST(terms[3].location.column == 43);
}

BOOST_AUTO_TEST_CASE(value_kinds_and_set_elements) {
  Parsed parsed = parse_text(
      "set d: ipv4 = { 10.96.0.10 comment \"kube-dns\", n, \"s\", 7, fd00::/64, ::1 }\n");
  BOOST_REQUIRE(parsed.errors == "");
  const auto& set = std::get<ast::SetDecl>(parsed.policy.statements.at(0));
  using K = ast::Value::Kind;
  const std::vector<std::pair<K, std::string>> expected = {
      {K::ipv4, "10.96.0.10"}, {K::name, "n"},         {K::string, "s"},
      {K::number, "7"},        {K::ipv6, "fd00::/64"}, {K::ipv6, "::1"},
  };
  BOOST_REQUIRE(set.elements.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    BOOST_TEST_CONTEXT("element " << i) {
      BOOST_TEST(static_cast<int>(set.elements[i].value.kind) ==
                 static_cast<int>(expected[i].first));
      BOOST_TEST(set.elements[i].value.text == expected[i].second);
    }
  }
  BOOST_TEST(set.elements[0].comment.value_or("<none>") == "kube-dns");
  BOOST_TEST(!set.elements[1].comment.has_value());
  BOOST_TEST(set.elements[2].value.location.column == 51);
}

struct ErrorCase {
  const char* name;
  std::string source;
  std::string errors;
};

const std::string kStatementStart =
    "expected the start of a statement (table, param, mark, iface, set, capture, rule, route, ...)";

BOOST_AUTO_TEST_CASE(syntax_errors) {
  const std::vector<ErrorCase> cases = {
      {"missing => before an action", "table ip t\ncapture prerouting {\n  iif \"eth0\" mark |= 0x1\n}\n",
       "p.zt:3:19: error: syntax error: unexpected '|=', expected one of 'has', 'lacks', '==', '!='\n"
       "      iif \"eth0\" mark |= 0x1\n"
       "                      ^\n"},
      {"missing => before a verdict", "capture prerouting { udp return }\n",
       "p.zt:1:26: error: syntax error: unexpected 'return', expected one of 'mark', 'bypass', "
       "'iif', 'oif', 'saddr', 'daddr', 'tcp', 'udp', 'ct', '=>'\n"
       "    capture prerouting { udp return }\n"
       "                             ^\n"},
      {"unknown character", "table ip t\nmark skip = 0x200 $\n",
       "p.zt:2:19: error: syntax error: unexpected '$', " + kStatementStart + "\n"
       "    mark skip = 0x200 $\n"
       "                      ^\n"},
      {"unknown character after a tab keeps the tab under the caret", "\tmark a = 0x1 @\n",
       "p.zt:1:15: error: syntax error: unexpected '@', " + kStatementStart + "\n"
       "    \tmark a = 0x1 @\n"
       "    \t             ^\n"},
      {"unterminated string", "table ip t\niface a = \"eth0\nmark b = 1\n",
       "p.zt:2:11: error: syntax error: unexpected unterminated string, expected one of a name, a string\n"
       "    iface a = \"eth0\n"
       "              ^\n"},
      {"unterminated string at end of file", "iface a = \"eth0",
       "p.zt:1:11: error: syntax error: unexpected unterminated string, expected one of a name, a string\n"
       "    iface a = \"eth0\n"
       "              ^\n"},
      {"NUL byte", std::string("table ip t\nmark a = 0x1\0\nmark b = 0x2\n", 37),
       "p.zt:2:13: error: syntax error: unexpected byte 0x00, " + kStatementStart + "\n"
       "    mark a = 0x1\\x00\n"
       "                ^\n"},
      {"non-UTF-8 bytes where a statement starts", "table ip t\n\xff\xfe mark\n",
       "p.zt:2:1: error: syntax error: unexpected byte 0xff, " + kStatementStart + "\n"
       "    \\xff\\xfe mark\n"
       "    ^\n"
       "p.zt:3:1: error: syntax error: unexpected end of file, expected a name\n"
       "    \n"
       "    ^\n"},
      {"UTF-8 in a name", "mark caf\xc3\xa9 = 1\n",
       "p.zt:1:9: error: syntax error: unexpected byte 0xc3, expected one of '=', a number, a name\n"
       "    mark caf\xc3\xa9 = 1\n"
       "            ^\n"},
      {"file truncated inside a block", "table ip t\ncapture prerouting {\n  udp => return\n",
       "p.zt:4:1: error: syntax error: unexpected end of file, expected one of 'mark', 'bypass', "
       "'iif', 'oif', 'saddr', 'daddr', 'tcp', 'udp', 'ct', '=>', '}'\n"
       "    \n"
       "    ^\n"},
      {"file truncated after =>", "table ip t\ncapture prerouting {\n  udp =>",
       "p.zt:3:9: error: syntax error: unexpected end of file, expected one of 'mark', 'ct', "
       "'return', 'accept', 'drop', 'no', 'dnat', 'counter'\n"
       "      udp =>\n"
       "            ^\n"},
      {"block closed before the actions", "capture prerouting {\n  udp => return\n  tcp dport 80 =>\n}\n",
       "p.zt:4:1: error: syntax error: unexpected '}', expected one of 'mark', 'ct', 'return', "
       "'accept', 'drop', 'no', 'dnat', 'counter'\n"
       "    }\n"
       "    ^\n"},
      {"missing table name", "table ip\n",
       "p.zt:2:1: error: syntax error: unexpected end of file, expected a name\n"
       "    \n"
       "    ^\n"},
      {"missing ':' in a parameter", "param p ipv4\n",
       "p.zt:1:9: error: syntax error: unexpected 'ipv4', expected ':'\n"
       "    param p ipv4\n"
       "            ^\n"},
      {"missing mark value", "capture prerouting { => mark |= }\n",
       "p.zt:1:33: error: syntax error: unexpected '}', expected one of a number, a name\n"
       "    capture prerouting { => mark |= }\n"
       "                                    ^\n"},
      {"empty interface list", "capture prerouting { iif => return }\n",
       "p.zt:1:26: error: syntax error: unexpected '=>', expected one of '!=', a name, a string\n"
       "    capture prerouting { iif => return }\n"
       "                             ^\n"},
      {"route attribute without its value", "route 100 {\n  default via 10.0.0.1 dev\n}\n",
       "p.zt:3:1: error: syntax error: unexpected '}', expected one of a name, a string\n"
       "    }\n"
       "    ^\n"},
      {"one error per bad line: recovery goes on",
       "mark a = 1 $\nmark b = 2\nmark c = 3 $\n",
       "p.zt:1:12: error: syntax error: unexpected '$', " + kStatementStart + "\n"
       "    mark a = 1 $\n"
       "               ^\n"
       "p.zt:3:12: error: syntax error: unexpected '$', " + kStatementStart + "\n"
       "    mark c = 3 $\n"
       "               ^\n"},
  };
  for (const ErrorCase& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      Parsed parsed = parse_text(c.source);
      BOOST_TEST(parsed.errors == c.errors);
      // No AST is built from a tree that error recovery patched up.
      BOOST_TEST(parsed.policy.statements.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(empty_file_is_valid_and_check_reports_no_table) {
  Parsed parsed = parse_text("");
  BOOST_TEST(parsed.errors == "");
  BOOST_TEST(parsed.policy.statements.empty());
  Diagnostics diagnostics;
  check(parsed.policy, {}, diagnostics);
  BOOST_TEST(diagnostics.render() ==
             "p.zt: error: the policy declares no table: add e.g. `table ip ztunnel`\n");
}

BOOST_AUTO_TEST_CASE(binary_input_is_reported_not_crashed_on) {
  std::string bytes;
  for (int round = 0; round < 4; ++round) {
    for (int b = 0; b < 256; ++b) bytes += static_cast<char>(b);
  }
  Parsed parsed = parse_text(bytes);
  BOOST_TEST(parsed.policy.statements.empty());
  BOOST_TEST(parsed.errors.rfind("p.zt:1:1: error: syntax error: unexpected byte 0x00, ", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(many_syntax_errors_stop_at_the_cap) {
  std::string text;
  for (int i = 0; i < 300; ++i) text += "mark a = 1 $\n";
  Parsed parsed = parse_text(text);
  const std::string tail =
      "p.zt:100:12: error: syntax error: unexpected '$', " + kStatementStart + "\n"
      "    mark a = 1 $\n"
      "               ^\n"
      "error: 200 more errors not shown\n";
  BOOST_REQUIRE(parsed.errors.size() > tail.size());
  BOOST_TEST(parsed.errors.substr(parsed.errors.size() - tail.size()) == tail);
}

// Large inputs: no timing asserts, only that they complete and nothing is lost.
BOOST_AUTO_TEST_CASE(one_megabyte_single_line) {
  std::string text;
  int count = 0;
  while (text.size() < (1u << 20)) {
    text += "iface i" + std::to_string(count) + " = \"e" + std::to_string(count % 1000) + "\"; ";
    ++count;
  }
  Parsed parsed = parse_text(text);
  BOOST_TEST(parsed.errors == "");
  BOOST_REQUIRE(parsed.policy.statements.size() == static_cast<size_t>(count));
  const auto& last = std::get<ast::IfaceDecl>(parsed.policy.statements.back());
  BOOST_TEST(last.name.text == "i" + std::to_string(count - 1));
  BOOST_TEST(last.location.line == 1);
  BOOST_TEST(static_cast<size_t>(last.location.column) == text.rfind("iface") + 1);
}

BOOST_AUTO_TEST_CASE(one_megabyte_line_with_an_error_at_its_end) {
  std::string text = "table ip t\n" + std::string(1 << 20, ' ') + "$";
  Parsed parsed = parse_text(text);
  BOOST_TEST(parsed.errors == "p.zt:2:1048577: error: syntax error: unexpected '$', " +
                                  kStatementStart + "\n    ..." + std::string(79, ' ') + "$\n    " +
                                  std::string(82, ' ') + "^\n");
}

BOOST_AUTO_TEST_CASE(ten_thousand_rules) {
  std::string text = "table ip t\ncapture prerouting {\n";
  constexpr int kRules = 10000;
  for (int i = 0; i < kRules; ++i) {
    text += "  iif \"e" + std::to_string(i % 1000) + "\" saddr 10." + std::to_string(i / 256 % 256) +
            "." + std::to_string(i % 256) + ".1 tcp dport " + std::to_string(i % 65535 + 1) +
            " => mark |= 0x" + std::to_string(1 + i % 9) + ", return\n";
  }
  text += "}\n";
  Parsed parsed = parse_text(text);
  BOOST_TEST(parsed.errors == "");
  BOOST_REQUIRE(parsed.policy.statements.size() == 2u);
  const auto& block = std::get<ast::CaptureBlock>(parsed.policy.statements[1]);
  BOOST_REQUIRE(block.rules.size() == static_cast<size_t>(kRules));
  BOOST_TEST(block.rules.back().location.line == kRules + 2);
  BOOST_TEST(block.rules.back().matches.size() == 3u);
  BOOST_TEST(block.rules.back().actions.size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

// --- the loader: includes spliced in place, relative to the including file.

struct Loaded {
  std::string dump;
  std::string errors;
};

Loaded load_files(MemoryFileSystem& files, const std::string& path) {
  Diagnostics diagnostics;
  ast::Policy policy = load_policy(path, files, diagnostics);
  return {dump_ast(policy), diagnostics.render()};
}

BOOST_AUTO_TEST_SUITE(load)

BOOST_AUTO_TEST_CASE(includes_are_spliced_in_place) {
  MemoryFileSystem files;
  files.add("etc/main.zt", "table ip t\ninclude \"marks.zt\"\nmark c = 0x4\n");
  files.add("etc/marks.zt", "mark a = 0x1\ninclude \"sub/more.zt\"\n");
  files.add("etc/sub/more.zt", "mark b = 0x2\n");
  Loaded loaded = load_files(files, "etc/main.zt");
  BOOST_TEST(loaded.errors == "");
  // Locations keep their own file's line numbers.
  BOOST_TEST(loaded.dump == "1:1 table ip t\n1:1 mark a = 0x1\n1:1 mark b = 0x2\n3:1 mark c = 0x4\n");
}

BOOST_AUTO_TEST_CASE(absolute_include_path_inside_an_include_dir) {
  MemoryFileSystem files;
  files.add("/a/main.zt", "include \"/b/x.zt\"\ninclude \"/a/sub/y.zt\"\n");
  files.add("/b/x.zt", "table ip t\n");
  files.add("/a/sub/y.zt", "mark m = 0x1\n");
  Diagnostics diagnostics;
  ast::Policy policy = load_policy("/a/main.zt", files, diagnostics, {"/b"});
  BOOST_TEST(diagnostics.render() == "");
  BOOST_TEST(dump_ast(policy) == "1:1 table ip t\n1:1 mark m = 0x1\n");
}

// By default an include reads only from the top file's directory and below.
BOOST_AUTO_TEST_CASE(includes_outside_the_policy_directory_are_refused) {
  MemoryFileSystem files;
  files.add("/etc/ztc/main.zt",
            "table ip t\ninclude \"/etc/shadow\"\ninclude \"../passwd\"\n"
            "include \"sub/../../ztc/ok.zt\"\n");
  files.add("/etc/shadow", "root:x\n");
  files.add("/etc/passwd", "root:x\n");
  files.add("/etc/ztc/ok.zt", "mark m = 0x1\n");
  Loaded loaded = load_files(files, "/etc/ztc/main.zt");
  BOOST_TEST(loaded.errors ==
             "/etc/ztc/main.zt:2:1: error: cannot include '/etc/shadow': it is outside the "
             "include directories (/etc/ztc); --include-dir DIR allows another\n"
             "    include \"/etc/shadow\"\n"
             "    ^\n"
             "/etc/ztc/main.zt:3:1: error: cannot include '/etc/ztc/../passwd': it is outside the "
             "include directories (/etc/ztc); --include-dir DIR allows another\n"
             "    include \"../passwd\"\n"
             "    ^\n");
  BOOST_TEST(loaded.dump == "1:1 table ip t\n1:1 mark m = 0x1\n");
}

BOOST_AUTO_TEST_CASE(include_errors) {
  MemoryFileSystem files;
  files.add("main.zt", "table ip t\ninclude \"missing.zt\"\ninclude \"loop.zt\"\n");
  files.add("loop.zt", "mark a = 0x1\ninclude \"main.zt\"\n");
  Loaded loaded = load_files(files, "main.zt");
  BOOST_TEST(loaded.errors ==
             "main.zt:2:1: error: cannot include 'missing.zt': No such file or directory\n"
             "    include \"missing.zt\"\n"
             "    ^\n"
             "loop.zt:2:1: error: include cycle: 'main.zt' includes itself\n"
             "    include \"main.zt\"\n"
             "    ^\n");
  BOOST_TEST(load_files(files, "nothere.zt").errors ==
             "error: cannot read 'nothere.zt': No such file or directory\n");
}

BOOST_AUTO_TEST_CASE(include_depth_is_bounded) {
  MemoryFileSystem files;
  // f0 includes f1 includes f2 ... each a different file: no cycle, just deep.
  for (int i = 0; i < 40; ++i) {
    files.add("f" + std::to_string(i) + ".zt", "include \"f" + std::to_string(i + 1) + ".zt\"\n");
  }
  Loaded loaded = load_files(files, "f0.zt");
  BOOST_TEST(loaded.errors ==
             "f15.zt:1:1: error: includes nested more than 16 deep\n"
             "    include \"f16.zt\"\n"
             "    ^\n");
}

BOOST_AUTO_TEST_CASE(syntax_errors_in_an_included_file_name_that_file) {
  MemoryFileSystem files;
  files.add("main.zt", "table ip t\ninclude \"bad.zt\"\n");
  files.add("bad.zt", "\n\nmark a = $\n");
  BOOST_TEST(load_files(files, "main.zt").errors ==
             "bad.zt:3:10: error: syntax error: unexpected '$', expected one of a number, a name\n"
             "    mark a = $\n"
             "             ^\n");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc
