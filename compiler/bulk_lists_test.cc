// Large set element lists read without ANTLR: which lists are taken, that the
// text ANTLR then reads keeps every other token's line and column, and that
// parse_source gives exactly what ANTLR alone gives (AST, element values and
// locations, diagnostics), errors included.
#include "compiler/bulk_lists.h"

#include <boost/test/unit_test.hpp>
#include <memory>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "compiler/dump.h"
#include "compiler/parse.h"

namespace ztc {
namespace {

std::string addresses(int count, const std::string& separator = ",\n  ") {
  std::string out;
  for (int i = 0; i < count; ++i) {
    if (i > 0) out += separator;
    out += "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
  }
  return out;
}

// Everything the parse stage produces for a file, elements in full.
std::string parse_result(const std::string& text, bool antlr_only) {
  Diagnostics diagnostics;
  auto file = std::make_shared<const SourceFile>("p.zt", text);
  ast::Policy policy = antlr_only ? parse_source_antlr_only(file, diagnostics)
                                  : parse_source(file, diagnostics);
  std::ostringstream out;
  out << dump_ast(policy) << "--- diagnostics\n" << diagnostics.render() << "--- elements\n";
  for (const ast::Statement& statement : policy.statements) {
    const auto* set = std::get_if<ast::SetDecl>(&statement);
    if (set == nullptr) continue;
    out << set->name.text << ":\n";
    for (const ast::SetElement& e : set->elements) {
      const ast::Value& v = e.value;
      out << "  " << v.location.str() << " kind=" << static_cast<int>(v.kind) << " text=" << v.text
          << " number=" << v.number << " overflow=" << v.overflow;
      if (e.comment) out << " comment=" << *e.comment;
      out << "\n";
    }
  }
  return out.str();
}

void check_same_as_antlr(const std::string& text) {
  std::string ours = parse_result(text, false);
  std::string antlr = parse_result(text, true);
  BOOST_TEST(ours == antlr);
}

// Line and column of every byte offset, counted as ANTLR counts them.
std::pair<int, int> position(const std::string& text, size_t offset) {
  int line = 1, column = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 0;
    } else {
      ++column;
    }
  }
  return {line, column};
}

BOOST_AUTO_TEST_SUITE(bulk_lists)

BOOST_AUTO_TEST_CASE(takes_a_well_formed_list_and_keeps_positions) {
  std::string text = "table ip t\nset pods: ipv4 managed = {\n  " + addresses(40) +
                     ",\n  10.9.9.9 comment \"a \\\"b\\\"\" # trailing\n  } iface x = \"istioin\"\n";
  std::string cut = text;
  BulkLists bulk = take_bulk_lists(cut);
  BOOST_TEST_REQUIRE(bulk.lists.size() == 1u);
  const std::vector<BulkElement>& elements = bulk.lists.begin()->second;
  BOOST_TEST(elements.size() == 41u);
  BOOST_TEST(cut.size() < text.size());
  // The '{' is at its own offset; the '}' and what follows keep line and column.
  size_t open = text.find('{');
  BOOST_TEST(bulk.lists.begin()->first == open);
  BOOST_TEST(cut[open] == '{');
  size_t close_in_cut = cut.find('}');
  size_t close = text.find('}');
  BOOST_TEST(bulk.file_offset(close_in_cut) == close);
  BOOST_TEST((position(cut, close_in_cut) == position(text, close)));
  size_t quote_in_cut = cut.find("\"istioin\"");
  BOOST_TEST(bulk.file_offset(quote_in_cut) == text.find("\"istioin\""));
  BOOST_TEST((position(cut, quote_in_cut) == position(text, text.find("\"istioin\""))));
  // Element tokens: offsets and positions in the original text.
  const BulkElement& first = elements.front();
  BOOST_TEST(text.substr(first.member.start, first.member.stop - first.member.start + 1) ==
             "10.1.0.1");
  BOOST_TEST(first.member.line == 3);
  BOOST_TEST(first.member.column == 2);
  const BulkElement& last = elements.back();
  BOOST_TEST_REQUIRE(last.comment.has_value());
  BOOST_TEST(text.substr(last.comment->start, last.comment->stop - last.comment->start + 1) ==
             "\"a \\\"b\\\"\"");
}

BOOST_AUTO_TEST_CASE(leaves_every_other_list_to_antlr) {
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"too short", "set s: ipv4 = { " + addresses(kBulkMinElements - 1) + " }\n"},
      {"a keyword among the members", "set s: ipv4 = { " + addresses(40) + ", tcp }\n"},
      {"a prefix cut short", "set s: ipv4net = { " + addresses(40) + ", 10.0.0.0/ }\n"},
      {"an address glued to a name", "set s: ipv4 = { " + addresses(40) + ", 10.0.0.1x }\n"},
      {"missing comma", "set s: ipv4 = { " + addresses(40) + " 10.0.0.1 }\n"},
      {"two commas", "set s: ipv4 = { " + addresses(40) + ",, 10.0.0.1 }\n"},
      {"comment without a string", "set s: ipv4 = { " + addresses(40) + " comment x }\n"},
      {"comment twice", "set s: ipv4 = { 10.0.0.1 comment \"a\" comment \"b\", " + addresses(40) +
                            " }\n"},
      {"unterminated string", "set s: ipv4 = { " + addresses(40) + ", \"abc\n }\n"},
      {"unterminated list", "set s: ipv4 = { " + addresses(40) + ",\n"},
      {"a byte the lexer does not know", "set s: ipv4 = { " + addresses(40) + ", \x01 }\n"},
      {"a group, not a set", "group g = { " + addresses(40) + " }\n"},
      {"no type", "set s = { " + addresses(40) + " }\n"},
      {"inside a string", "iface i = \"set s: ipv4 = { " + addresses(40, ", ") + " }\"\n"},
      {"inside a comment", "# set s: ipv4 = { " + addresses(40, ", ") + " }\n"},
  };
  for (const auto& [name, text] : cases) {
    BOOST_TEST_CONTEXT(name) {
      std::string cut = text;
      BulkLists bulk = take_bulk_lists(cut);
      BOOST_TEST(bulk.lists.empty());
      BOOST_TEST(cut == text);
      check_same_as_antlr(text);
    }
  }
}

BOOST_AUTO_TEST_CASE(same_ast_and_diagnostics_as_antlr) {
  std::string v6;
  for (int i = 0; i < 40; ++i) v6 += "fd00::" + std::to_string(i + 1) + "/128, ";
  std::string mixed;
  for (int i = 0; i < 40; ++i) {
    mixed += "\"s" + std::to_string(i) + "\", 0x" + std::to_string(i) + ", " + std::to_string(i) +
             ", name_" + std::to_string(i) + ", 99999999999999999999, ";
  }
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"a managed set of addresses with comments, then more statements",
       "param host: ipv4 = 10.0.0.1\ntable ip t\n"
       "set pods: ipv4 managed = {\n  " +
           addresses(300) +
           ",\n  10.2.0.1 comment \"caf\xc3\xa9 \\\"x\\\"\",  # a comment\n"
           "  10.2.0.2 comment \"\",\n}\n"
           "iface tunnel = \"istioin\"\ncapture prerouting { iif tunnel saddr @pods => return }\n"},
      {"IPv6, prefixes, a trailing comma, '}' followed by a statement on its line",
       "table inet t\nset six: ipv6net = {\n" + v6 + "\n   } iface a = \"x\" ; addr b = 10.0.0.1\n"},
      {"strings, numbers, overflow, names",
       "table ip t\nset m: ipv4 = {\n" + mixed + "\n}\niface i = \"after\"\n"},
      {"three lists, one on a single line, CRLF line ends",
       "table ip t\r\nset a: ipv4 = { " + addresses(50, ", ") + " } iface x = \"one\"\r\n" +
           "set b: ipv4 managed = {\r\n" + addresses(60, ",\r\n") + "\r\n}\r\n" +
           "set c: ipv4 = {\r\n" + addresses(70, ",\r\n") + "\r\n}\r\niface y = \"two\"\r\n"},
      {"an empty list and a list of exactly the minimum",
       "set e: ipv4 = { }\nset f: ipv4 = {\n" + addresses(kBulkMinElements) + "\n}\n"},
      {"members the checker rejects keep their locations",
       "table ip t\nset s: ipv4 = {\n" + addresses(40) + ",\n 10.0.0.300, 1.2.3.4/40, fd00::1\n}\n"},
      {"a syntax error after a list: ANTLR reports it from the untouched text",
       "table ip t\nset s: ipv4 = {\n" + addresses(40) + "\n}\ncapture prerouting { => }\n"
       "iface = \"x\"\n"},
      {"a syntax error before a list",
       "table ip t\nmark = 1\nset s: ipv4 = {\n" + addresses(40) + "\n}\n"},
      {"a list inside a capture block is not a set statement's",
       "table ip t\ncapture prerouting { set s: ipv4 = {\n" + addresses(40) + "\n} }\n"},
      {"a list after an unterminated string", "iface a = \"x\nset s: ipv4 = {\n" +
                                                  addresses(40) + "\n}\n"},
  };
  for (const auto& [name, text] : cases) {
    BOOST_TEST_CONTEXT(name) { check_same_as_antlr(text); }
  }
}

BOOST_AUTO_TEST_CASE(large_lists_are_read_here) {
  // 20k members: what ANTLR alone gives, and the bulk path actually taken.
  std::string text = "table ip t\nset pods: ipv4 managed = {\n" + addresses(20000) +
                     "\n}\niface i = \"x\"\n";
  std::string cut = text;
  BulkLists bulk = take_bulk_lists(cut);
  BOOST_TEST_REQUIRE(bulk.lists.size() == 1u);
  BOOST_TEST(bulk.lists.begin()->second.size() == 20000u);
  check_same_as_antlr(text);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc
