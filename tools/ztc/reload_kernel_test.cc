// Incremental re-load (backend/nft_increment.h): after each kind of change a
// re-load leaves the node as a fresh load of the new policy would (listings
// compared), with every run-time member and member route kept, and changes
// only what differs. The real binary, in throwaway namespaces.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <string>
#include <utility>
#include <vector>

#include "backend/nft_canonical.h"
#include "testsupport/ambient_node.h"
#include "testsupport/files.h"

namespace ztc {
namespace {

using testing::AmbientNode;
using testing::read_file;
using testing::TempDir;
using Run = testing::ZtcRun;

const std::string kExample = testing::example_path("ambient-node");
const std::string kMembers =
    "10.244.0.5 comment \"uid-5\"\n10.244.0.6\n10.244.0.7 comment \"uid-7\"\n";

// The same members on the command line (`set add` keeps declared elements,
// where `set sync` would make the members exactly these).
const std::string kMemberWords = "10.244.0.5 comment uid-5 10.244.0.6 10.244.0.7 comment uid-7";

std::string quoted(const std::string& text) { return "'" + text + "'"; }

void require_ok(const Run& run, const std::string& what) {
  BOOST_REQUIRE_MESSAGE(run.exit_code == 0,
                        what << " failed (" << run.exit_code << "): " << run.out << run.err);
}

// The node as the tests compare it: the owned table (stateless, elements
// sorted: a hash set lists in hash order; objects sorted: nft lists chains in
// the order they were made, and a chain a re-load adds comes last) and ztc's
// rules and routes.
std::string state(const AmbientNode& node) {
  nft::TableDefinitions table =
      nft::table_definitions(nft::with_sorted_elements(node.must("nft -s list table ip ztunnel")),
                             nft::Family::ip, "ztunnel");
  BOOST_REQUIRE(table.found);
  std::vector<std::string> objects;
  for (const nft::Block& block : table.blocks) objects.push_back(block.text);
  std::sort(objects.begin(), objects.end());
  std::string text;
  for (const std::string& line : table.attributes) text += line + "\n";
  for (const std::string& object : objects) text += object;
  return text + node.ztc_rules() + node.ztc_routes();
}

struct Change {
  std::string name;
  std::vector<std::pair<std::string, std::string>> swaps;  // on the example
  bool incremental;  // whether the re-load changes only what differs
  // Also from the changed policy back to the example. Not for a declared
  // element: one the policy drops stays as a member (nothing tells it from
  // one enrolled at run time), as it did when every load replaced the table.
  bool both_ways = true;
};

const std::vector<Change> kChanges = {
    {"a rule", {{"=> mark |= proxy_ret", "=> mark |= conn_skip"}}, true},
    {"a -D value used by rules and static routes",
     {{"ztunnel_ip:    ipv4   = 10.244.1.2", "ztunnel_ip:    ipv4   = 10.244.1.3"}},
     true},
    {"a chain removed", {{"capture output {\n  saddr host_ip => mark = conn_skip\n}\n", ""}}, true},
    {"a declared element",
     {{"set pods: ipv4 managed ", "set pods: ipv4 managed = { 10.244.0.99 } "}},
     true,
     false},
    {"a static route",
     {{"  default via istioout_peer dev tunnel_out\n",
       "  default via istioout_peer dev tunnel_out\n  10.99.0.0/16 via istioout_peer dev "
       "tunnel_out\n"}},
     true},
    // A managed set's definition cannot change with members kept but by its
    // member route template (below): a static set's, then.
    {"a set definition",
     {{"set pods: ipv4 managed ",
       "set dns: ipv4 = { 10.96.0.10 comment \"kube-dns\" }\nset pods: ipv4 managed "}},
     true},
    {"the member route template",
     {{"member via istioin_peer dev tunnel_in src host_ip",
       "member via istioin_peer dev tunnel_in"}},
     false},
};

BOOST_AUTO_TEST_SUITE(reload_kernel)

BOOST_AUTO_TEST_CASE(after_each_kind_of_change_the_node_equals_a_fresh_load,
                     *boost::unit_test::label("kernel")) {
  TempDir dir;
  for (const Change& change : kChanges) {
    BOOST_TEST_CONTEXT(change.name) {
      const std::string changed =
          dir.write("changed.zt", testing::replaced_once(read_file(kExample), change.swaps));
      std::vector<std::pair<std::string, std::string>> ways{{kExample, changed}};
      if (change.both_ways) ways.emplace_back(changed, kExample);
      for (const auto& [from, to] : ways) {
        // The re-loaded node: `from` with members, then `to`.
        AmbientNode reloaded("ztrl");
        require_ok(reloaded.ztc("load " + quoted(from)), "first load");
        require_ok(reloaded.ztc("set add " + quoted(from) + " pods " + kMemberWords), "set add");
        Run reload = reloaded.ztc("load " + quoted(to));
        require_ok(reload, "re-load");
        BOOST_TEST(
            (reload.out.find("members untouched") != std::string::npos) == change.incremental,
            reload.out);
        // A second re-load finds nothing to do.
        Run again = reloaded.ztc("load " + quoted(to));
        BOOST_TEST(again.out ==
                   "loaded table ip ztunnel (nft: 0 changes, members untouched); routing: 0 "
                   "changes\n");

        // The fresh node: `to`, then the same members.
        AmbientNode fresh("ztrf");
        require_ok(fresh.ztc("load " + quoted(to)), "fresh load");
        require_ok(fresh.ztc("set add " + quoted(to) + " pods " + kMemberWords), "fresh set add");
        BOOST_TEST(state(reloaded) == state(fresh));
        BOOST_TEST(reloaded.ztc("set list " + quoted(to) + " pods").out ==
                   fresh.ztc("set list " + quoted(to) + " pods").out);
      }
    }
  }
}

// The example loaded and kMembers enrolled (`set sync`).
void load_with_members(const AmbientNode& node, const TempDir& dir) {
  require_ok(node.ztc("load " + quoted(kExample)), "load");
  require_ok(node.ztc("set sync " + quoted(kExample) + " pods --from " +
                      quoted(dir.write("members.txt", kMembers))),
             "set sync");
}

// Drift: the `meta mark set` rule of chain output deleted by hand.
void delete_output_mark_rule(const AmbientNode& node) {
  std::string handles = node.must("nft -a list chain ip ztunnel output");
  size_t at = handles.find("# handle ", handles.find("meta mark set"));
  BOOST_REQUIRE(at != std::string::npos);
  node.must("nft delete rule ip ztunnel output handle " +
            handles.substr(at + 9, handles.find('\n', at) - at - 9));
}

BOOST_AUTO_TEST_CASE(an_unchanged_reload_writes_nothing_and_repairs_drift,
                     *boost::unit_test::label("kernel")) {
  TempDir dir;
  AmbientNode node("ztrd");
  load_with_members(node, dir);
  const std::string before = state(node);
  // A named counter outside the policy's objects would be deleted; the
  // table's own objects are compared by definition, so a deleted rule and a
  // deleted static route come back, and nothing else is touched.
  delete_output_mark_rule(node);
  node.must("ip route del 10.244.1.2 dev veth1ae58883 table 101 proto 122");
  BOOST_REQUIRE(state(node) != before);
  Run repair = node.ztc("load " + quoted(kExample));
  require_ok(repair, "repairing load");
  BOOST_TEST(repair.out ==
             "loaded table ip ztunnel (nft: 1 change, members untouched); routing: 1 change\n"
             "~ chain output\n"
             "+ -4 route 10.244.1.2 dev veth1ae58883 scope link table 101\n");
  BOOST_TEST(state(node) == before);
}

// `ztc ARGS` traced: its output, and how many scratch namespaces it made
// (unshare(CLONE_NEWNET)).
std::pair<Run, int> with_scratch_count(const AmbientNode& node, const std::string& args) {
  TempDir dir;
  const std::string trace = dir.file("trace");
  // LeakSanitizer cannot run under ptrace: off for the traced ztc (ASan builds).
  Run run = node.ztc(args, "",
                     "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" strace -f "
                     "-qq -e trace=unshare -o " +
                         shell_quote(trace) + " ");
  int scratches = 0;
  const std::string text = read_file(trace);
  for (size_t at = text.find("unshare(CLONE_NEWNET"); at != std::string::npos;
       at = text.find("unshare(CLONE_NEWNET", at + 1)) {
    ++scratches;
  }
  return {run, scratches};
}

// The definitions memo (backend/definitions_memo.h): a re-load of the same
// policy onto a table that lists what the last scratch namespace did needs
// no scratch namespace; drift, a changed policy or a record that no longer
// matches still ask one, and unload removes the record.
BOOST_AUTO_TEST_CASE(a_reload_of_the_same_policy_onto_an_unchanged_table_needs_no_scratch,
                     *boost::unit_test::label("kernel")) {
  if (run_command("command -v strace >/dev/null").exit_code != 0) {
    BOOST_TEST_MESSAGE("strace is not installed: not checked");
    return;
  }
  TempDir dir;
  AmbientNode node("ztrm");
  load_with_members(node, dir);
  const std::string before = state(node);
  const std::string unchanged =
      "loaded table ip ztunnel (nft: 0 changes, members untouched); routing: 0 changes\n";
  std::string inode = node.must("stat -L -c %i /proc/self/ns/net");
  inode.erase(inode.find_last_not_of('\n') + 1);
  const std::string memo = "/run/ztc/definitions-" + inode;
  auto expect = [&](const std::string& args, const std::string& out, int scratches) {
    auto [run, made] = with_scratch_count(node, args);
    require_ok(run, args);
    BOOST_TEST(run.out == out, args);
    BOOST_TEST(made == scratches, args);
  };
  expect("load " + quoted(kExample), unchanged, 1);  // the first re-load records it
  BOOST_TEST(run_command("test -f " + memo).exit_code == 0);
  expect("load " + quoted(kExample), unchanged, 0);
  expect("diff " + quoted(kExample),
         "no differences (members of managed sets and their routes not compared: --members "
         "compares them)\n",
         0);

  // Drift: the table no longer lists what was recorded.
  delete_output_mark_rule(node);
  expect("load " + quoted(kExample),
         "loaded table ip ztunnel (nft: 1 change, members untouched); routing: 0 changes\n"
         "~ chain output\n",
         1);
  BOOST_TEST(state(node) == before);
  expect("load " + quoted(kExample), unchanged, 0);

  // Another policy is not the recorded one; then it is.
  const std::string changed = "load " + quoted(kExample) + " -D ztunnel_ip=10.244.1.3";
  auto [moved, made] = with_scratch_count(node, changed);
  require_ok(moved, "changed policy");
  BOOST_TEST(moved.out.find("members untouched); routing: 8 changes") != std::string::npos,
             moved.out);
  BOOST_TEST(made == 1);
  expect(changed, unchanged, 0);
  auto [back, back_made] = with_scratch_count(node, "load " + quoted(kExample));
  require_ok(back, "back to the example");
  BOOST_TEST(back_made == 1);
  BOOST_TEST(state(node) == before);

  // A record whose definitions are not what the table lists is not used.
  node.must("sed -i 's/meta mark set/meta mark SET/' " + memo);
  expect("load " + quoted(kExample), unchanged, 1);
  expect("load " + quoted(kExample), unchanged, 0);

  require_ok(node.ztc("unload " + quoted(kExample)), "unload");
  BOOST_TEST(run_command("test -e " + memo).exit_code != 0);
}

BOOST_AUTO_TEST_CASE(a_routing_failure_after_the_increment_puts_the_table_back,
                     *boost::unit_test::label("kernel")) {
  TempDir dir;
  AmbientNode node("ztrf");
  load_with_members(node, dir);
  // Someone else's route where the new static route would go: its write fails.
  node.must("ip route add 10.99.0.0/16 dev istioout table 101");
  const std::string before = state(node);
  const std::string changed = dir.write(
      "changed.zt",
      testing::replaced_once(
          read_file(kExample),
          {{"=> mark |= proxy_ret", "=> mark |= conn_skip"},
           {"  default via istioout_peer dev tunnel_out\n",
            "  default via istioout_peer dev tunnel_out\n  10.99.0.0/16 dev tunnel_out\n"}}));
  Run load = node.ztc("load " + quoted(changed));
  BOOST_TEST(load.exit_code == 1);
  BOOST_TEST(load.err.find("File exists") != std::string::npos, load.err);
  BOOST_TEST(load.err.find("the previous nft table was restored") != std::string::npos, load.err);
  BOOST_TEST(state(node) == before);
}

BOOST_AUTO_TEST_CASE(a_whole_load_that_did_not_finish_its_member_routes_is_redone,
                     *boost::unit_test::label("kernel")) {
  AmbientNode node("ztrk");
  require_ok(node.ztc("load " + quoted(kExample)), "load");
  require_ok(node.ztc("set add " + quoted(kExample) + " pods " + kMemberWords), "set add");
  const std::string before = state(node);
  BOOST_TEST(before.find("ztc_member_routes_pending") == std::string::npos);
  // What a whole load killed between its nft commit and its last member
  // route leaves: the mark, and member routes missing.
  node.must(
      "nft add chain ip ztunnel ztc_member_routes_pending && "
      "ip route del 10.244.0.6 table 100 proto 123");
  Run load = node.ztc("load " + quoted(kExample));
  require_ok(load, "load after the kill");
  BOOST_TEST(load.out ==
             "loaded table ip ztunnel (3 members kept); routing: 1 change\n"
             "+ -4 route 10.244.0.6 via 192.168.126.2 dev istioin src 10.244.1.1 table 100\n");
  BOOST_TEST(state(node) == before);
  // Without the mark, a re-load leaves member routes alone.
  node.must("ip route del 10.244.0.6 table 100 proto 123");
  Run trusting = node.ztc("load " + quoted(kExample));
  BOOST_TEST(trusting.out ==
             "loaded table ip ztunnel (nft: 0 changes, members untouched); routing: 0 changes\n");
}

// A node an older ztc loaded has its member routes at protocol 122: diff
// names each one's protocol change, the next load re-tags each in place (one
// replace, no gap), and the node is as a fresh load leaves it.
BOOST_AUTO_TEST_CASE(member_routes_an_older_ztc_tagged_122_are_retagged_by_the_next_load,
                     *boost::unit_test::label("kernel")) {
  AmbientNode node("ztro");
  require_ok(node.ztc("load " + quoted(kExample)), "load");
  require_ok(node.ztc("set add " + quoted(kExample) + " pods " + kMemberWords), "set add");
  const std::string before = state(node);
  node.must(
      "ip route show table 100 proto 123 | while read -r route; do "
      "ip route replace $route table 100 proto 122 || exit 1; done");
  BOOST_REQUIRE(node.must("ip route show table 100 proto 123") == "");
  const std::string retag =
      "~ -4 route 10.244.0.5 via 192.168.126.2 dev istioin src 10.244.1.1 table 100 proto 122 -> "
      "123\n"
      "~ -4 route 10.244.0.6 via 192.168.126.2 dev istioin src 10.244.1.1 table 100 proto 122 -> "
      "123\n"
      "~ -4 route 10.244.0.7 via 192.168.126.2 dev istioin src 10.244.1.1 table 100 proto 122 -> "
      "123\n";
  Run diff = node.ztc("diff " + quoted(kExample));
  BOOST_TEST(diff.exit_code == 1);
  BOOST_TEST(diff.out == "--- routing (live)\n+++ routing (policy)\n" + retag);
  Run load = node.ztc("load " + quoted(kExample));
  require_ok(load, "load");
  BOOST_TEST(load.out == "loaded table ip ztunnel (3 members kept); routing: 3 changes\n" + retag);
  BOOST_TEST(state(node) == before);
  BOOST_TEST(node.ztc("diff --members " + quoted(kExample)).out == "no differences\n");
}

BOOST_AUTO_TEST_CASE(diff_compares_members_on_members_or_when_a_definition_changes,
                     *boost::unit_test::label("kernel")) {
  TempDir dir;
  AmbientNode node("ztrv");
  require_ok(node.ztc("load " + quoted(kExample)), "load");
  require_ok(node.ztc("set add " + quoted(kExample) + " pods " + kMemberWords), "set add");
  const std::string kNote =
      "(members of managed sets and their routes not compared: --members compares them)\n";
  BOOST_TEST(node.ztc("diff " + quoted(kExample)).out == "no differences " + kNote);
  BOOST_TEST(node.ztc("diff --members " + quoted(kExample)).out == "no differences\n");

  // A member route and a static route go: only --members sees the first.
  node.must(
      "ip route del 10.244.0.6 table 100 proto 123 && "
      "ip route del 10.244.1.2 dev veth1ae58883 table 101 proto 122");
  Run cheap = node.ztc("diff " + quoted(kExample));
  BOOST_TEST(cheap.exit_code == 1);
  BOOST_TEST(cheap.out ==
             "--- routing (live)\n+++ routing (policy)\n"
             "+ -4 route 10.244.1.2 dev veth1ae58883 scope link table 101\n" +
                 kNote);
  Run full = node.ztc("diff --members " + quoted(kExample));
  BOOST_TEST(full.exit_code == 1);
  BOOST_TEST(full.out ==
             "--- routing (live)\n+++ routing (policy)\n"
             "+ -4 route 10.244.1.2 dev veth1ae58883 scope link table 101\n"
             "+ -4 route 10.244.0.6 via 192.168.126.2 dev istioin src 10.244.1.1 table 100\n");

  // Another member route template: a load rewrites every member route, so
  // diff compares them without being asked.
  const std::string changed = dir.write(
      "changed.zt", testing::replaced_once(read_file(kExample),
                                           {{"member via istioin_peer dev tunnel_in src host_ip",
                                             "member via istioin_peer dev tunnel_in"}}));
  Run template_changed = node.ztc("diff " + quoted(changed));
  BOOST_TEST(template_changed.exit_code == 1);
  BOOST_TEST(template_changed.out.find(kNote) == std::string::npos, template_changed.out);
  BOOST_TEST(
      template_changed.out.find(
          "+ -4 route 10.244.0.6 via 192.168.126.2 dev istioin table 100\n") != std::string::npos,
      template_changed.out);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc
