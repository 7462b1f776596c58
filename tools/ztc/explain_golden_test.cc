// Golden tables of `ztc explain` for the two editions: testdata/explain/NAME.packets
// (one packet a line, in ztc explain's words; `member SET=ELEMENT` lines enrol)
// -> NAME.txt: a summary table, then every explanation in full, offline.
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <sstream>

#include "backend/explain.h"
#include "compiler/compile.h"
#include "testsupport/golden.h"
#include "tools/ztc/explain_command.h"

namespace ztc {
namespace {

std::vector<std::string> words_of(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

std::string summary_line(const explain::Explanation& e) {
  std::string where;
  switch (e.verdict) {
    case explain::Verdict::local: where = "local"; break;
    case explain::Verdict::drop: where = "drop"; break;
    case explain::Verdict::unreachable: where = "unreachable"; break;
    case explain::Verdict::egress:
      where = "table " + e.route.table + " " + e.route.dev.value_or("(main: not known offline)");
      break;
  }
  char line[160];
  std::snprintf(line, sizeof line, "mark %-6s ct %-6s %s", explain::hex(e.mark).c_str(),
                explain::hex(e.ct_mark).c_str(), where.c_str());
  return line;
}

void check_example(const std::string& name) {
  testing::SourceTreeFileSystem files;
  Diagnostics diagnostics;
  auto compiled = compile_policy("examples/" + name + ".zt", files, {}, diagnostics);
  BOOST_TEST_REQUIRE(diagnostics.render() == "");
  std::istringstream packets(
      testing::read_file(testing::source_path("testdata/explain/" + name + ".packets")));
  explain::NodeFacts facts;
  std::string table, details;
  int count = 0;
  for (std::string line; std::getline(packets, line);) {
    std::vector<std::string> words = words_of(line);
    if (words.empty() || words[0][0] == '#') continue;
    if (words[0] == "member" && words.size() == 2) {
      size_t eq = words[1].find('=');
      facts.members[words[1].substr(0, eq)].push_back(words[1].substr(eq + 1));
      continue;
    }
    explain::Packet packet;
    std::string error;
    BOOST_TEST_REQUIRE(parse_packet_words(words, &packet, &error), line << ": " << error);
    explain::Explanation e = explain::explain(compiled->table, compiled->routing, packet, facts);
    ++count;
    table += std::to_string(count) + (count < 10 ? "  " : " ") + line + "\n   -> " +
             summary_line(e) + "\n";
    details += "\n=== " + std::to_string(count) + ": " + line + "\n" + explain::render_text(e);
  }
  BOOST_TEST(count > 10);
  std::string message =
      testing::compare_golden("testdata/explain/" + name + ".txt", table + details);
  BOOST_TEST(message.empty(), message);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(explain_golden)

BOOST_AUTO_TEST_CASE(ambient_node) { check_example("ambient-node"); }
BOOST_AUTO_TEST_CASE(ambient_offmesh) { check_example("ambient-offmesh"); }

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc
