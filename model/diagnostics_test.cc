// Rendering of diagnostics: the gcc/nft shape (file:line:col, the source
// line, a caret under the column), printable and bounded source lines, the
// error cap, duplicate suppression and source order.
#include "model/diagnostics.h"

#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <vector>

namespace ztc {
namespace {

SourceFilePtr file(const std::string& path, const std::string& text) {
  return std::make_shared<const SourceFile>(path, text);
}

Location at(const SourceFilePtr& f, int line, int column) { return Location{f, line, column}; }

std::string render_one(const std::string& text, int line, int column,
                       const std::string& message = "bad") {
  Diagnostics d;
  d.error(at(file("p.zt", text), line, column), message);
  return d.render();
}

BOOST_AUTO_TEST_SUITE(diagnostics)

// --- the caret: one table of (source, line, column) -> the two lines under the
// header. Byte columns, 1-based, as the lexer reports them.
struct CaretCase {
  const char* name;
  std::string text;
  int line;
  int column;
  std::string expected;  // what follows the header line
};

BOOST_AUTO_TEST_CASE(caret_lands_under_the_column) {
  const std::string long_a(499, 'a');
  const std::string long_b(500, 'b');
  const std::string x200(200, 'x');
  const std::vector<CaretCase> cases = {
      {"first column", "mark a = 1\n", 1, 1, "    mark a = 1\n    ^\n"},
      {"middle", "mark a = 0x1 $\n", 1, 14, "    mark a = 0x1 $\n                 ^\n"},
      {"second line of three", "a\nbb cc\nd\n", 2, 4, "    bb cc\n       ^\n"},
      {"last line without newline", "a\nxyz", 2, 3, "    xyz\n      ^\n"},
      // End of file: the column just past the last byte.
      {"one past the end", "rule 100 lookup", 1, 16, "    rule 100 lookup\n                   ^\n"},
      {"empty line (end of file after a newline)", "table ip t\n", 2, 1, "    \n    ^\n"},
      // Tabs are kept in the padding so the caret lines up in any tab width.
      {"tab before", "\tmark\ta = $\n", 1, 11, "    \tmark\ta = $\n    \t    \t    ^\n"},
      {"tab under caret", "a\tb\n", 1, 2, "    a\tb\n     ^\n"},
      // Carriage return of a CRLF file is not part of the line.
      {"crlf", "mark a\r\nmark b $\r\n", 2, 8, "    mark b $\n           ^\n"},
      // Valid UTF-8 is shown as it is, one column per character; every byte
      // of invalid UTF-8 and of a control character is \xNN, four columns.
      {"control and high bytes",
       std::string("a\x01"
                   "b\x7f"
                   "c\xc3\xa9"
                   "d",
                   8),
       1, 8,
       "    a\\x01b\\x7fc\xc3\xa9"
       "d\n    " +
           std::string(12, ' ') + "^\n"},
      {"nul byte", std::string("mark a = 0x1\0", 13), 1, 13,
       "    mark a = 0x1\\x00\n                ^\n"},
      {"escape sequence is not passed to the terminal", "x\x1b[31my", 1, 1,
       "    x\\x1b[31my\n    ^\n"},
      {"invalid UTF-8 before the caret", "iface a = \"ist\xffioin\" $", 1, 22,
       "    iface a = \"ist\\xffioin\" $\n    " + std::string(24, ' ') + "^\n"},
      {"caret on a multi-byte character", "x = \"\xe2\x82\xac\xe2\x82\xac\" $", 1, 9,
       "    x = \"\xe2\x82\xac\xe2\x82\xac\" $\n    " + std::string(6, ' ') + "^\n"},
      {"truncated sequence and overlong NUL", "\xc3( \xc0\x80 $", 1, 7,
       "    \\xc3( \\xc0\\x80 $\n    " + std::string(15, ' ') + "^\n"},
      {"C1 control, bidi override and byte order mark",
       "a\xc2\x9b"
       "b\xe2\x80\xae"
       "c\xef\xbb\xbf"
       "d",
       1, 12,
       "    a\\xc2\\x9bb\\xe2\\x80\\xaec\\xef\\xbb\\xbfd\n    " + std::string(35, ' ') + "^\n"},
      {"surrogate and beyond U+10FFFF are invalid", "\xed\xa0\x80\xf4\x90\x80\x80$", 1, 8,
       "    \\xed\\xa0\\x80\\xf4\\x90\\x80\\x80$\n    " + std::string(28, ' ') + "^\n"},
      {"clipped long line of two-byte characters starts on a character",
       [] {
         std::string s;
         for (int i = 0; i < 200; ++i) s += "\xc3\xa9";
         return s;
       }(),
       1, 201,
       [] {
         std::string s = "    ...";
         for (int i = 0; i < 80; ++i) s += "\xc3\xa9";
         return s + "...\n    " + std::string(42, ' ') + "^\n";
       }()},
      // Long lines: at most 160 bytes shown, "..." where clipped.
      {"long line, caret within the first 160", x200, 1, 5,
       "    " + std::string(160, 'x') + "...\n        ^\n"},
      {"long line, caret at 160", x200, 1, 160,
       "    " + std::string(160, 'x') + "...\n    " + std::string(159, ' ') + "^\n"},
      {"long line, caret at 161 clips the start", x200, 1, 161,
       "    ..." + std::string(119, 'x') + "\n    " + std::string(82, ' ') + "^\n"},
      {"caret in the middle of a 1000-byte line", long_a + "$" + long_b, 1, 500,
       "    ..." + std::string(79, 'a') + "$" + std::string(80, 'b') + "...\n    " +
           std::string(82, ' ') + "^\n"},
      {"tab inside the clipped window", std::string(300, 'y') + "\t$", 1, 302,
       "    ..." + std::string(78, 'y') + "\t$\n    " + std::string(81, ' ') + "\t^\n"},
  };
  for (const CaretCase& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      std::string header =
          "p.zt:" + std::to_string(c.line) + ":" + std::to_string(c.column) + ": error: bad\n";
      BOOST_TEST(render_one(c.text, c.line, c.column) == header + c.expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(messages_show_user_text_like_the_excerpt) {
  auto f = file("p.zt", "iface a = \"ist\xffioin\"\n");
  Diagnostics d;
  d.error(at(f, 1, 11), "'ist\xffioin' is not an interface name");
  d.error(at(f, 1, 1), "'caf\xc3\xa9' and '\x1b[2J' and a\ttab");
  d.error(at(f, 1, 2), "the kernel said:\nline two\xc0\n");
  BOOST_TEST(d.render() ==
             "p.zt:1:1: error: 'caf\xc3\xa9' and '\\x1b[2J' and a\ttab\n"
             "    iface a = \"ist\\xffioin\"\n"
             "    ^\n"
             "p.zt:1:2: error: the kernel said:\n"
             "    line two\\xc0\n"
             "    iface a = \"ist\\xffioin\"\n"
             "     ^\n"
             "p.zt:1:11: error: 'ist\\xffioin' is not an interface name\n"
             "    iface a = \"ist\\xffioin\"\n"
             "              ^\n");
  BOOST_TEST(printable_text("\xf0\x9f\x90\xa7 \xe2\x80\x8b") == "\xf0\x9f\x90\xa7 \\xe2\\x80\\x8b");
}

BOOST_AUTO_TEST_CASE(a_diagnostic_about_the_whole_file_names_it) {
  auto f = file("dir/policy.zt", "param x: u32 = 1\n");
  Diagnostics d;
  d.error(at(f, 3, 1), "located");
  d.error(Location{f}, "the policy declares no table");
  BOOST_TEST(Location{f}.str() == "dir/policy.zt");
  BOOST_TEST(!Location{f}.known());
  BOOST_TEST(d.render() ==
             "dir/policy.zt: error: the policy declares no table\n"
             "dir/policy.zt:3:1: error: located\n"
             "    \n"
             "    ^\n");
}

BOOST_AUTO_TEST_CASE(severities_and_unlocated_diagnostics) {
  auto f = file("dir/policy.zt", "table ip t\nmark a = 0x1\n");
  Diagnostics d;
  d.warning(at(f, 2, 6), "mark 'a' is never used");
  d.note(at(f, 1, 1), "table declared here");
  d.error(Location{}, "-D x=1: the policy has no parameter 'x'");
  BOOST_TEST(d.has_errors());
  BOOST_TEST(d.error_count() == 1);
  BOOST_TEST(d.render() ==
             "error: -D x=1: the policy has no parameter 'x'\n"
             "dir/policy.zt:1:1: note: table declared here\n"
             "    table ip t\n"
             "    ^\n"
             "dir/policy.zt:2:6: warning: mark 'a' is never used\n"
             "    mark a = 0x1\n"
             "         ^\n");
}

BOOST_AUTO_TEST_CASE(warnings_alone_are_not_errors) {
  Diagnostics d;
  d.warning(at(file("p.zt", "x\n"), 1, 1), "w");
  BOOST_TEST(!d.has_errors());
  BOOST_TEST(d.error_count() == 0);
}

BOOST_AUTO_TEST_CASE(single_diagnostic_render) {
  auto f = file("p.zt", "iface a = \"eth0\n");
  BOOST_TEST(render(Diagnostic{Severity::error, at(f, 1, 11), "unterminated string"}) ==
             "p.zt:1:11: error: unterminated string\n"
             "    iface a = \"eth0\n"
             "              ^\n");
  BOOST_TEST(render(Diagnostic{Severity::note, Location{}, "no location"}) ==
             "note: no location\n");
}

BOOST_AUTO_TEST_CASE(location_text) {
  auto f = file("a/b.zt", "x\n");
  BOOST_TEST(at(f, 3, 7).str() == "a/b.zt:3:7");
  BOOST_TEST(Location{}.str() == "<unknown>");
  BOOST_TEST(!Location{}.known());
  BOOST_TEST(at(f, 1, 1).known());
}

BOOST_AUTO_TEST_CASE(source_lines_by_number) {
  SourceFile f("p.zt", "one\ntwo\r\n\nfour");
  BOOST_TEST(f.line(1) == "one");
  BOOST_TEST(f.line(2) == "two");
  BOOST_TEST(f.line(3) == "");
  BOOST_TEST(f.line(4) == "four");
  BOOST_TEST(f.line(5) == "");
  BOOST_TEST(f.line(0) == "");
  BOOST_TEST(f.line(-1) == "");
}

// --- the cap: hostile input can produce an error per byte.

std::string numbered_errors(int count, Diagnostics& d) {
  auto f = file("p.zt", "x\n");
  for (int i = 0; i < count; ++i) d.error(at(f, 1, 1), "error number " + std::to_string(i));
  return d.render();
}

size_t occurrences(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

BOOST_AUTO_TEST_CASE(error_cap_shows_the_first_errors_and_counts_the_rest) {
  static_assert(Diagnostics::kMaxErrors == 100);
  Diagnostics d;
  std::string out = numbered_errors(150, d);
  BOOST_TEST(d.error_count() == Diagnostics::kMaxErrors);
  BOOST_TEST(d.all().size() == 100u);
  BOOST_TEST(occurrences(out, ": error: error number ") == 100u);
  // The first 100 are kept, in order; the last kept one is number 99.
  BOOST_TEST(out.find("error number 99\n") != std::string::npos);
  BOOST_TEST(out.find("error number 100\n") == std::string::npos);
  const std::string tail =
      "p.zt:1:1: error: error number 99\n    x\n    ^\n"
      "error: 50 more errors not shown\n";
  BOOST_TEST(out.size() >= tail.size());
  BOOST_TEST(out.substr(out.size() - tail.size()) == tail);
}

BOOST_AUTO_TEST_CASE(exactly_the_cap_has_no_trailer) {
  Diagnostics d;
  std::string out = numbered_errors(100, d);
  BOOST_TEST(d.error_count() == 100);
  BOOST_TEST(out.find("not shown") == std::string::npos);
  Diagnostics e;
  out = numbered_errors(101, e);
  BOOST_TEST(out.find("error: 1 more error not shown\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(warnings_do_not_count_toward_the_cap) {
  Diagnostics d;
  auto f = file("p.zt", "x\n");
  for (int i = 0; i < 300; ++i) d.warning(at(f, 1, 1), "w" + std::to_string(i));
  numbered_errors(100, d);
  BOOST_TEST(d.error_count() == 100);
  BOOST_TEST(d.render().find("not shown") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(duplicates_are_dropped_and_do_not_count) {
  auto f = file("p.zt", "iif a => return\niif a => return\n");
  Diagnostics d;
  d.error(at(f, 1, 5), "undefined interface 'a'");
  d.error(at(f, 1, 5), "undefined interface 'a'");  // same rule checked for another hook
  d.error(at(f, 2, 5), "undefined interface 'a'");  // same message, other place: kept
  d.error(at(f, 1, 5), "another problem");          // same place, other message: kept
  BOOST_TEST(d.error_count() == 3);
  BOOST_TEST(d.render() ==
             "p.zt:1:5: error: undefined interface 'a'\n"
             "    iif a => return\n"
             "        ^\n"
             "p.zt:1:5: error: another problem\n"
             "    iif a => return\n"
             "        ^\n"
             "p.zt:2:5: error: undefined interface 'a'\n"
             "    iif a => return\n"
             "        ^\n");
  // Repeating one error many times never reaches the cap.
  for (int i = 0; i < 500; ++i) d.error(at(f, 1, 5), "undefined interface 'a'");
  BOOST_TEST(d.error_count() == 3);
  BOOST_TEST(d.render().find("not shown") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(same_message_in_another_file_is_not_a_duplicate) {
  auto a = file("a.zt", "x\n");
  auto b = file("b.zt", "x\n");
  Diagnostics d;
  d.error(at(a, 1, 1), "m");
  d.error(at(b, 1, 1), "m");
  BOOST_TEST(d.error_count() == 2);
}

BOOST_AUTO_TEST_CASE(rendered_in_source_order) {
  auto f = file("p.zt", "l1\nl2\nl3 x y\n");
  Diagnostics d;
  d.error(at(f, 3, 6), "third line, column 6");
  d.error(at(f, 1, 1), "first line");
  d.error(at(f, 3, 4), "third line, column 4");
  d.error(Location{}, "command line");
  d.error(at(f, 2, 1), "second line, first reported");
  d.warning(at(f, 2, 1), "second line, reported later");
  BOOST_TEST(d.render() ==
             "error: command line\n"
             "p.zt:1:1: error: first line\n"
             "    l1\n"
             "    ^\n"
             "p.zt:2:1: error: second line, first reported\n"
             "    l2\n"
             "    ^\n"
             "p.zt:2:1: warning: second line, reported later\n"
             "    l2\n"
             "    ^\n"
             "p.zt:3:4: error: third line, column 4\n"
             "    l3 x y\n"
             "       ^\n"
             "p.zt:3:6: error: third line, column 6\n"
             "    l3 x y\n"
             "         ^\n");
}

// A policy and a file it includes: each file's diagnostics come in that
// file's line order; files in the order they first had a diagnostic.
BOOST_AUTO_TEST_CASE(source_order_holds_per_file_with_two_files) {
  auto main_file = file("main.zt", "include \"inc.zt\"\nmark a = x\nl3\nl4\nparam p: ipv4 = 1\n");
  auto included = file("inc.zt", "mark b = y\nmark c = z\n");
  Diagnostics d;
  // The checker's order: parameters first (line 5), then the other
  // statements in spliced order (the include's lines, then main line 2).
  d.error(at(main_file, 5, 17), "default of 'p' is not an IPv4 address");
  d.error(at(included, 2, 10), "undefined mark 'z'");
  d.error(at(included, 1, 10), "undefined mark 'y'");
  d.error(at(main_file, 2, 10), "undefined mark 'x'");
  BOOST_TEST(d.render() ==
             "main.zt:2:10: error: undefined mark 'x'\n"
             "    mark a = x\n"
             "             ^\n"
             "main.zt:5:17: error: default of 'p' is not an IPv4 address\n"
             "    param p: ipv4 = 1\n"
             "                    ^\n"
             "inc.zt:1:10: error: undefined mark 'y'\n"
             "    mark b = y\n"
             "             ^\n"
             "inc.zt:2:10: error: undefined mark 'z'\n"
             "    mark c = z\n"
             "             ^\n");
}

BOOST_AUTO_TEST_CASE(append_dedups_caps_and_carries_the_dropped_count) {
  auto f = file("p.zt", "x\n");
  Diagnostics stage;
  numbered_errors(150, stage);  // 100 kept, 50 dropped
  stage.warning(at(f, 1, 1), "a warning");

  Diagnostics all;
  all.error(at(f, 1, 1), "error number 0");  // a duplicate of stage's first
  for (int i = 0; i < 59; ++i) all.error(at(f, 1, 1), "earlier " + std::to_string(i));
  BOOST_TEST(all.error_count() == 60);
  all.append(stage);
  // 60 + 99 new distinct errors: 40 fit, 59 dropped here, 50 dropped before.
  BOOST_TEST(all.error_count() == 100);
  std::string out = all.render();
  BOOST_TEST(occurrences(out, "error: error number 0\n") == 1u);
  BOOST_TEST(out.find("error number 40\n") != std::string::npos);
  BOOST_TEST(out.find("error number 41\n") == std::string::npos);
  BOOST_TEST(out.find("warning: a warning\n") != std::string::npos);
  BOOST_TEST(out.substr(out.rfind("error: ")) == "error: 109 more errors not shown\n");
}

BOOST_AUTO_TEST_CASE(empty_renders_nothing) {
  Diagnostics d;
  BOOST_TEST(d.render() == "");
  BOOST_TEST(!d.has_errors());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc
