// libnftables' error text read back to policy lines: recorded texts, and the
// texts a real kernel gives (in throwaway namespaces).
#include "backend/nft_errors.h"

#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <vector>

#include "backend/libnft_kernel.h"
#include "testsupport/libnft_in_netns.h"
#include "testsupport/test_netns.h"

namespace ztc::nft {
namespace {

// A buffer of generated nft text and the policy line of each of its lines.
struct Generated {
  std::shared_ptr<const SourceFile> policy;
  std::string buffer;
  std::vector<Location> line_origin;
};

// Policy lines 1..4 produce the buffer below; the table lines have no origin of
// their own except the table statement.
Generated jump_to_missing_chain(const std::string& table = "ztc_t") {
  Generated g;
  g.policy = std::make_shared<SourceFile>("policy.zt",
                                          "table ip ztc_t\n"                     // 1
                                          "set pods: ipv4 managed\n"             // 2
                                          "capture prerouting {\n"               // 3
                                          "  tcp saddr @pods => jump nochain\n"  // 4
                                          "}\n");
  auto at = [&](int line, int column) { return Location{g.policy, line, column}; };
  std::vector<std::pair<std::string, Location>> lines = {
      {"table ip " + table + " {}", at(1, 1)},
      {"delete table ip " + table, at(1, 1)},
      {"table ip " + table + " {", at(1, 1)},
      {"  set pods {", at(2, 1)},
      {"    type ipv4_addr", at(2, 1)},
      {"  }", at(2, 1)},
      {"  chain prerouting {", at(3, 1)},
      {"    type filter hook prerouting priority -150; policy accept;", at(3, 1)},
      {"    meta l4proto tcp ip saddr @pods counter", at(4, 3)},
      {"    meta l4proto tcp ip saddr @pods jump nochain", at(4, 3)},
      {"  }", at(3, 1)},
      {"}", at(1, 1)},
  };
  for (auto& [text, origin] : lines) {
    g.buffer += text + "\n";
    g.line_origin.push_back(origin);
  }
  return g;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(nft_errors)

BOOST_AUTO_TEST_CASE(parses_file_style_records) {
  // Verbatim from libnftables 1.0.6 (file input), two records.
  std::string text =
      "ruleset:9:26-40: Error: invalid priority expression value in this context.\n"
      "    type nat hook output priority dstnat; policy accept;\n"
      "                         ^^^^^^^^^^^^^^^\n"
      "ruleset:6:28-37: Error: You must add 'flags interval' to your set declaration if you "
      "want to add prefix elements\n"
      "    elements = { 10.0.0.1, 10.0.0.1/8 }\n"
      "                           ^^^^^^^^^^\n";
  std::vector<NftErrorRecord> records = parse_nft_errors(text);
  BOOST_TEST_REQUIRE(records.size() == 2u);
  BOOST_TEST(records[0].line == 9);
  BOOST_TEST(records[0].first_column == 26);
  BOOST_TEST(records[0].last_column == 40);
  BOOST_TEST(records[0].message == "invalid priority expression value in this context.");
  BOOST_TEST(records[0].echoed_line == "    type nat hook output priority dstnat; policy accept;");
  BOOST_TEST(records[1].line == 6);
}

BOOST_AUTO_TEST_CASE(parses_buffer_style_and_positionless_records) {
  // Buffer input: no line number, echo of the buffer's FIRST line, real columns.
  std::string text =
      "Error: Could not process rule: No such file or directory\n"
      "table ip t {}\n"
      "         ^^^^^^^\n"
      "netlink: Error: cache initialization failed: Operation not permitted\n"
      "Error: datatype mismatch, expected IPv4 address, expression has type network interface "
      "name\n"
      "table ip t {}\n"
      "    ~~~~~~~~ ^^^^^\n";
  std::vector<NftErrorRecord> records = parse_nft_errors(text);
  BOOST_TEST_REQUIRE(records.size() == 3u);
  BOOST_TEST(records[0].line == 0);
  BOOST_TEST(records[0].first_column == 10);
  BOOST_TEST(records[0].last_column == 16);
  BOOST_TEST(records[0].echoed_line == "table ip t {}");
  BOOST_TEST(records[1].message == "cache initialization failed: Operation not permitted");
  BOOST_TEST(records[1].first_column == 0);
  BOOST_TEST(records[2].first_column == 14);
  BOOST_TEST(records[2].last_column == 18);
}

BOOST_AUTO_TEST_CASE(maps_a_numbered_error_to_the_policy_line) {
  Generated g = jump_to_missing_chain();
  std::string text =
      "ruleset:10:42-48: Error: Could not process rule: No such file or directory\n"
      "    meta l4proto tcp ip saddr @pods jump nochain\n"
      "                                         ^^^^^^^\n";
  Diagnostics diagnostics = map_nft_errors(text, g.buffer, g.line_origin);
  BOOST_TEST(diagnostics.error_count() == 1);
  BOOST_TEST_REQUIRE(diagnostics.all().size() == 2u);
  BOOST_TEST(render(diagnostics.all()[0]) ==
             "policy.zt:4:3: error: nft: Could not process rule: No such file or directory\n"
             "      tcp saddr @pods => jump nochain\n"
             "      ^\n");
  BOOST_TEST((diagnostics.all()[1].severity == Severity::note));
  BOOST_TEST(diagnostics.all()[1].location.line == 4);
  BOOST_TEST(diagnostics.all()[1].message ==
             "generated nft line 10: meta l4proto tcp ip saddr @pods jump nochain");
}

BOOST_AUTO_TEST_CASE(guesses_the_line_when_nft_gives_none) {
  Generated g = jump_to_missing_chain();
  // What nft_run_cmd_from_buffer prints for the same buffer: first line echoed.
  std::string text =
      "Error: Could not process rule: No such file or directory\n"
      "table ip ztc_t {}\n"
      "                                         ^^^^^^^\n";
  Diagnostics diagnostics = map_nft_errors(text, g.buffer, g.line_origin);
  BOOST_TEST_REQUIRE(diagnostics.all().size() == 2u);
  BOOST_TEST(diagnostics.all()[0].location.line == 4);
  BOOST_TEST(diagnostics.all()[1].message.find("generated nft line 10") == 0);
  BOOST_TEST(diagnostics.all()[1].message.find("fits only this line") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(error_without_position_has_no_location) {
  Generated g = jump_to_missing_chain();
  Diagnostics diagnostics =
      map_nft_errors("netlink: Error: cache initialization failed: Operation not permitted\n",
                     g.buffer, g.line_origin);
  BOOST_TEST(diagnostics.render() ==
             "error: nft: cache initialization failed: Operation not permitted\n");
}

BOOST_AUTO_TEST_CASE(kernel_failure_commits_nothing_and_maps_to_the_policy_line,
                     *boost::unit_test::label("kernel")) {
  ScopedTestNetns netns("ztc-nft");
  auto kernel = testing::libnft_in(netns);
  BOOST_TEST_REQUIRE(kernel->run(testing::kLoadableTable, false).success);

  Generated g = jump_to_missing_chain();
  for (bool dry_run : {true, false}) {
    BOOST_TEST_CONTEXT("dry run " << dry_run) {
      ApplyResult result = kernel->run(g.buffer, dry_run);
      BOOST_TEST_REQUIRE(!result.success);
      // The exact text libnftables 1.0.6 gives for file input (memfd path renamed).
      BOOST_TEST(result.error ==
                 "ruleset:10:42-48: Error: Could not process rule: No such file or directory\n"
                 "    meta l4proto tcp ip saddr @pods jump nochain\n"
                 "                                         ^^^^^^^\n");
      Diagnostics diagnostics = map_nft_errors(result.error, g.buffer, g.line_origin);
      BOOST_TEST_REQUIRE(diagnostics.error_count() == 1);
      BOOST_TEST(diagnostics.all()[0].location.line == 4);
      BOOST_TEST(diagnostics.all()[0].message ==
                 "nft: Could not process rule: No such file or directory");
    }
  }
  // The old table is intact: the failed transaction (with its `delete table`) did nothing.
  std::optional<std::string> text = kernel->list_table(Family::ip, "ztc_t", false);
  BOOST_TEST_REQUIRE(text.has_value());
  BOOST_TEST(text->find("10.244.1.5") != std::string::npos);
  BOOST_TEST(text->find("nochain") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(kernel_type_error_maps_to_its_line, *boost::unit_test::label("kernel")) {
  ScopedTestNetns netns("ztc-nft");
  auto kernel = testing::libnft_in(netns);
  auto policy = std::make_shared<SourceFile>("p.zt", "a\nb\nc\n");
  std::string buffer =
      "table ip ztc_t {\n"
      "  set ifs {\n"
      "    type ifname\n"
      "  }\n"
      "  chain c {\n"
      "    ip saddr @ifs counter\n"
      "  }\n"
      "}\n";
  std::vector<Location> origin(8, Location{policy, 1, 1});
  origin[5] = Location{policy, 3, 1};
  ApplyResult result = kernel->run(buffer, false);
  BOOST_TEST_REQUIRE(!result.success);
  BOOST_TEST(result.error.rfind("ruleset:6:14-17: Error: datatype mismatch", 0) == 0, result.error);
  Diagnostics diagnostics = map_nft_errors(result.error, buffer, origin);
  BOOST_TEST_REQUIRE(diagnostics.error_count() == 1);
  BOOST_TEST(diagnostics.all()[0].location.line == 3);
  BOOST_TEST(!kernel->list_table(Family::ip, "ztc_t", false));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc::nft
