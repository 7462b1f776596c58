#include "backend/nft_applier.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <stdexcept>
#include <memory>
#include <string>
#include <vector>

#include "backend/netns.h"

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
                                          "table ip ztc_t\n"                       // 1
                                          "set pods: ipv4 managed\n"               // 2
                                          "capture prerouting {\n"                 // 3
                                          "  tcp saddr @pods => jump nochain\n"    // 4
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

BOOST_AUTO_TEST_SUITE(nft_applier)

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
  Diagnostics diagnostics = map_nft_errors(
      "netlink: Error: cache initialization failed: Operation not permitted\n", g.buffer,
      g.line_origin);
  BOOST_TEST(diagnostics.render() ==
             "error: nft: cache initialization failed: Operation not permitted\n");
}

BOOST_AUTO_TEST_CASE(set_listing_keeps_comments_and_quotes_names) {
  // Verbatim `nft -j list set` output of nft 1.0.6.
  std::vector<Element> pods = parse_set_elements_json(
      R"({"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", )"
      R"("json_schema_version": 1}}, {"set": {"family": "inet", "name": "pods", "table": "z", )"
      R"("type": "ipv4_addr", "handle": 1, "elem": [{"elem": {"val": "10.0.0.1", "comment": )"
      R"("uid-1"}}, "10.0.0.2"]}}]})");
  BOOST_TEST_REQUIRE(pods.size() == 2u);
  BOOST_TEST(pods[0].value == "10.0.0.1");
  BOOST_TEST(pods[0].comment == "uid-1");
  BOOST_TEST(pods[1].value == "10.0.0.2");
  BOOST_TEST(pods[1].comment == "");
  std::vector<Element> ifs = parse_set_elements_json(
      R"({"nftables": [{"set": {"family": "inet", "name": "ifs", "table": "z", )"
      R"("type": "ifname", "elem": ["veth.1", "istioin"]}}]})");
  BOOST_TEST_REQUIRE(ifs.size() == 2u);
  BOOST_TEST(ifs[0].value == "\"veth.1\"");
  std::vector<Element> ports = parse_set_elements_json(
      R"({"nftables": [{"set": {"type": "inet_service", "elem": [6081]}}]})");
  BOOST_TEST_REQUIRE(ports.size() == 1u);
  BOOST_TEST(ports[0].value == "6081");
  BOOST_TEST(parse_set_elements_json(R"({"nftables": [{"set": {"type": "ipv4_addr"}}]})")
                 .empty());
  BOOST_TEST(parse_set_elements_json("not json").empty());
}

BOOST_AUTO_TEST_CASE(fake_records_and_fails_on_demand) {
  FakeNftKernel fake;
  fake.fail_call(2, "Error: boom\n");
  BOOST_TEST(fake.run("a", false).success);
  ApplyResult failed = fake.run("b", false);
  BOOST_TEST(!failed.success);
  BOOST_TEST(failed.error == "Error: boom\n");
  BOOST_TEST(fake.run("c", true).success);
  BOOST_TEST(fake.calls.size() == 3u);
  BOOST_TEST(fake.committed == std::vector<std::string>{"a"});
  fake.set_elements["ip ztunnel pods"] = {{"10.0.0.1", "uid"}};
  BOOST_TEST(fake.list_set_elements(Family::ip, "ztunnel", "pods").size() == 1u);
  BOOST_TEST(!fake.list_table(Family::ip, "ztunnel", false));
}

// ---------------------------------------------------------------------------
// Kernel tests: each in a throwaway namespace; the kernel object is created
// inside it and keeps working there after the thread switches back.

namespace {

std::unique_ptr<LibNftKernel> kernel_in(const ScopedTestNetns& netns) {
  NetnsSwitch in(netns.path());
  BOOST_TEST_REQUIRE(in.ok(), in.error());
  return std::make_unique<LibNftKernel>();
}

const char* kGoodTable =
    "table ip ztc_t {}\n"
    "delete table ip ztc_t\n"
    "table ip ztc_t {\n"
    "  set pods {\n"
    "    type ipv4_addr\n"
    "    elements = { 10.244.1.5 comment \"pod-uid-5\", 10.244.1.6 }\n"
    "  }\n"
    "  chain prerouting {\n"
    "    type filter hook prerouting priority -150; policy accept;\n"
    "    ip saddr @pods counter\n"
    "  }\n"
    "}\n";

}  // namespace

BOOST_AUTO_TEST_CASE(test_netns_is_created_used_and_always_deleted,
                     *boost::unit_test::label("kernel")) {
  std::string name;
  try {
    ScopedTestNetns netns("ztc-ns");
    name = netns.name();
    BOOST_TEST(run_command("ip netns list | grep -qw " + shell_quote(name)).exit_code == 0);
    CommandResult inside = netns.run("ip -o link show lo | grep -c UP; echo \"quoted 'ok'\"");
    BOOST_TEST(inside.exit_code == 0);
    BOOST_TEST(inside.output == "1\nquoted 'ok'\n");
    BOOST_TEST(netns.run("exit 3").exit_code == 3);
    throw std::runtime_error("a failing test");
  } catch (const std::runtime_error&) {
  }
  BOOST_TEST(!name.empty());
  BOOST_TEST(run_command("ip netns list | grep -qw " + shell_quote(name)).exit_code != 0);
}

