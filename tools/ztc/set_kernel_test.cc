// `ztc set add / del / list / sync` end to end: the real binary with --netns,
// on throwaway network namespaces that look like an ambient node (istioin,
// istioout and the ztunnel veth, with the example's addresses). Nothing here
// touches the root namespace's ruleset, rules or routes; every namespace is
// deleted when its test ends, failed or not; every wait is bounded.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "backend/apply_lock.h"
#include "backend/netns.h"
#include "backend/nft_set_reader.h"
#include "testsupport/ambient_node.h"
#include "testsupport/files.h"

namespace ztc {
namespace {

const std::string kZtc = ZTC_BINARY;
const std::string kExample = std::string(ZTC_SOURCE_DIR) + "/examples/ambient-node.zt";
const std::string kDualStack = std::string(ZTC_SOURCE_DIR) + "/examples/dual-stack.zt";

using testing::line_of;
using testing::read_file;
using testing::TempDir;
using Run = testing::ZtcRun;

// The example with `from` replaced by `to` (`from` must occur exactly once).
std::string example_with(const std::string& from, const std::string& to) {
  return testing::replaced_once(read_file(kExample), {{from, to}});
}

// The ambient node, with the set commands' views of it.
class Node : public testing::AmbientNode {
 public:
  Node() : AmbientNode("ztc-set") {}

  Run set(const std::string& args, const std::string& policy = kExample) const {
    return ztc("set " + args.substr(0, args.find(' ')) + " " + shell_quote(policy) +
               args.substr(args.find(' ')));
  }

  // ztc's routes in table 100, as `ip route` prints them.
  std::string table100() const {
    return must("ip route show table 100 | grep ' proto 12[23] ' || true");
  }
  std::string elements() const { return must("nft list set ip ztunnel pods"); }
  std::string state() const { return must("nft -s list ruleset") + routes(); }
};

void require_ok(const Run& run, const std::string& what) {
  BOOST_REQUIRE_MESSAGE(run.exit_code == 0, what << ": exit " << run.exit_code << "\nstdout:\n"
                                                 << run.out << "stderr:\n"
                                                 << run.err);
}

void loaded(const Node& node, const std::string& policy = kExample) {
  Run load = node.ztc("load " + shell_quote(policy));
  require_ok(load, "load");
}

std::string pod_route(const std::string& pod) {
  return pod + " via 192.168.126.2 dev istioin proto 123 src 10.244.1.1 \n";
}

// The example's own route in table 100.
const char* const kZtunnelRoute = "10.244.1.2 dev veth1ae58883 proto 122 scope link \n";

}  // namespace

BOOST_AUTO_TEST_SUITE(set_kernel)

BOOST_AUTO_TEST_CASE(add_list_del_round_trip_with_routes, *boost::unit_test::label("kernel")) {
  Node node;
  loaded(node);
  Run add = node.set("add pods 10.244.0.5 comment pod-uid-5 10.244.0.6");
  require_ok(add, "set add");
  BOOST_TEST(add.out == "set pods: 2 added; routes: 2 added\n");
  BOOST_TEST(add.err == "");
  BOOST_TEST(node.table100() == pod_route("10.244.0.5") + pod_route("10.244.0.6") + kZtunnelRoute);
  BOOST_TEST(node.elements().find("10.244.0.5 comment \"pod-uid-5\"") != std::string::npos,
             node.elements());

  Run list = node.set("list pods");
  require_ok(list, "set list");
  BOOST_TEST(list.out == "10.244.0.5 comment \"pod-uid-5\"\n10.244.0.6\n");

  Run del = node.set("del pods 10.244.0.5 -v");
  require_ok(del, "set del");
  BOOST_TEST(del.out ==
             "set pods: 1 removed; routes: 1 removed\n"
             "- 10.244.0.5 comment \"pod-uid-5\"\n"
             "- -4 route 10.244.0.5 via 192.168.126.2 dev istioin src 10.244.1.1 table 100\n");
  BOOST_TEST(node.set("list pods").out == "10.244.0.6\n");
  BOOST_TEST(node.table100() == pod_route("10.244.0.6") + kZtunnelRoute);

  // The root namespace never saw any of it.
  BOOST_TEST(run_command("nft list table ip ztunnel").exit_code != 0);
}

BOOST_AUTO_TEST_CASE(sync_makes_the_members_those_of_the_file, *boost::unit_test::label("kernel")) {
  Node node;
  TempDir dir;
  loaded(node);
  require_ok(node.set("add pods 10.244.0.1 comment old 10.244.0.2"), "set add");
  std::string members = dir.write("pods.txt",
                                  "# enrolled pods, from the agent\n"
                                  "10.244.0.2 comment \"uid 2\"\n"
                                  "\n"
                                  "10.244.0.3   # no comment\n"
                                  "10.244.0.4 comment \"uid-4\"\n");
  Run sync = node.set("sync pods --from " + shell_quote(members));
  require_ok(sync, "set sync");
  BOOST_TEST(sync.out ==
             "set pods: 2 added, 1 removed, 1 comment changed; routes: 2 added, 1 removed\n");
  Run list = node.set("list pods");
  BOOST_TEST(list.out ==
             "10.244.0.2 comment \"uid 2\"\n10.244.0.3\n10.244.0.4 comment \"uid-4\"\n");
  BOOST_TEST(node.table100() == pod_route("10.244.0.2") + pod_route("10.244.0.3") +
                                    pod_route("10.244.0.4") + kZtunnelRoute);

  // The listing is a sync file: syncing it back changes nothing.
  Run again = node.ztc("set sync " + shell_quote(kExample) + " pods --from -", list.out);
  require_ok(again, "set sync from stdin");
  BOOST_TEST(again.out == "set pods: 3 unchanged\n");

  // A route that went missing is put back by a sync.
  node.must("ip route del 10.244.0.3 table 100");
  Run repair = node.ztc("set sync " + shell_quote(kExample) + " pods --from -", list.out);
  require_ok(repair, "set sync repair");
  BOOST_TEST(repair.out == "set pods: 3 unchanged; routes: 1 added\n");
  BOOST_TEST(node.table100() == pod_route("10.244.0.2") + pod_route("10.244.0.3") +
                                    pod_route("10.244.0.4") + kZtunnelRoute);

  // An empty list would un-enrol every pod: refused, unless asked for.
  std::string before = node.state();
  Run refused = node.ztc("set sync " + shell_quote(kExample) + " pods --from -", "# none\n");
  BOOST_TEST(refused.exit_code == 1);
  BOOST_TEST(refused.out == "");
  BOOST_TEST(refused.err ==
             "ztc: error: the member list is empty: syncing set 'pods' to it would remove all 3 "
             "members; pass --allow-empty if that is meant\n"
             "ztc: note: nothing was changed\n");
  BOOST_TEST(node.state() == before);
  std::string empty_file = dir.write("empty.txt", "");
  Run refused_file = node.set("sync pods --from " + shell_quote(empty_file));
  BOOST_TEST(refused_file.exit_code == 1);
  BOOST_TEST(node.state() == before);

  Run empty =
      node.ztc("set sync " + shell_quote(kExample) + " pods --allow-empty --from -", "# none\n");
  require_ok(empty, "set sync to nothing");
  BOOST_TEST(empty.out == "set pods: 3 removed; routes: 3 removed\n");
  BOOST_TEST(node.set("list pods").out == "");
  BOOST_TEST(node.table100() == kZtunnelRoute);
}

// Netlink messages that change something, as strace prints them. strace 6.1
// prints the types in hex here: NFNL_MSG_BATCH_BEGIN 0x10, NFT_MSG_NEWSETELEM
// 0xa0c, NFT_MSG_DELSETELEM 0xa0e, RTM_NEWROUTE 0x18, RTM_DELROUTE 0x19,
// RTM_NEWRULE 0x20, RTM_DELRULE 0x21 (names when it decodes them).
const char* const kWriteMessages[] = {"nlmsg_type=0x10 ", "nlmsg_type=0xa0c ", "nlmsg_type=0xa0e ",
                                      "nlmsg_type=0x18 ", "nlmsg_type=0x19 ",  "nlmsg_type=0x20 ",
                                      "nlmsg_type=0x21 ", "RTM_NEWROUTE",      "RTM_DELROUTE",
                                      "RTM_NEWRULE",      "RTM_DELRULE"};

std::vector<std::string> writes_in(const std::string& trace) {
  std::vector<std::string> found;
  for (const char* message : kWriteMessages) {
    if (trace.find(message) != std::string::npos) found.push_back(message);
  }
  return found;
}

BOOST_AUTO_TEST_CASE(adding_present_and_deleting_absent_members_writes_nothing,
                     *boost::unit_test::label("kernel")) {
  Node node;
  TempDir dir;
  loaded(node);
  require_ok(node.set("add pods 10.244.0.5 comment uid-5 10.244.0.6"), "set add");
  std::string members = dir.write("pods.txt", "10.244.0.5 comment \"uid-5\"\n10.244.0.6\n");
  // What the kernel is told while the commands run: every netlink message ztc
  // sends (strace; a no-op `add element` would change nothing the kernel
  // reports), and what nft's and netlink's monitors see.
  bool traced = run_command("command -v strace >/dev/null").exit_code == 0;
  if (!traced) BOOST_TEST_MESSAGE("strace is not installed: checking the monitors only");
  // The monitors append (so the logs can be emptied under them); a probe
  // before shows they are listening, a marker after that they caught up.
  auto monitored = [&](const std::string& commands) {
    std::string ns = "ip netns exec " + shell_quote(node.name()) + " ";
    std::string nft_log = dir.file("nft.log"), route_log = dir.file("route.log");
    auto signal = [&](const std::string& word, const std::string& address) {
      return "i=0; while [ $i -lt 100 ]; do " + ns + "nft add table ip " + word + "; " + ns +
             "nft delete table ip " + word + "; " + ns + "ip route add " + address +
             " dev lo table 250; " + ns + "ip route del " + address + " dev lo table 250; " +
             "grep -q " + word + " " + nft_log + " && grep -q " + address + " " + route_log +
             " && break; sleep 0.1; i=$((i+1)); done; ";
    };
    run_command("rm -f " + dir.file("trace") + " " + nft_log + " " + route_log);
    std::string script = ns + "timeout 60 nft monitor >>" + nft_log + " 2>&1 & m1=$!; " + ns +
                         "timeout 60 ip monitor route >>" + route_log + " 2>&1 & m2=$!; " +
                         signal("ztc_probe", "10.255.255.1") + ": >" + nft_log + "; : >" +
                         route_log + "; " + commands + " " + signal("ztc_marker", "10.255.255.2") +
                         "kill $m1 $m2; wait";
    CommandResult result = run_command(script);
    BOOST_TEST_MESSAGE(result.output);
    std::string events;
    std::istringstream lines(read_file(nft_log) + read_file(route_log));
    for (std::string line; std::getline(lines, line);) {
      bool probe_generation = line.rfind("# new generation", 0) == 0 && line.size() >= 5 &&
                              line.compare(line.size() - 5, 5, "(nft)") == 0;
      // The kernel's own routes (IPv6 link-local addresses finishing DAD on the
      // new veths) can appear at any time; ztc's writes are all proto 122 or 123.
      bool kernel_route = line.find(" proto kernel ") != std::string::npos;
      if (!kernel_route && line.find("ztc_probe") == std::string::npos &&
          line.find("ztc_marker") == std::string::npos &&
          line.find("10.255.255.") == std::string::npos && !probe_generation) {
        events += line + "\n";
      }
    }
    return std::make_pair(events, read_file(dir.file("trace")));
  };
  std::string set_cmd =
      // LeakSanitizer cannot run under ptrace: off for the traced ztc (ASan builds).
      (traced ? "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" strace -f -qq -A "
                "-e trace=sendmsg,sendto -o " +
                    dir.file("trace") + " "
              : "") +
      shell_quote(kZtc) + " set ";
  std::string policy = " " + shell_quote(kExample) + " pods ";
  std::string netns = " --netns " + shell_quote(node.name()) + " >>" + dir.file("out") + " 2>&1;";
  auto [events, trace] =
      monitored(set_cmd + "add" + policy + "10.244.0.5 comment uid-5" + netns + set_cmd + "add" +
                policy + "10.244.0.6" + netns + set_cmd + "del" + policy + "10.244.0.9" + netns +
                set_cmd + "sync" + policy + "--from " + members + netns);
  BOOST_TEST(events == "");
  BOOST_TEST(read_file(dir.file("out")) ==
             "set pods: 1 already a member\nset pods: 1 already a member\n"
             "set pods: 1 not a member\nset pods: 2 unchanged\n");
  if (traced) {
    BOOST_TEST(writes_in(trace).empty(), "netlink writes: " << trace);
    BOOST_TEST(trace.find("nlmsg_type=0xa0d ") != std::string::npos);  // it did read the set
  }
  // A real change is seen by both (the checks above can fail).
  auto [loud, loud_trace] = monitored(set_cmd + "add" + policy + "10.244.0.7" + netns);
  BOOST_TEST(loud.find("add element ip ztunnel pods { 10.244.0.7 }") != std::string::npos, loud);
  BOOST_TEST(loud.find("10.244.0.7 via 192.168.126.2 dev istioin") != std::string::npos, loud);
  BOOST_TEST(loud.find("# new generation") != std::string::npos, loud);  // one nft commit
  if (traced) {
    std::vector<std::string> writes = writes_in(loud_trace);
    auto wrote = [&](const char* message) {
      return std::find(writes.begin(), writes.end(), message) != writes.end();
    };
    BOOST_TEST(wrote("nlmsg_type=0xa0c "), loud_trace);                            // the element
    BOOST_TEST((wrote("nlmsg_type=0x18 ") || wrote("RTM_NEWROUTE")), loud_trace);  // its route
    BOOST_TEST(!wrote("nlmsg_type=0xa0e "), loud_trace);
  }
}

BOOST_AUTO_TEST_CASE(a_route_the_kernel_refuses_leaves_the_set_unchanged,
                     *boost::unit_test::label("kernel")) {
  Node node;
  loaded(node);
  require_ok(node.set("add pods 10.244.0.1 comment kept"), "set add");
  // Someone else's route where a member's would go.
  node.must("ip route add 10.244.0.99 dev istioout table 100");
  std::string before = node.state();
  Run add = node.set("add pods 10.244.0.98 comment a 10.244.0.99 comment b");
  BOOST_TEST(add.exit_code == 1);
  BOOST_TEST(add.out == "");
  int line = line_of(kExample, "member via istioin_peer");
  BOOST_TEST(add.err.find(kExample + ":" + std::to_string(line) +
                          ":3: error: cannot add -4 route 10.244.0.99 via 192.168.126.2 dev "
                          "istioin src 10.244.1.1 table 100: File exists") == 0u,
             add.err);
  BOOST_TEST(add.err.find("exists that ztc does not own") != std::string::npos, add.err);
  BOOST_TEST(add.err.find("ztc: note: the set and its routes were left as they were\n") !=
                 std::string::npos,
             add.err);
  BOOST_TEST(node.state() == before);  // 10.244.0.98: no element, no route
  BOOST_TEST(node.set("list pods").out == "10.244.0.1 comment \"kept\"\n");
}

BOOST_AUTO_TEST_CASE(members_survive_a_reload_of_the_same_or_a_changed_policy,
                     *boost::unit_test::label("kernel")) {
  Node node;
  TempDir dir;
  loaded(node);
  require_ok(node.set("add pods 10.244.0.5 comment uid-5 10.244.0.6"), "set add");
  std::string members = "10.244.0.5 comment \"uid-5\"\n10.244.0.6\n";

  Run same = node.ztc("load " + shell_quote(kExample));
  require_ok(same, "reload");
  BOOST_TEST(same.out ==
             "loaded table ip ztunnel (nft: 0 changes, members untouched); routing: 0 changes\n");
  BOOST_TEST(node.set("list pods").out == members);
  BOOST_TEST(node.table100() == pod_route("10.244.0.5") + pod_route("10.244.0.6") + kZtunnelRoute);

  // The member routes lose their `src`: the reload rewrites them, keeps the members.
  std::string changed =
      dir.write("changed.zt", example_with("member via istioin_peer dev tunnel_in src host_ip",
                                           "member via istioin_peer dev tunnel_in"));
  Run reload = node.ztc("load " + shell_quote(changed));
  require_ok(reload, "load changed");
  BOOST_TEST(reload.out.find("(2 members kept)") != std::string::npos, reload.out);
  BOOST_TEST(node.set("list pods", changed).out == members);
  BOOST_TEST(node.table100() ==
             "10.244.0.5 via 192.168.126.2 dev istioin proto 123 \n"
             "10.244.0.6 via 192.168.126.2 dev istioin proto 123 \n" +
                 std::string(kZtunnelRoute));
  // Enrolment with the changed policy follows its template.
  require_ok(node.set("add pods 10.244.0.7", changed), "set add (changed)");
  BOOST_TEST(node.table100().find("10.244.0.7 via 192.168.126.2 dev istioin proto 123 \n") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(mistakes_are_clear_errors_that_change_nothing,
                     *boost::unit_test::label("kernel")) {
  Node node;
  TempDir dir;
  // Never loaded.
  Run unloaded = node.set("add pods 10.244.0.5");
  BOOST_TEST(unloaded.exit_code == 1);
  BOOST_TEST(unloaded.err ==
             "ztc: error: table ip ztunnel is not loaded: run `ztc load` with this policy first\n");
  BOOST_TEST(node.set("list pods").exit_code == 1);

  loaded(node);
  std::string before = node.state();
  Run bad = node.set("add pods 10.244.0.5 10.0.0.300 10.1.0.0/16 fd00::1");
  BOOST_TEST(bad.exit_code == 1);
  BOOST_TEST(bad.err ==
             "ztc: error: element '10.0.0.300' of set 'pods' (ipv4): not an IPv4 address\n"
             "ztc: error: element '10.1.0.0/16' of set 'pods' (ipv4): a prefix where an address "
             "is required\n"
             "ztc: error: element 'fd00::1' of set 'pods' (ipv4): not an IPv4 address\n");
  Run unknown = node.set("add podz 10.244.0.5");
  BOOST_TEST(unknown.exit_code == 1);
  BOOST_TEST(unknown.err == "ztc: error: the policy has no set 'podz' (managed sets: pods)\n");

  std::string fixed =
      dir.write("fixed.zt", example_with("set pods: ipv4 managed",
                                         "set pods: ipv4 managed\nset dns: ipv4 = { 10.96.0.10 }"));
  Run not_managed = node.set("add dns 10.96.0.11", fixed);
  BOOST_TEST(not_managed.exit_code == 1);
  BOOST_TEST(not_managed.err.find("error: set 'dns' is not managed") != std::string::npos,
             not_managed.err);

  Run usage = node.set("add pods 10.244.0.5 comment");
  BOOST_TEST(usage.exit_code == 2);
  BOOST_TEST(usage.err ==
             "ztc: error: `comment` after '10.244.0.5' needs its text: ELEMENT comment TEXT\n");
  Run no_element = node.set("add pods");
  BOOST_TEST(no_element.exit_code == 2);

  std::string bad_file = dir.write("bad.txt", "10.244.0.5\n10.244.0.6 uid\n");
  Run bad_sync = node.set("sync pods --from " + shell_quote(bad_file));
  BOOST_TEST(bad_sync.exit_code == 1);
  BOOST_TEST(bad_sync.err == bad_file +
                                 ":2:12: error: expected ELEMENT or ELEMENT comment \"TEXT\"\n"
                                 "    10.244.0.6 uid\n"
                                 "               ^\n");
  BOOST_TEST(node.state() == before);
}

BOOST_AUTO_TEST_CASE(set_commands_refuse_another_policy_than_the_loaded_one,
                     *boost::unit_test::label("kernel")) {
  Node node;
  TempDir dir;
  loaded(node);
  require_ok(node.set("add pods 10.244.0.5"), "set add");
  // load records the member routes on the set, in the same transaction.
  BOOST_TEST(node.elements().find("comment \"ztc member routes: via 192.168.126.2 dev istioin "
                                  "src 10.244.1.1 table 100\"") != std::string::npos,
             node.elements());
  std::string before = node.state();

  // Other -D values for the member route template: refused, nothing written.
  int line = line_of(kExample, "member via istioin_peer");
  for (const char* command : {"add pods 10.244.0.6", "del pods 10.244.0.5"}) {
    Run other = node.set(std::string(command) + " -D istioin_peer=192.168.126.3");
    BOOST_TEST(other.exit_code == 1);
    BOOST_TEST(other.out == "");
    BOOST_TEST(other.err ==
               kExample + ":" + std::to_string(line) +
                   ":3: error: set 'pods' of table ip ztunnel was loaded from another policy: the "
                   "loaded policy routes its members via 192.168.126.2 dev istioin src 10.244.1.1 "
                   "table 100; this one routes its members via 192.168.126.3 dev istioin src "
                   "10.244.1.1 table 100\n"
                   "      member via istioin_peer dev tunnel_in src host_ip\n"
                   "      ^\n"
                   "ztc: note: give `ztc set` the policy file and -D values that were loaded, or "
                   "`ztc load` this policy first; nothing was changed\n");
  }
  // Another file whose member routes go to another table: a sync would have
  // routed every member there.
  std::string table200 =
      dir.write("table200.zt", example_with("route 100 for pods", "route 200 for pods"));
  Run sync = node.ztc("set sync " + shell_quote(table200) + " pods --from -", "10.244.0.7\n");
  BOOST_TEST(sync.exit_code == 1);
  BOOST_TEST(
      sync.err.find("the loaded policy routes its members via 192.168.126.2 dev istioin "
                    "src 10.244.1.1 table 100; this one routes its members via "
                    "192.168.126.2 dev istioin src 10.244.1.1 table 200\n") != std::string::npos,
      sync.err);
  BOOST_TEST(node.state() == before);

  // The same policy with its defaults spelled out, and one whose capture
  // rules changed: the member routes are the same, so the commands work.
  require_ok(node.set("add pods 10.244.0.6 -D istioin_peer=192.168.126.2"), "same -D");
  std::string other_rules =
      dir.write("rules.zt", "# another edition\n" +
                                example_with("  bypass                              => return",
                                             "  bypass => counter, return"));
  require_ok(node.set("add pods 10.244.0.7", other_rules), "unrelated change");
  BOOST_TEST(node.table100() == pod_route("10.244.0.5") + pod_route("10.244.0.6") +
                                    pod_route("10.244.0.7") + kZtunnelRoute);
}

BOOST_AUTO_TEST_CASE(a_set_loaded_by_an_older_ztc_needs_one_reload,
                     *boost::unit_test::label("kernel")) {
  Node node;
  TempDir dir;
  loaded(node);
  require_ok(node.set("add pods 10.244.0.5"), "set add");
  // What ztc before the member-route records left: the same table, the set
  // without its comment (the members as they were).
  auto emitted =
      run_command(shell_quote(kZtc) + " compile " + shell_quote(kExample) + " --emit nft");
  BOOST_REQUIRE(emitted.exit_code == 0);
  std::string old_table;
  std::istringstream lines(emitted.output);
  for (std::string text; std::getline(lines, text);) {
    if (text.find("comment \"ztc member routes:") == std::string::npos) old_table += text + "\n";
  }
  std::string file = dir.write("old.nft", old_table);
  node.must("nft -f " + shell_quote(file) + " && nft add element ip ztunnel pods { 10.244.0.5 }");
  BOOST_TEST(node.elements().find("ztc member routes") == std::string::npos, node.elements());
  std::string before = node.state();

  Run refused = node.set("add pods 10.244.0.6");
  BOOST_TEST(refused.exit_code == 1);
  BOOST_TEST(refused.err.find("error: set 'pods' of table ip ztunnel does not record which member "
                              "routes it was loaded with (an older ztc loaded it): run `ztc load` "
                              "with this policy once (members are kept)\n") != std::string::npos,
             refused.err);
  BOOST_TEST(node.state() == before);

  Run reload = node.ztc("load " + shell_quote(kExample));
  require_ok(reload, "reload");
  BOOST_TEST(reload.out.find("(1 member kept)") != std::string::npos, reload.out);
  require_ok(node.set("add pods 10.244.0.6"), "set add after the reload");
  BOOST_TEST(node.set("list pods").out == "10.244.0.5\n10.244.0.6\n");
}

BOOST_AUTO_TEST_CASE(addresses_no_pod_can_have_are_refused, *boost::unit_test::label("kernel")) {
  Node node;
  TempDir dir;
  loaded(node);
  std::string before = node.state();
  const std::string suffix =
      " cannot be a pod (a set declared `managed any_address` may hold it)\n";
  Run refused = node.set(
      "add pods 10.244.0.5 127.0.0.1 224.0.0.251 255.255.255.255 0.0.0.0 "
      "169.254.169.254 10.244.1.1 192.168.126.1");
  BOOST_TEST(refused.exit_code == 1);
  BOOST_TEST(refused.out == "");
  BOOST_TEST(
      refused.err ==
      "ztc: error: element '127.0.0.1' of set 'pods': a loopback address" + suffix +
          "ztc: error: element '224.0.0.251' of set 'pods': a multicast address" + suffix +
          "ztc: error: element '255.255.255.255' of set 'pods': the broadcast address" + suffix +
          "ztc: error: element '0.0.0.0' of set 'pods': an unspecified address" + suffix +
          "ztc: error: element '169.254.169.254' of set 'pods': a link-local address" + suffix +
          "ztc: error: element '10.244.1.1' of set 'pods': an address of this node (on "
          "veth1ae58883)" +
          suffix +
          "ztc: error: element '192.168.126.1' of set 'pods': an address of this node (on "
          "istioin)" +
          suffix + "ztc: note: nothing was changed\n");
  Run sync =
      node.ztc("set sync " + shell_quote(kExample) + " pods --from -", "10.244.0.5\n127.0.0.1\n");
  BOOST_TEST(sync.exit_code == 1);
  BOOST_TEST(sync.err.find("<stdin>:2:1: error: element '127.0.0.1' of set 'pods': a loopback "
                           "address cannot be a pod") == 0u,
             sync.err);
  BOOST_TEST(node.state() == before);

  // A set that says `any_address` takes them.
  std::string any = dir.write(
      "any.zt", example_with("set pods: ipv4 managed", "set pods: ipv4 managed any_address"));
  loaded(node, any);
  Run taken = node.set("add pods 10.244.1.1", any);
  require_ok(taken, "set add to an any_address set");
  BOOST_TEST(taken.out == "set pods: 1 added; routes: 1 added\n");
}

BOOST_AUTO_TEST_CASE(many_members_in_one_call, *boost::unit_test::label("kernel")) {
  Node node;
  TempDir dir;
  loaded(node);
  std::string many, half;
  for (int i = 0; i < 5000; ++i) {
    std::string pod = "10.245." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    many += pod + " comment \"uid-" + std::to_string(i) + "\"\n";
    if (i % 2 == 0) half += pod + " comment \"uid-" + std::to_string(i) + "\"\n";
  }
  std::string all_file = dir.write("all.txt", many), half_file = dir.write("half.txt", half);
  Run sync = node.set("sync pods --from " + shell_quote(all_file));
  require_ok(sync, "sync 5000");
  BOOST_TEST(sync.out == "set pods: 5000 added; routes: 5000 added\n");
  BOOST_TEST(node.must("ip route show table 100 | grep -c ' proto 12[23] '") == "5001\n");
  // All of them again in one `add` (more than the lookup limit: one listing).
  std::string words;
  std::istringstream lines(many);
  for (std::string line; std::getline(lines, line);) words += " " + line.substr(0, line.find(' '));
  Run again = node.set("add pods" + words);
  require_ok(again, "add 5000 present");
  BOOST_TEST(again.out == "set pods: 5000 already members\n");
  Run shrink = node.set("sync pods --from " + shell_quote(half_file));
  require_ok(shrink, "sync 2500");
  BOOST_TEST(shrink.out == "set pods: 2500 removed, 2500 unchanged; routes: 2500 removed\n");
  BOOST_TEST(node.set("list pods").out.size() == half.size());
  BOOST_TEST(node.must("ip route show table 100 | grep -c ' proto 12[23] '") == "2501\n");
}

BOOST_AUTO_TEST_CASE(dual_stack_sets_enrol_each_family, *boost::unit_test::label("kernel")) {
  Node node;
  node.must(
      "ip addr add fd00:126::1/64 dev istioin nodad && "
      "ip addr add fd00:127::1/64 dev istioout nodad && "
      "ip addr add fd00:10:244:1::1/64 dev veth1ae58883 nodad");
  loaded(node, kDualStack);
  require_ok(node.set("add pods6 fd00:10:244::5 comment uid-6", kDualStack), "add pods6");
  require_ok(node.set("add pods 10.244.0.5", kDualStack), "add pods");
  BOOST_TEST(
      node.must("ip -6 route show table 100")
          .find("fd00:10:244::5 via fd00:126::2 dev istioin proto 123 src fd00:10:244:1::1") !=
      std::string::npos);
  BOOST_TEST(node.set("list pods6", kDualStack).out == "fd00:10:244::5 comment \"uid-6\"\n");
  Run wrong = node.set("add pods6 10.244.0.6", kDualStack);
  BOOST_TEST(wrong.exit_code == 1);
  BOOST_TEST(wrong.err ==
             "ztc: error: element '10.244.0.6' of set 'pods6' (ipv6): not an IPv6 address\n");
  require_ok(node.set("del pods6 fd00:10:244::5", kDualStack), "del pods6");
  BOOST_TEST(node.must("ip -6 route show table 100 proto 123").find("fd00:10:244::5") ==
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_held_lock_makes_set_add_wait, *boost::unit_test::label("kernel")) {
  Node node;
  loaded(node);
  std::unique_ptr<ApplyLock> lock;
  {
    // The lock is per namespace: take it from inside, keep it outside.
    NetnsSwitch in(netns_path(node.name()));
    BOOST_TEST_REQUIRE(in.ok(), in.error());
    lock = std::make_unique<ApplyLock>(nft::Family::ip, "ztunnel", 1000);
    BOOST_TEST_REQUIRE(lock->ok(), lock->error());
  }
  std::atomic<bool> done{false};
  Run result;
  std::thread adder([&] {
    result = node.set("add pods 10.244.0.5");
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  bool waited = !done;
  std::string while_locked = node.elements();
  lock.reset();
  adder.join();
  BOOST_TEST(waited);
  BOOST_TEST(while_locked.find("10.244.0.5") == std::string::npos);
  BOOST_TEST(result.exit_code == 0, result.err);
  BOOST_TEST(node.elements().find("10.244.0.5") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_netlink_reader_reads_every_managed_type,
                     *boost::unit_test::label("kernel")) {
  Node node;
  TempDir dir;
  std::string ruleset =
      dir.write("sets.nft",
                "table inet t {\n"
                "  comment \"managed by ztc\"\n"
                "  set a4 { type ipv4_addr; elements = { 10.0.0.1 comment \"one\", 10.0.0.2 } }\n"
                "  set a6 { type ipv6_addr; elements = { fd00::1, 2001:db8::2 comment \"x y\" } }\n"
                "  set p { type inet_service; elements = { 53, 6081 } }\n"
                "  set i { type ifname; elements = { \"istioin\", \"veth1ae58883\" } }\n"
                "  set r { type ipv4_addr; flags interval; elements = { 10.1.0.0/16 } }\n"
                "}\n");
  node.must("nft -f " + shell_quote(ruleset));
  NetnsSwitch in(netns_path(node.name()));
  BOOST_TEST_REQUIRE(in.ok(), in.error());
  std::string error;
  std::unique_ptr<nft::NetlinkSetReader> reader = nft::NetlinkSetReader::open(&error);
  BOOST_TEST_REQUIRE(static_cast<bool>(reader), error);
  struct Case {
    std::string set, type;
    std::vector<std::string> members;  // as member_line prints them, in any order
    std::vector<std::string> absent;
  };
  std::vector<Case> cases = {
      {"a4", "ipv4_addr", {"10.0.0.1 comment one", "10.0.0.2"}, {"10.0.0.3", "fd00::1", "x"}},
      {"a6", "ipv6_addr", {"fd00::1", "2001:db8::2 comment x y"}, {"fd00::2", "10.0.0.1"}},
      {"p", "inet_service", {"53", "6081"}, {"54", "65536"}},
      {"i", "ifname", {"\"istioin\"", "\"veth1ae58883\""}, {"\"istioout\"", "istioin"}},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.set) {
      nft::SetDescription description;
      BOOST_TEST_REQUIRE(!reader->describe(nft::Family::inet, "t", c.set, &description));
      BOOST_TEST(description.table_exists);
      BOOST_TEST(description.table_comment == "managed by ztc");
      BOOST_TEST(description.set_exists);
      BOOST_TEST(description.type == c.type);
      std::vector<nft::Element> listed;
      BOOST_TEST_REQUIRE(!reader->list(nft::Family::inet, "t", c.set, &listed));
      std::vector<std::string> lines;
      for (const nft::Element& e : listed) {
        lines.push_back(e.value + (e.comment.empty() ? "" : " comment " + e.comment));
      }
      std::sort(lines.begin(), lines.end());
      std::vector<std::string> expected = c.members;
      std::sort(expected.begin(), expected.end());
      BOOST_TEST(lines == expected, boost::test_tools::per_element());
      std::vector<std::string> values;
      for (const std::string& m : c.members) values.push_back(m.substr(0, m.find(' ')));
      values.insert(values.end(), c.absent.begin(), c.absent.end());
      std::vector<std::optional<nft::Element>> found;
      BOOST_TEST_REQUIRE(!reader->find(nft::Family::inet, "t", c.set, values, &found));
      BOOST_TEST_REQUIRE(found.size() == values.size());
      for (size_t i = 0; i < values.size(); ++i) {
        BOOST_TEST(found[i].has_value() == (i < c.members.size()), values[i]);
        if (found[i]) BOOST_TEST(found[i]->value == values[i]);
      }
    }
  }
  nft::SetDescription interval;
  BOOST_TEST(!reader->describe(nft::Family::inet, "t", "r", &interval));
  BOOST_TEST((interval.flags & 0x4) != 0u);  // NFT_SET_INTERVAL
  nft::SetDescription missing;
  BOOST_TEST(!reader->describe(nft::Family::inet, "t", "nosuch", &missing));
  BOOST_TEST(missing.table_exists);
  BOOST_TEST(!missing.set_exists);
  BOOST_TEST(!reader->describe(nft::Family::ip, "t", "a4", &missing));  // another family
  BOOST_TEST(!missing.table_exists);
  std::vector<std::optional<nft::Element>> found;
  BOOST_TEST(reader->find(nft::Family::inet, "t", "nosuch", {"10.0.0.1"}, &found).value_or("") ==
             "no such set");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc
