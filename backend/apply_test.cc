// load / unload / diff against the in-memory kernels: what is written, in
// which order, and that a failure anywhere leaves the node as it was.
#include "backend/apply.h"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "backend/diff.h"
#include "backend/nft_set_reader.h"
#include "backend/nft_text.h"
#include "compiler/compile.h"
#include "testsupport/fake_nft_kernel.h"
#include "testsupport/fake_routing_kernel.h"

namespace ztc {
namespace {

// Version 1 of a small policy; line numbers matter for the diagnostics below.
const char* const kPolicyV1 =
    "table ip ztunnel\n"                                         // 1
    "mark skip     = 0x200\n"                                    // 2
    "mark outbound = 0x100\n"                                    // 3
    "iface tunnel_in  = \"istioin\"\n"                           // 4
    "iface tunnel_out = \"istioout\"\n"                          // 5
    "set pods: ipv4 managed\n"                                   // 6
    "capture prerouting {\n"                                     // 7
    "  iif tunnel_in => mark |= skip, return\n"                  // 8
    "  tcp saddr @pods => mark |= outbound\n"                    // 9
    "}\n"                                                        // 10
    "rule 100 fwmark skip goto main\n"                           // 11
    "rule 101 fwmark outbound lookup 101\n"                      // 12
    "route 101 {\n"                                              // 13
    "  default via 192.168.127.2 dev tunnel_out\n"               // 14
    "}\n"                                                        // 15
    "route 100 for pods {\n"                                     // 16
    "  member via 192.168.126.2 dev tunnel_in src 10.244.1.1\n"  // 17
    "}\n"                                                        // 18
    "sysctl tunnel_in { rp_filter = 0 }\n";                      // 19

// Version 2: another gateway (a replace), one more rule and a changed chain.
std::string policy_v2() {
  std::string text = kPolicyV1;
  auto swap = [&](const std::string& from, const std::string& to) {
    size_t at = text.find(from);
    BOOST_REQUIRE_MESSAGE(at != std::string::npos, "not in the policy: " << from);
    text.replace(at, from.size(), to);
  };
  swap("default via 192.168.127.2", "default via 192.168.127.3");
  swap("rule 101 fwmark outbound lookup 101\n",
       "rule 101 fwmark outbound lookup 101\nrule 103 lookup 100\n");
  swap("iif tunnel_in => mark |= skip, return",
       "iif tunnel_in, tunnel_out => mark |= skip, return");
  return text;
}

CompiledPolicy compile(const std::string& text) {
  MemoryFileSystem files;
  files.add("policy.zt", text);
  Diagnostics diagnostics;
  std::optional<CompiledPolicy> compiled = compile_policy("policy.zt", files, {}, diagnostics);
  BOOST_REQUIRE_MESSAGE(compiled, "test policy does not compile:\n" << diagnostics.render());
  return std::move(*compiled);
}

// What `nft -s list table` would print for a loaded ztc table (the fake
// answers listings from a map; the text only has to be recognisable).
const char* const kLiveListing =
    "table ip ztunnel {\n"
    "\tcomment \"managed by ztc\"\n"
    "\tset pods {\n"
    "\t\ttype ipv4_addr\n"
    "\t}\n"
    "}\n";

// A node: the devices and sysctl the policy names, foreign routing entries
// in ztc's own tables (another owner: never listed, never touched).
struct Node {
  nft::FakeNftKernel nft;
  route::FakeRoutingKernel routing;
  Kernels kernels{nft, routing};

  Node() {
    routing.add_device("istioin");
    routing.add_device("istioout");
    routing.set_sysctl("net.ipv4.conf.istioin.rp_filter", "1");
    route::Rule foreign;
    foreign.priority = 100;
    foreign.table = 200;
    routing.add_foreign_rule(foreign);
    route::Route foreign_route;
    foreign_route.table = 100;
    foreign_route.destination = *parse_ip_prefix("10.50.0.0/16");
    foreign_route.device = "istioin";
    routing.add_foreign_route(foreign_route);
  }

  // Everything routing holds, owner included, one line each.
  std::string routing_state() const {
    std::string out;
    for (const auto& stored : routing.all_rules()) {
      out += "proto " + std::to_string(stored.protocol) + " " + route::describe(stored.rule) + "\n";
    }
    for (const auto& stored : routing.all_routes()) {
      out +=
          "proto " + std::to_string(stored.protocol) + " " + route::describe(stored.route) + "\n";
    }
    for (const auto& [key, value] : routing.sysctls()) out += key + "=" + value + "\n";
    return out;
  }

  // The buffers run, with "dry " before check-mode ones; `list ruleset` left out.
  std::vector<std::string> nft_runs() const {
    std::vector<std::string> out;
    for (const auto& call : nft.calls) {
      if (call.buffer == "list ruleset") {
        BOOST_TEST(call.dry_run);  // a read, never a commit
        continue;
      }
      out.push_back((call.dry_run ? "dry " : "") + call.buffer);
    }
    return out;
  }

  // As if `policy` had been loaded: its table listed back, its routing in place.
  void loaded(const CompiledPolicy& policy) {
    ApplyReport first = load(policy.table, policy.routing, kernels, false);
    BOOST_REQUIRE_MESSAGE(first.ok, first.diagnostics.render());
    nft.tables_text["ip ztunnel"] = kLiveListing;
    nft.calls.clear();
    nft.committed.clear();
    routing.reset_writes();
    log_start = routing.log().size();
  }