BOOST_AUTO_TEST_CASE(enter_netns_moves_the_calling_process, *boost::unit_test::label("kernel")) {
  ScopedTestNetns netns("ztc-ns");
  std::string error;
  BOOST_TEST(!enter_netns("no-such-ztc-netns", &error));
  BOOST_TEST(error == "cannot open network namespace 'no-such-ztc-netns' "
                      "(/var/run/netns/no-such-ztc-netns): No such file or directory");
  BOOST_TEST(!enter_netns("../etc", &error));
  // In a child: entering is for the whole (single-threaded) process.
  pid_t child = fork();
  BOOST_TEST_REQUIRE(child >= 0);
  if (child == 0) {
    std::string child_error;
    if (!enter_netns(netns.name(), &child_error)) _exit(2);
    // The child now sees the namespace's links only: lo.
    CommandResult links = run_command("ip -o link show | wc -l");
    _exit(links.output == "1\n" ? 0 : 1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0);
}

BOOST_AUTO_TEST_CASE(netns_switch_is_per_thread_and_comes_back,
                     *boost::unit_test::label("kernel")) {
  ScopedTestNetns netns("ztc-ns");
  auto inode = [] {
    struct stat st {};
    stat("/proc/thread-self/ns/net", &st);
    return st.st_ino;
  };
  ino_t home = inode();
  {
    NetnsSwitch in(netns.path());
    BOOST_TEST_REQUIRE(in.ok(), in.error());
    BOOST_TEST(inode() != home);
    NetnsSwitch again(netns.path());  // already there: nothing to do
    BOOST_TEST(again.ok());
  }
  BOOST_TEST(inode() == home);
  NetnsSwitch missing("/var/run/netns/no-such-ztc-netns");
  BOOST_TEST(!missing.ok());
  BOOST_TEST(inode() == home);
}

BOOST_AUTO_TEST_CASE(kernel_commits_lists_and_replaces_atomically,
                     *boost::unit_test::label("kernel")) {
  ScopedTestNetns netns("ztc-nft");
  auto kernel = kernel_in(netns);
  BOOST_TEST(!kernel->list_table(Family::ip, "ztc_t", false));

  ApplyResult dry = kernel->run(kGoodTable, true);
  BOOST_TEST_REQUIRE(dry.success, dry.error);
  BOOST_TEST(!kernel->list_table(Family::ip, "ztc_t", false));  // dry run committed nothing

  ApplyResult applied = kernel->run(kGoodTable, false);
  BOOST_TEST_REQUIRE(applied.success, applied.error);
  std::optional<std::string> text = kernel->list_table(Family::ip, "ztc_t", false);
  BOOST_TEST_REQUIRE(text.has_value());
  BOOST_TEST(text->find("ip saddr @pods counter") != std::string::npos);
  BOOST_TEST(text->find("packets") == std::string::npos);  // stateless listing
  std::optional<std::string> json = kernel->list_table(Family::ip, "ztc_t", true);
  BOOST_TEST_REQUIRE(json.has_value());
  BOOST_TEST(json->find("\"nftables\"") != std::string::npos);

  std::vector<Element> pods = kernel->list_set_elements(Family::ip, "ztc_t", "pods");
  BOOST_TEST_REQUIRE(pods.size() == 2u);
  bool found_comment = false;
  for (const Element& e : pods) {
    found_comment |= e.value == "10.244.1.5" && e.comment == "pod-uid-5";
  }
  BOOST_TEST(found_comment);
  BOOST_TEST(kernel->list_set_elements(Family::ip, "ztc_t", "nosuch").empty());

  // Re-applying replaces, never duplicates.
  BOOST_TEST_REQUIRE(kernel->run(kGoodTable, false).success);
  CommandResult listed = netns.run("nft list table ip ztc_t | grep -c 'ip saddr @pods'");
  BOOST_TEST(listed.output == "1\n");
  // The root namespace never saw any of it.
  BOOST_TEST(run_command("nft list table ip ztc_t").exit_code != 0);
}

BOOST_AUTO_TEST_CASE(kernel_failure_commits_nothing_and_maps_to_the_policy_line,
                     *boost::unit_test::label("kernel")) {
  ScopedTestNetns netns("ztc-nft");
  auto kernel = kernel_in(netns);
  BOOST_TEST_REQUIRE(kernel->run(kGoodTable, false).success);

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

BOOST_AUTO_TEST_CASE(kernel_restores_the_previous_table, *boost::unit_test::label("kernel")) {
  ScopedTestNetns netns("ztc-nft");
  auto kernel = kernel_in(netns);
  // Nothing before: restoring removes the table.
  std::optional<std::string> nothing = kernel->list_table(Family::ip, "ztc_t", false);
  BOOST_TEST_REQUIRE(kernel->run(kGoodTable, false).success);
  ApplyResult removed = kernel->run(restore_table_buffer(Family::ip, "ztc_t", nothing), false);
  BOOST_TEST_REQUIRE(removed.success, removed.error);
  BOOST_TEST(!kernel->list_table(Family::ip, "ztc_t", false));
  // Something before: restoring brings it back exactly, set elements and comments included.
  BOOST_TEST_REQUIRE(kernel->run(kGoodTable, false).success);
  std::optional<std::string> before = kernel->list_table(Family::ip, "ztc_t", false);
  BOOST_TEST_REQUIRE(before.has_value());
  std::string other = std::string(kGoodTable);
  other.replace(other.find("counter"), 7, "drop");
  BOOST_TEST_REQUIRE(kernel->run(other, false).success);
  BOOST_TEST(kernel->list_table(Family::ip, "ztc_t", false).value_or("") != *before);
  ApplyResult restored = kernel->run(restore_table_buffer(Family::ip, "ztc_t", before), false);
  BOOST_TEST_REQUIRE(restored.success, restored.error);
  BOOST_TEST(kernel->list_table(Family::ip, "ztc_t", false).value_or("") == *before);
}

BOOST_AUTO_TEST_CASE(kernel_type_error_maps_to_its_line, *boost::unit_test::label("kernel")) {
  ScopedTestNetns netns("ztc-nft");
  auto kernel = kernel_in(netns);
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