  // The routing writes since loaded().
  std::vector<std::string> writes() const {
    return {routing.log().begin() + static_cast<long>(log_start), routing.log().end()};
  }
  size_t log_start = 0;
};

const char* const kForeignState =
    "proto 3 -4 rule prio 100 lookup 200\n"
    "proto 3 -4 route 10.50.0.0/16 dev istioin table 100\n";

const char* const kV1Routing =
    "proto 3 -4 rule prio 100 lookup 200\n"
    "proto 122 -4 rule prio 100 fwmark 0x200/0x200 goto 32766\n"
    "proto 122 -4 rule prio 101 fwmark 0x100/0x100 lookup 101\n"
    "proto 3 -4 route 10.50.0.0/16 dev istioin table 100\n"
    "proto 122 -4 route default via 192.168.127.2 dev istioout table 101\n"
    "net.ipv4.conf.istioin.rp_filter=0\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(apply)

BOOST_AUTO_TEST_CASE(load_on_an_empty_node_is_one_transaction_then_routing) {
  Node node;
  CompiledPolicy v1 = compile(kPolicyV1);
  ApplyReport report = load(v1.table, v1.routing, node.kernels, false);
  BOOST_TEST_REQUIRE(report.ok, report.diagnostics.render());
  BOOST_TEST(report.diagnostics.render() == "");
  std::string buffer = nft::emit_text(v1.table).text;
  BOOST_TEST(report.nft_buffer == buffer);
  BOOST_TEST(node.nft_runs() == std::vector<std::string>{buffer}, boost::test_tools::per_element());
  BOOST_TEST(report.nft_committed);
  BOOST_TEST(report.members_carried == 0u);
  BOOST_TEST(report.routing.kernel_writes == 4);
  BOOST_TEST(node.writes() == (std::vector<std::string>{
                                  "sysctl net.ipv4.conf.istioin.rp_filter=0",
                                  "add -4 route default via 192.168.127.2 dev istioout table 101",
                                  "add -4 rule prio 100 fwmark 0x200/0x200 goto 32766",
                                  "add -4 rule prio 101 fwmark 0x100/0x100 lookup 101"}),
             boost::test_tools::per_element());
  BOOST_TEST(node.routing_state() == kV1Routing);
}

BOOST_AUTO_TEST_CASE(reload_of_the_same_policy_makes_no_routing_write) {
  Node node;
  CompiledPolicy v1 = compile(kPolicyV1);
  node.loaded(v1);
  ApplyReport again = load(v1.table, v1.routing, node.kernels, false);
  BOOST_TEST_REQUIRE(again.ok, again.diagnostics.render());
  BOOST_TEST(again.routing.kernel_writes == 0);
  BOOST_TEST(node.routing.writes() == 0);
  BOOST_TEST(!again.routing.changed());
  // nft: the transaction only, the same buffer as the first time.
  BOOST_TEST(node.nft_runs() == std::vector<std::string>{nft::emit_text(v1.table).text},
             boost::test_tools::per_element());
  BOOST_TEST(node.routing_state() == kV1Routing);
}

BOOST_AUTO_TEST_CASE(routing_failure_after_the_commit_restores_the_previous_table) {
  Node node;
  CompiledPolicy v1 = compile(kPolicyV1);
  node.loaded(v1);
  CompiledPolicy v2 = compile(policy_v2());
  // Writes of v2: replace the default route, add rule 103. The second fails.
  node.routing.fail_write(2, "Network is unreachable");
  ApplyReport report = load(v2.table, v2.routing, node.kernels, false);
  BOOST_TEST(!report.ok);
  BOOST_TEST(report.node_unchanged);
  BOOST_TEST(!report.nft_committed);
  BOOST_TEST(node.nft_runs() ==
                 (std::vector<std::string>{
                     nft::emit_text(v2.table).text,
                     "table ip ztunnel {}\ndelete table ip ztunnel\n" + std::string(kLiveListing)}),
             boost::test_tools::per_element());
  BOOST_TEST(
      node.writes() == (std::vector<std::string>{
                           "replace -4 route default via 192.168.127.3 dev istioout table 101",
                           "FAILED add -4 rule prio 103 lookup 100",
                           "replace -4 route default via 192.168.127.2 dev istioout table 101"}),
      boost::test_tools::per_element());
  BOOST_TEST(report.routing.kernel_writes == 3);
  BOOST_TEST(node.routing_state() == kV1Routing);
  BOOST_TEST(
      report.diagnostics.render() ==
      "policy.zt:13:1: error: cannot add -4 rule prio 103 lookup 100: Network is unreachable\n"
      "    rule 103 lookup 100\n"
      "    ^\n"
      "policy.zt:13:1: note: routing changes made so far were rolled back\n"
      "    rule 103 lookup 100\n"
      "    ^\n"
      "policy.zt:13:1: note: the previous nft table was restored; nothing changed\n"
      "    rule 103 lookup 100\n"
      "    ^\n");
}

BOOST_AUTO_TEST_CASE(routing_failure_on_an_empty_node_removes_the_new_table) {
  Node node;
  CompiledPolicy v1 = compile(kPolicyV1);
  node.routing.fail_write(3, "Operation not permitted");  // the first rule
  ApplyReport report = load(v1.table, v1.routing, node.kernels, false);
  BOOST_TEST(!report.ok);
  BOOST_TEST(report.node_unchanged);
  BOOST_TEST(node.nft_runs() == (std::vector<std::string>{nft::emit_text(v1.table).text,
                                                          "table ip ztunnel {}\n"
                                                          "delete table ip ztunnel\n"}),
             boost::test_tools::per_element());
  BOOST_TEST(node.routing_state() ==
             std::string(kForeignState) + "net.ipv4.conf.istioin.rp_filter=1\n");
  BOOST_TEST(report.diagnostics.render().find(
                 "policy.zt:11:1: note: the new nft table was removed; nothing changed\n") !=
                 std::string::npos,
             report.diagnostics.render());
}

BOOST_AUTO_TEST_CASE(a_failed_restore_is_reported_not_hidden) {
  Node node;
  CompiledPolicy v1 = compile(kPolicyV1);
  node.loaded(v1);
  CompiledPolicy v2 = compile(policy_v2());
  node.routing.fail_write(2, "Network is unreachable");
  // Runs: list ruleset (1), the transaction (2), the restore (3).
  node.nft.fail_call(3, "Error: Could not process rule: Device or resource busy\n");
  ApplyReport report = load(v2.table, v2.routing, node.kernels, false);
  BOOST_TEST(!report.ok);
  BOOST_TEST(!report.node_unchanged);
  std::string rendered = report.diagnostics.render();
  BOOST_TEST(rendered.find("policy.zt:13:1: error: could not restore the previous nft table: "
                           "Error: Could not process rule: Device or resource busy\n") !=
                 std::string::npos,
             rendered);
  BOOST_TEST(rendered.find("nothing changed") == std::string::npos, rendered);
}

BOOST_AUTO_TEST_CASE(a_missing_device_fails_before_any_write) {
  Node node;
  std::string text = kPolicyV1;
  text.replace(text.find("iface tunnel_out = \"istioout\""), 29, "iface tunnel_out = \"istio0\" ");
  CompiledPolicy policy = compile(text);
  for (bool dry_run : {false, true}) {
    BOOST_TEST_CONTEXT("dry run " << dry_run) {
      ApplyReport report = load(policy.table, policy.routing, node.kernels, dry_run);
      BOOST_TEST(!report.ok);
      BOOST_TEST(report.node_unchanged);
      BOOST_TEST(report.diagnostics.render() ==
                 "policy.zt:14:3: error: device \"istio0\" does not exist\n"
                 "      default via 192.168.127.2 dev tunnel_out\n"
                 "      ^\n");
      BOOST_TEST(node.nft_runs().empty());
      BOOST_TEST(node.routing.writes() == 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(an_nft_refusal_changes_nothing_and_names_the_policy_line) {
  Node node;
  CompiledPolicy v1 = compile(kPolicyV1);
  nft::TextOutput text = nft::emit_text(v1.table);
  // The buffer line of the `tcp saddr @pods` rule, as libnftables reports it.
  int line = 0;
  for (size_t i = 0; i < text.line_origin.size(); ++i) {
    if (text.line_origin[i].known() && text.line_origin[i].line == 9)
      line = static_cast<int>(i) + 1;
  }
  BOOST_TEST_REQUIRE(line > 0);
  node.nft.fail_call(2, "ruleset:" + std::to_string(line) +
                            ":1-5: Error: Could not process rule: No such file or directory\n");
  ApplyReport report = load(v1.table, v1.routing, node.kernels, false);
  BOOST_TEST(!report.ok);
  BOOST_TEST(report.node_unchanged);
  BOOST_TEST(node.nft.committed.empty());
  BOOST_TEST(node.routing.writes() == 0);
  std::string rendered = report.diagnostics.render();
  BOOST_TEST(rendered.rfind("policy.zt:9:3: error: nft: Could not process rule: No such file or "
                            "directory\n",
                            0) == 0,
             rendered);
}

BOOST_AUTO_TEST_CASE(members_are_carried_over_with_their_routes) {
  Node node;
  CompiledPolicy v1 = compile(kPolicyV1);
  node.loaded(v1);
  node.nft.set_elements["ip ztunnel pods"] = {{"10.244.1.5", "pod-uid-5"}, {"10.244.1.6", ""}};
  for (const std::string& text : {std::string(kPolicyV1), policy_v2()}) {
    BOOST_TEST_CONTEXT(text.size()) {
      CompiledPolicy policy = compile(text);
      ApplyReport report = load(policy.table, policy.routing, node.kernels, false);
      BOOST_TEST_REQUIRE(report.ok, report.diagnostics.render());
      BOOST_TEST(report.members_carried == 2u);
      BOOST_TEST(report.nft_buffer.find("\t\telements = { 10.244.1.5 comment \"pod-uid-5\", "
                                        "10.244.1.6 }\n") != std::string::npos,
                 report.nft_buffer);
      std::string state = node.routing_state();
      BOOST_TEST(state.find("proto 123 -4 route 10.244.1.5 via 192.168.126.2 dev istioin src "
                            "10.244.1.1 table 100\n") != std::string::npos,
                 state);
      BOOST_TEST(state.find("proto 123 -4 route 10.244.1.6 via 192.168.126.2 dev istioin src "
                            "10.244.1.1 table 100\n") != std::string::npos,
                 state);
    }
  }
}

BOOST_AUTO_TEST_CASE(members_are_read_through_the_set_reader_and_a_read_error_stops_the_load) {
  nft::FakeSetKernel nft;
  nft.add_table(nft::Family::ip, "ztunnel");
  // In hash order, as the kernel lists them.
  nft.add_set(nft::Family::ip, "ztunnel", "pods").members = {
      {"10.244.1.10", ""}, {"10.244.1.5", "pod-uid-5"}, {"10.244.1.9", ""}};
  route::FakeRoutingKernel routing;
  routing.add_device("istioin");
  routing.add_device("istioout");
  routing.set_sysctl("net.ipv4.conf.istioin.rp_filter", "1");
  Kernels kernels{nft, routing, &nft};
  CompiledPolicy v1 = compile(kPolicyV1);
  ApplyReport report = load(v1.table, v1.routing, kernels, false);
  BOOST_TEST_REQUIRE(report.ok, report.diagnostics.render());
  BOOST_TEST(report.members_carried == 3u);
  BOOST_TEST(nft.lists == 1);
  // In address order, so that what a load prints is the same every time.
  BOOST_TEST(report.nft_buffer.find("elements = { 10.244.1.5 comment \"pod-uid-5\", 10.244.1.9, "
                                    "10.244.1.10 }") != std::string::npos,
             report.nft_buffer);

  // A member list that cannot be read must not become an empty one.
  nft.read_error = "Operation not permitted";
  nft.calls.clear();
  routing.reset_writes();
  ApplyReport failed = load(v1.table, v1.routing, kernels, false);
  BOOST_TEST(!failed.ok);
  BOOST_TEST(
      failed.diagnostics.render() ==
      "policy.zt:1:1: error: cannot read the members of set 'pods': Operation not permitted\n"
      "    table ip ztunnel\n"
      "    ^\n");
  BOOST_TEST_REQUIRE(nft.calls.size() == 1u);  // the ruleset listing only
  BOOST_TEST(nft.calls[0].buffer == "list ruleset");
  BOOST_TEST(routing.writes() == 0);
}

BOOST_AUTO_TEST_CASE(dry_run_asks_the_kernel_and_writes_nothing) {
  Node node;
  CompiledPolicy v1 = compile(kPolicyV1);
  node.loaded(v1);
  CompiledPolicy v2 = compile(policy_v2());
  std::string before = node.routing_state();
  ApplyReport report = load(v2.table, v2.routing, node.kernels, true);
  BOOST_TEST_REQUIRE(report.ok, report.diagnostics.render());
  BOOST_TEST(!report.nft_committed);
  BOOST_TEST(node.nft_runs() == std::vector<std::string>{"dry " + nft::emit_text(v2.table).text},
             boost::test_tools::per_element());
  BOOST_TEST(node.nft.committed.empty());
  BOOST_TEST(node.routing.writes() == 0);
  BOOST_TEST(node.routing_state() == before);
  BOOST_TEST(report.routing.diff_text() ==
             "- -4 route default via 192.168.127.2 dev istioout table 101\n"
             "+ -4 route default via 192.168.127.3 dev istioout table 101\n"
             "+ -4 rule prio 103 lookup 100\n");
}

BOOST_AUTO_TEST_CASE(a_table_of_the_same_name_without_the_owner_comment_is_not_ours) {
  Node node;
  node.nft.tables_text["ip ztunnel"] =
      "table ip ztunnel {\n\tchain c {\n\t\tcomment \"managed by ztc\"\n\t}\n}\n";
  CompiledPolicy v1 = compile(kPolicyV1);
  ApplyReport report = load(v1.table, v1.routing, node.kernels, false);
  BOOST_TEST(!report.ok);
  BOOST_TEST(report.diagnostics.render() ==
             "policy.zt:1:1: error: table ip ztunnel exists and is not managed by ztc (no comment "
             "\"managed by ztc\"); refusing to replace it\n"
             "    table ip ztunnel\n"
             "    ^\n");
  BOOST_TEST(node.nft_runs().empty());
  BOOST_TEST(node.routing.writes() == 0);

  ApplyReport removed = unload(nft::Family::ip, "ztunnel", node.kernels, false);
  BOOST_TEST_REQUIRE(removed.ok, removed.diagnostics.render());
  BOOST_TEST(removed.diagnostics.render() ==
             "warning: table ip ztunnel is not managed by ztc; left in place\n");
  BOOST_TEST(removed.tables_removed.empty());
  BOOST_TEST(node.nft_runs().empty());
}

BOOST_AUTO_TEST_CASE(owner_comment_is_the_tables_own) {
  BOOST_TEST(managed_by_ztc(kLiveListing));
  BOOST_TEST(managed_by_ztc("table inet z {\n\tcomment \"managed by ztc\"\n}\n"));
  BOOST_TEST(!managed_by_ztc("table ip z {\n\tcomment \"managed by someone\"\n}\n"));
  BOOST_TEST(
      !managed_by_ztc("table ip z {\n\tchain c {\n\t\tcomment \"managed by ztc\"\n\t}\n}\n"));
  BOOST_TEST(
      !managed_by_ztc("table ip z {\n\tset s {\n\t\ttype ipv4_addr\n\t\telements = { "
                      "10.0.0.1 comment \"managed by ztc\" }\n\t}\n}\n"));
  BOOST_TEST(!managed_by_ztc(""));
}

// A fake kernel whose `list ruleset` prints a node with several tables.
struct RulesetKernel : nft::FakeNftKernel {
  std::string ruleset;
  nft::ApplyResult run(const std::string& buffer, bool dry_run) override {
    nft::ApplyResult result = FakeNftKernel::run(buffer, dry_run);
    if (buffer == "list ruleset" && result.success) result.output = ruleset;
    return result;
  }
};

const char* const kOldZtcTable =
    "table inet old {\n"
    "\tcomment \"managed by ztc\"\n"
    "\tchain c {\n"
    "\t\tcounter packets 3 bytes 180\n"
    "\t}\n"
    "}\n";

const char* const kRuleset =
    "table ip kube-proxy {\n"
    "\tchain nat-prerouting {\n"
    "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
    "\t\tcomment \"managed by ztc\"\n"  // a chain's comment: not a claim on the table
    "\t}\n"
    "}\n"
    "table netdev ztunnel {\n"
    "\tcomment \"managed by ztc\"\n"
    "}\n"
    "table ip ztunnel {\n"
    "\tcomment \"managed by ztc\"\n"
    "\tset pods {\n"
    "\t\ttype ipv4_addr\n"
    "\t}\n"
    "}\n";

BOOST_AUTO_TEST_CASE(live_tables_reads_one_ruleset_listing) {
  RulesetKernel kernel;
  kernel.ruleset = std::string(kRuleset) + kOldZtcTable;
  std::string error;
  std::optional<std::vector<LiveTable>> tables = live_tables(kernel, &error);
  BOOST_TEST_REQUIRE(tables.has_value(), error);
  BOOST_TEST_REQUIRE(tables->size() == 3u);  // the netdev table is never ztc's
  BOOST_TEST((*tables)[0].ref() == "ip kube-proxy");
  BOOST_TEST(!(*tables)[0].managed);
  BOOST_TEST((*tables)[1].ref() == "ip ztunnel");
  BOOST_TEST((*tables)[1].managed);
  BOOST_TEST((*tables)[1].listing.value_or("") ==
             std::string(kRuleset).substr(std::string(kRuleset).find("table ip ztunnel")));
  BOOST_TEST((*tables)[2].ref() == "inet old");
  BOOST_TEST((*tables)[2].managed);
  BOOST_TEST((*tables)[2].listing.value_or("") == kOldZtcTable);
  BOOST_TEST_REQUIRE(kernel.calls.size() == 1u);
  BOOST_TEST(kernel.calls[0].dry_run);

  kernel.fail_always("Error: cache initialization failed: Operation not permitted\n");
  BOOST_TEST(!live_tables(kernel, &error).has_value());
  BOOST_TEST(error ==
             "cannot list the nft ruleset: Error: cache initialization failed: "
             "Operation not permitted\n");
}

BOOST_AUTO_TEST_CASE(load_removes_other_ztc_tables_in_its_transaction_and_restores_them) {
  RulesetKernel nft;
  nft.ruleset = std::string(kRuleset) + kOldZtcTable;
  route::FakeRoutingKernel routing;
  routing.add_device("istioin");
  routing.add_device("istioout");
  routing.set_sysctl("net.ipv4.conf.istioin.rp_filter", "1");
  Kernels kernels{nft, routing};
  CompiledPolicy v1 = compile(kPolicyV1);
  std::string buffer = nft::emit_text(v1.table).text + "delete table inet old\n";

  routing.fail_write(2, "Operation not permitted");
  ApplyReport refused = load(v1.table, v1.routing, kernels, false);  // without replace
  BOOST_TEST(!refused.ok);
  BOOST_TEST(refused.diagnostics.render().find("would remove table inet old") !=
             std::string::npos);
  BOOST_TEST(!refused.nft_committed);
  nft.calls.clear();
  ApplyReport failed = load(v1.table, v1.routing, kernels, false, /*replace=*/true);
  BOOST_TEST(!failed.ok);
  BOOST_TEST(failed.node_unchanged);
  BOOST_TEST(failed.tables_removed.empty());
  BOOST_TEST_REQUIRE(nft.calls.size() == 3u);
  BOOST_TEST(nft.calls[1].buffer == buffer);
  std::string ztunnel_listing =
      std::string(kRuleset).substr(std::string(kRuleset).find("table ip ztunnel"));
  BOOST_TEST(nft.calls[2].buffer ==
             "table ip ztunnel {}\ndelete table ip ztunnel\n" + ztunnel_listing +
                 "table inet old {}\ndelete table inet old\n" + kOldZtcTable);
  BOOST_TEST(failed.diagnostics.render().find(
                 "note: the previous nft table was restored (and the other ztc tables put back); "
                 "nothing changed\n") != std::string::npos,
             failed.diagnostics.render());

  nft.calls.clear();
  ApplyReport report = load(v1.table, v1.routing, kernels, false, /*replace=*/true);
  BOOST_TEST_REQUIRE(report.ok, report.diagnostics.render());
  BOOST_TEST(report.nft_buffer == buffer);
  BOOST_TEST(report.tables_removed == std::vector<std::string>{"inet old"},
             boost::test_tools::per_element());

  // Unload: every ztc table, none of the others.
  nft.calls.clear();
  ApplyReport unloaded = unload(nft::Family::ip, "ztunnel", kernels, false);
  BOOST_TEST_REQUIRE(unloaded.ok, unloaded.diagnostics.render());
  BOOST_TEST(unloaded.nft_buffer == "delete table ip ztunnel\ndelete table inet old\n");
}

BOOST_AUTO_TEST_CASE(unload_removes_the_table_and_ztc_routing_only) {
  Node node;
  CompiledPolicy v1 = compile(kPolicyV1);
  node.loaded(v1);
  ApplyReport report = unload(nft::Family::ip, "ztunnel", node.kernels, false);
  BOOST_TEST_REQUIRE(report.ok, report.diagnostics.render());
  BOOST_TEST(node.nft_runs() == std::vector<std::string>{"delete table ip ztunnel\n"},
             boost::test_tools::per_element());
  BOOST_TEST(report.tables_removed == std::vector<std::string>{"ip ztunnel"},
             boost::test_tools::per_element());
  // Sysctls stay as they are (they were the node's before; ztc does not know better).
  BOOST_TEST(node.routing_state() ==
             std::string(kForeignState) + "net.ipv4.conf.istioin.rp_filter=0\n");
  BOOST_TEST(report.routing.kernel_writes == 3);

  // Twice: nothing to do, and fine.
  node.nft.tables_text.clear();
  node.nft.calls.clear();
  ApplyReport again = unload(nft::Family::ip, "ztunnel", node.kernels, false);
  BOOST_TEST_REQUIRE(again.ok, again.diagnostics.render());
  BOOST_TEST(again.tables_removed.empty());
  BOOST_TEST(again.nft_buffer == "");
  BOOST_TEST(again.routing.kernel_writes == 0);
  BOOST_TEST(node.nft_runs().empty());
}

BOOST_AUTO_TEST_CASE(unload_restores_the_table_when_routing_removal_fails) {
  Node node;
  CompiledPolicy v1 = compile(kPolicyV1);
  node.loaded(v1);
  node.routing.fail_write(2, "Operation not permitted");  // the second rule
  ApplyReport report = unload(nft::Family::ip, "ztunnel", node.kernels, false);
  BOOST_TEST(!report.ok);
  BOOST_TEST(report.node_unchanged);
  BOOST_TEST(report.tables_removed.empty());
  BOOST_TEST(node.nft_runs() ==
                 (std::vector<std::string>{
                     "delete table ip ztunnel\n",
                     "table ip ztunnel {}\ndelete table ip ztunnel\n" + std::string(kLiveListing)}),
             boost::test_tools::per_element());
  BOOST_TEST(node.routing_state() == kV1Routing);
  BOOST_TEST(report.diagnostics.render() ==
             "error: cannot delete -4 rule prio 101 fwmark 0x100/0x100 lookup 101: Operation not "
             "permitted\n"
             "note: routing changes made so far were rolled back\n");
}

BOOST_AUTO_TEST_CASE(unload_dry_run_writes_nothing) {
  Node node;
  CompiledPolicy v1 = compile(kPolicyV1);
  node.loaded(v1);
  ApplyReport report = unload(nft::Family::ip, "ztunnel", node.kernels, true);
  BOOST_TEST_REQUIRE(report.ok, report.diagnostics.render());
  BOOST_TEST(node.nft_runs() == std::vector<std::string>{"dry delete table ip ztunnel\n"},
             boost::test_tools::per_element());
  BOOST_TEST(node.routing.writes() == 0);
  BOOST_TEST(node.routing_state() == kV1Routing);
  BOOST_TEST(report.routing.diff.size() == 3u);
}

BOOST_AUTO_TEST_CASE(diff_reports_drift_and_nothing_once_repaired) {
  Node node;
  CompiledPolicy v1 = compile(kPolicyV1);
  node.loaded(v1);
  // The "kernel" lists the policy's table as it was given (the real lister
  // loads it into a scratch namespace and lists it back).
  CanonicalLister lister = [&](const std::string& buffer, nft::Family, const std::string&,
                               std::string*) -> std::optional<std::string> {
    BOOST_TEST(buffer == nft::emit_text(v1.table).text);
    return std::string(kLiveListing);
  };
  DiffReport same = diff(v1.table, v1.routing, node.kernels, lister);
  BOOST_TEST_REQUIRE(same.ok, same.diagnostics.render());
  BOOST_TEST(same.equal());
  BOOST_TEST(same.text() == "");

  // Drift: a rule deleted by hand, a line of the table gone.
  route::Rule by_hand;
  by_hand.priority = 101;
  by_hand.fwmark = 0x100;
  by_hand.fwmask = 0x100;
  by_hand.table = 101;
  BOOST_TEST_REQUIRE(!node.routing.delete_rule(by_hand));
  std::string drifted = kLiveListing;
  const std::string type_line = "\t\ttype ipv4_addr\n";
  drifted.erase(drifted.find(type_line), type_line.size());
  node.nft.tables_text["ip ztunnel"] = drifted;
  node.routing.reset_writes();
  DiffReport report = diff(v1.table, v1.routing, node.kernels, lister);
  BOOST_TEST_REQUIRE(report.ok, report.diagnostics.render());
  BOOST_TEST(!report.equal());
  BOOST_TEST(report.text() ==
             "--- nft (live)\n"
             "+++ nft (policy)\n"
             "+ \t\ttype ipv4_addr\n"
             "--- routing (live)\n"
             "+++ routing (policy)\n"
             "+ -4 rule prio 101 fwmark 0x100/0x100 lookup 101\n");
  BOOST_TEST(node.routing.writes() == 0);  // diff only reads

  // Table gone altogether.
  node.nft.tables_text.clear();
  DiffReport missing = diff(v1.table, v1.routing, node.kernels, lister);
  BOOST_TEST_REQUIRE(missing.ok);
  BOOST_TEST(missing.table_missing);
  BOOST_TEST(missing.text().rfind("+ (the owned nft table is not loaded)\n", 0) == 0);

  // Repaired by a load: equal again.
  node.nft.tables_text["ip ztunnel"] = kLiveListing;
  BOOST_TEST_REQUIRE(load(v1.table, v1.routing, node.kernels, false).ok);
  BOOST_TEST(diff(v1.table, v1.routing, node.kernels, lister).equal());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc
