// `ztc load / diff / unload / status` end to end: the real binary, with
// --netns, on throwaway network namespaces that look like an ambient node
// (istioin, istioout and the ztunnel veth, with the example's addresses).
// Nothing here touches the root namespace's ruleset, rules, routes or
// sysctls; every namespace is deleted when its test ends, failed or not.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "backend/apply_lock.h"
#include "backend/netns.h"
#include "backend/nft_canonical.h"
#include "testsupport/ambient_node.h"
#include "testsupport/files.h"

namespace ztc {
namespace {

const std::string kZtc = ZTC_BINARY;
const std::string kExample = std::string(ZTC_SOURCE_DIR) + "/examples/ambient-node.zt";

using testing::AmbientNode;
using testing::line_of;
using testing::read_file;
using testing::TempDir;
using Run = testing::ZtcRun;

// The example with `from` replaced by `to` (each must occur exactly once).
std::string example_with(const std::vector<std::pair<std::string, std::string>>& swaps) {
  return testing::replaced_once(read_file(kExample), swaps);
}

// Members put in by hand, with the mark a whole load leaves until it has
// written the member routes (a load killed before them): the next load
// writes every member route. Without the mark a re-load trusts the member
// routes and touches neither them nor the members.
void enrol_by_hand(const AmbientNode& node, const std::string& table, const std::string& commands) {
  node.must(commands + " && nft add chain " + table + " ztc_member_routes_pending");
}

std::string line_text(const std::string& file, int wanted) {
  std::istringstream lines(read_file(file));
  int number = 0;
  for (std::string line; std::getline(lines, line);) {
    if (++number == wanted) return line;
  }
  return "";
}

// What the node holds, as the standard tools print it.
struct Snapshot {
  std::string ruleset, rules, routes, sysctls;
  bool operator==(const Snapshot& o) const {
    return ruleset == o.ruleset && rules == o.rules && routes == o.routes && sysctls == o.sysctls;
  }
};

std::ostream& operator<<(std::ostream& out, const Snapshot& s) {
  return out << "--- nft list ruleset\n"
             << s.ruleset << "--- ip rule\n"
             << s.rules << "--- ip route show table all\n"
             << s.routes << "--- sysctls\n"
             << s.sysctls;
}

// What the node holds that a load may change, as the standard tools print it.
Snapshot snapshot(const AmbientNode& node) {
  // Stateless: the rule counters count whatever the kernel sends meanwhile.
  // Objects sorted: their order is the order they were added in, which a
  // rollback of an incremental re-load changes (nft_canonical.h).
  return {nft::with_sorted_objects(node.must("nft -s list ruleset")),
          node.must("ip -4 rule; ip -6 rule"), node.routes(), node.sysctls()};
}

void require_ok(const Run& run, const std::string& what) {
  BOOST_REQUIRE_MESSAGE(run.exit_code == 0, what << ": exit " << run.exit_code << "\nstdout:\n"
                                                 << run.out << "stderr:\n"
                                                 << run.err);
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n') + 1); }

const char* const kNoDifferences = "no differences\n";
const std::string kDryRunLimits =
    "# not checked without writing: a route of another program at the same table, destination "
    "and metric; a sysctl that reads but cannot be written (the load then fails and undoes "
    "itself)\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(load_kernel)

BOOST_AUTO_TEST_CASE(load_twice_changes_nothing_the_second_time,
                     *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-load");
  auto started = std::chrono::steady_clock::now();
  Run first = node.ztc("load " + shell_quote(kExample));
  double first_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  require_ok(first, "first load");
  BOOST_TEST(first.err == "");
  BOOST_TEST(first_line(first.out) != "loaded table ip ztunnel; routing: 0 changes\n");
  Snapshot after_first = snapshot(node);
  BOOST_TEST(after_first.ruleset.find("table ip ztunnel {") != std::string::npos);

  started = std::chrono::steady_clock::now();
  Run second = node.ztc("load " + shell_quote(kExample));
  double second_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  require_ok(second, "second load");
  BOOST_TEST(second.out ==
             "loaded table ip ztunnel (nft: 0 changes, members untouched); routing: 0 changes\n");
  BOOST_TEST(second.err == "");
  Snapshot after_second = snapshot(node);
  BOOST_TEST(after_first == after_second);
  Run diff = node.ztc("diff --members " + shell_quote(kExample));
  BOOST_TEST(diff.exit_code == 0);
  BOOST_TEST(diff.out == kNoDifferences);
  BOOST_TEST_MESSAGE("ztc load of the example (process start to exit): first "
                     << first_ms << " ms, re-load " << second_ms << " ms");
}

BOOST_AUTO_TEST_CASE(a_missing_device_fails_at_the_route_and_changes_nothing,
                     *boost::unit_test::label("kernel")) {
  TempDir dir;
  std::string ghost = dir.write(
      "ghost.zt", example_with({{"iface ztunnel    = ztunnel_veth\n",
                                 "iface ztunnel    = ztunnel_veth\niface ghost = \"ghost0\"\n"},
                                {"default via istioout_peer dev tunnel_out",
                                 "default via istioout_peer dev ghost"}}));
  int line = line_of(ghost, "dev ghost");
  std::string expected = ghost + ":" + std::to_string(line) +
                         ":3: error: device \"ghost0\" does not exist\n" + "    " +
                         line_text(ghost, line) + "\n      ^\n" +
                         "ztc: load failed; the node was left as it was\n";
  AmbientNode node("ztc-load");
  // On an empty node, then over a loaded (other) version with enrolled pods.
  for (bool loaded_before : {false, true}) {
    BOOST_TEST_CONTEXT("loaded before: " << loaded_before) {
      if (loaded_before) {
        require_ok(node.ztc("load " + shell_quote(kExample)), "load of the example");
        node.must("nft add element ip ztunnel pods '{ 10.244.1.5 comment \"uid-5\" }'");
        require_ok(node.ztc("load " + shell_quote(kExample)), "load with a member");
      }
      Snapshot before = snapshot(node);
      for (const char* dry : {"", "--dry-run "}) {
        Run failed = node.ztc(std::string("load ") + dry + shell_quote(ghost));
        BOOST_TEST(failed.exit_code == 1);
        BOOST_TEST(failed.out == "");
        BOOST_TEST(failed.err == expected);
        BOOST_TEST(snapshot(node) == before);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_routing_failure_after_the_nft_commit_restores_everything,
                     *boost::unit_test::label("kernel")) {
  TempDir dir;
  // The nft table changes too (another bypass port), so a restore shows. The
  // new route's key is held by a route of another program: only the write
  // finds that (ztc reads only its own routes), after the nft commit.
  std::string blocked = dir.write(
      "blocked.zt", example_with({{"bypass udp 6081", "bypass udp 6082"},
                                  {"default via istioout_peer dev tunnel_out\n",
                                   "default via istioout_peer dev tunnel_out\n"
                                   "  10.98.0.0/16 via istioout_peer dev tunnel_out\n"}}));
  int line = line_of(blocked, "10.98.0.0/16 via");
  std::string at = blocked + ":" + std::to_string(line) + ":3: ";
  std::string source = "    " + line_text(blocked, line) + "\n      ^\n";
  AmbientNode node("ztc-load");
  node.must("ip route add 10.98.0.0/16 dev istioout table 101 proto static");
  for (bool loaded_before : {false, true}) {
    BOOST_TEST_CONTEXT("loaded before: " << loaded_before) {
      if (loaded_before) {
        require_ok(node.ztc("load " + shell_quote(kExample)), "load of the example");
        node.must("nft add element ip ztunnel pods '{ 10.244.1.5 comment \"uid-5\", 10.244.1.6 }'");
        require_ok(node.ztc("load " + shell_quote(kExample)), "load with members");
      }
      Snapshot before = snapshot(node);
      Run failed = node.ztc("load " + shell_quote(blocked));
      BOOST_TEST(failed.exit_code == 1);
      BOOST_TEST(failed.out == "");
      // Preflight sees the foreign route first and warns (the load goes on).
      size_t error_at = failed.err.find(at + "error: ");
      BOOST_REQUIRE(error_at != std::string::npos);
      const std::string warning = failed.err.substr(0, error_at);
      BOOST_TEST(warning.find(": warning: route-table: ip route 10.98.0.0/16 dev istioout table "
                              "101") != std::string::npos);
      BOOST_TEST(failed.err.substr(error_at) ==
                 at +
                     "error: cannot add -4 route 10.98.0.0/16 via 192.168.127.2 dev istioout "
                     "table 101: File exists" +
                     // A re-load's writes look up who holds a key (a member route may).
                     (loaded_before ? " (a route to 10.98.0.0/16 in table 101 exists that ztc "
                                      "does not own)"
                                    : "") +
                     "\n" + source + at + "note: routing changes made so far were rolled back\n" +
                     source + at + "note: " +
                     (loaded_before ? "the previous nft table was restored"
                                    : "the new nft table was removed") +
                     "; nothing changed\n" + source +
                     "ztc: load failed; the node was left as it was\n");
      Snapshot after = snapshot(node);
      BOOST_TEST(after == before);
    }
  }
}

BOOST_AUTO_TEST_CASE(foreign_tables_rules_and_routes_are_never_touched,
                     *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-load");
  // kube-proxy at the same hooks, a table of ztc's name in another family,
  // rules and routes of another owner, in ztc's own route tables too.
  node.must(
      "nft -f - <<'EOF'\n"
      "table ip kube-proxy {\n"
      "  chain nat-prerouting {\n"
      "    type nat hook prerouting priority dstnat; policy accept;\n"
      "    ip daddr 10.96.0.10 tcp dport 53 dnat to 10.244.1.9:53\n"
      "  }\n"
      "  chain mangle-prerouting {\n"
      "    type filter hook prerouting priority mangle; policy accept;\n"
      "    meta mark 0x4000 counter\n"
      "  }\n"
      "}\n"
      "table ip6 ztunnel {\n"
      "  chain c {\n"
      "  }\n"
      "}\n"
      "EOF\n"
      "ip rule add prio 100 fwmark 0x200/0x200 lookup 200 && "
      "ip rule add prio 101 from 10.9.0.0/16 lookup 101 && "
      "ip route add 10.50.0.0/16 dev istioin table 100 && "
      "ip route add 10.51.0.0/16 via 192.168.127.2 table 101 && "
      "ip route add default via 192.168.126.2 table 200");
  Snapshot before = snapshot(node);
  std::string foreign_tables =
      node.must("nft -s list table ip kube-proxy; nft -s list table ip6 ztunnel");
  std::string foreign_rules = node.must("ip rule | grep -v 'proto 122'");
  std::string foreign_routes = node.must("ip route show table all | grep -v 'proto 12[23]'");

  for (const char* step : {"load", "re-load"}) {
    BOOST_TEST_CONTEXT(step) {
      require_ok(node.ztc("load " + shell_quote(kExample)), step);
      BOOST_TEST(node.must("nft -s list table ip kube-proxy; nft -s list table ip6 ztunnel") ==
                 foreign_tables);
      BOOST_TEST(node.must("ip rule | grep -v 'proto 122'") == foreign_rules);
      BOOST_TEST(node.must("ip route show table all | grep -v 'proto 12[23]'") == foreign_routes);
      BOOST_TEST(node.must("nft list tables") ==
                 "table ip kube-proxy\ntable ip6 ztunnel\ntable ip ztunnel\n");
      Run diff = node.ztc("diff --members " + shell_quote(kExample));
      BOOST_TEST(diff.exit_code == 0);
      BOOST_TEST(diff.out == kNoDifferences);
    }
  }
  Run unloaded = node.ztc("unload " + shell_quote(kExample));
  require_ok(unloaded, "unload");
  Snapshot after = snapshot(node);
  // Everything as before but the sysctls the policy set (unload leaves them).
  BOOST_TEST(after.ruleset == before.ruleset);
  BOOST_TEST(after.rules == before.rules);
  BOOST_TEST(after.routes == before.routes);
}

BOOST_AUTO_TEST_CASE(drift_is_reported_and_repaired, *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-load");
  require_ok(node.ztc("load " + shell_quote(kExample)), "load");
  // By hand: one nft rule and one ip rule of ztc's go away.
  std::string handle = node.must(
      "nft -a list chain ip ztunnel prerouting | sed -n 's/.*udp dport 6081 counter name "
      "\"[a-z0-9_]*\" return # handle //p'");
  BOOST_TEST_REQUIRE(!handle.empty());
  node.must("nft delete rule ip ztunnel prerouting handle " + handle);
  node.must("ip rule del prio 102 fwmark 0x40/0x40 lookup 102");

  Run drift = node.ztc("diff --members " + shell_quote(kExample));
  BOOST_TEST(drift.exit_code == 1);
  BOOST_TEST(drift.err == "");
  BOOST_TEST(drift.out ==
             "--- nft (live)\n"
             "+++ nft (policy)\n"
             "+ \t\tudp dport 6081 counter name \"prerouting_7f320603e055\" return\n"
             "--- routing (live)\n"
             "+++ routing (policy)\n"
             "+ -4 rule prio 102 fwmark 0x40/0x40 lookup 102\n");

  Run repair = node.ztc("load " + shell_quote(kExample));
  require_ok(repair, "repairing load");
  BOOST_TEST(repair.out ==
             "loaded table ip ztunnel (nft: 1 change, members untouched); routing: 1 change\n"
             "~ chain prerouting\n"
             "+ -4 rule prio 102 fwmark 0x40/0x40 lookup 102\n");
  Run clean = node.ztc("diff --members " + shell_quote(kExample));
  BOOST_TEST(clean.exit_code == 0);
  BOOST_TEST(clean.out == kNoDifferences);
}

BOOST_AUTO_TEST_CASE(unload_leaves_nothing_of_ztc_and_twice_is_fine,
                     *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-load");
  Snapshot empty = snapshot(node);
  require_ok(node.ztc("load " + shell_quote(kExample)), "load");
  enrol_by_hand(node, "ip ztunnel", "nft add element ip ztunnel pods '{ 10.244.1.5, 10.244.1.6 }'");
  require_ok(node.ztc("load " + shell_quote(kExample)), "load with members");
  BOOST_TEST_REQUIRE(node.ztc_routes().find("10.244.1.5 via 192.168.126.2") != std::string::npos);

  Run unloaded = node.ztc("unload " + shell_quote(kExample));
  require_ok(unloaded, "unload");
  BOOST_TEST(first_line(unloaded.out) ==
             "removed table ip ztunnel; routing: 11 entries removed; sysctls: 3 put back\n");
  BOOST_TEST(node.must("nft list ruleset") == "");
  BOOST_TEST(node.ztc_rules() == "");
  BOOST_TEST(node.ztc_routes() == "");
  Snapshot after = snapshot(node);
  BOOST_TEST(after.ruleset == empty.ruleset);
  BOOST_TEST(after.rules == empty.rules);
  BOOST_TEST(after.routes == empty.routes);

  Run again = node.ztc("unload " + shell_quote(kExample));
  BOOST_TEST(again.exit_code == 0);
  BOOST_TEST(again.out == "no table managed by ztc; routing: 0 entries removed\n");
  BOOST_TEST(again.err == "");
}

BOOST_AUTO_TEST_CASE(a_renamed_table_replaces_the_old_one, *boost::unit_test::label("kernel")) {
  TempDir dir;
  std::string renamed =
      dir.write("renamed.zt", example_with({{"table ip ztunnel\n", "table ip ztunnel2\n"}}));
  AmbientNode node("ztc-load");
  require_ok(node.ztc("load " + shell_quote(kExample)), "load");
  Run diff = node.ztc("diff --members " + shell_quote(renamed));
  BOOST_TEST(diff.exit_code == 1);
  BOOST_TEST(diff.out ==
             "+ (the owned nft table is not loaded)\n"
             "- (table ip ztunnel is managed by ztc but not by this policy)\n");
  Run refused = node.ztc("load " + shell_quote(renamed));
  BOOST_TEST(refused.exit_code == 1);
  BOOST_TEST(refused.err ==
             renamed +
                 ":12:1: error: loading table ip ztunnel2 would remove table ip ztunnel; "
                 "nothing was changed (--replace to do it)\n"
                 "    table ip ztunnel2\n"
                 "    ^\n"
                 "ztc: load failed; the node was left as it was\n");
  Run load = node.ztc("load " + shell_quote(renamed) + " --replace");
  require_ok(load, "load of the renamed table");
  BOOST_TEST(load.out ==
             "loaded table ip ztunnel2; removed table ip ztunnel; routing: 0 changes\n");
  BOOST_TEST(node.must("nft list tables") == "table ip ztunnel2\n");
  // Unloading with the old policy still removes what ztc owns.
  Run unload = node.ztc("unload " + shell_quote(kExample));
  require_ok(unload, "unload");
  BOOST_TEST(first_line(unload.out) ==
             "removed table ip ztunnel2; routing: 9 entries removed; sysctls: 3 put back\n");
  BOOST_TEST(node.must("nft list ruleset") == "");
}

BOOST_AUTO_TEST_CASE(a_table_of_the_same_name_that_is_not_ztcs_is_refused,
                     *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-load");
  node.must("nft add table ip ztunnel && nft add chain ip ztunnel c");
  Snapshot before = snapshot(node);
  Run load = node.ztc("load " + shell_quote(kExample));
  BOOST_TEST(load.exit_code == 1);
  int line = line_of(kExample, "table ip ztunnel");
  BOOST_TEST(load.err == kExample + ":" + std::to_string(line) +
                             ":1: error: table ip ztunnel exists and is not managed by ztc (no "
                             "comment \"managed by ztc\"); refusing to replace it\n"
                             "    table ip ztunnel\n"
                             "    ^\n"
                             "ztc: load failed; the node was left as it was\n");
  Run unload = node.ztc("unload " + shell_quote(kExample));
  BOOST_TEST(unload.exit_code == 0);
  BOOST_TEST(unload.err == "warning: table ip ztunnel is not managed by ztc; left in place\n");
  BOOST_TEST(snapshot(node) == before);
}

BOOST_AUTO_TEST_CASE(concurrent_loads_end_in_one_consistent_state,
                     *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-load");
  TempDir dir;
  // 3000 enrolled pods whose routes are missing: each load has 3000 routes to
  // add, a wide window for two unserialised loads to collide.
  require_ok(node.ztc("load " + shell_quote(kExample)), "first load");
  std::string elements;
  for (int i = 0; i < 3000; ++i) {
    elements += (i ? ", " : "") + std::string("10.244.") + std::to_string(2 + i / 250) + "." +
                std::to_string(1 + i % 250);
  }
  enrol_by_hand(node, "ip ztunnel", "nft add element ip ztunnel pods '{ " + elements + " }'");
  const int kLoads = 4;
  std::string script;
  for (int i = 0; i < kLoads; ++i) {
    script += "( " + shell_quote(kZtc) + " load " + shell_quote(kExample) + " --netns " +
              shell_quote(node.name()) + "; echo \"exit $?\" ) >" + dir.path() + "/" +
              std::to_string(i) + " 2>&1 &\n";
  }
  script += "wait\n";
  BOOST_TEST_REQUIRE(run_command(script).exit_code == 0);
  int changed = 0;
  for (int i = 0; i < kLoads; ++i) {
    // Without the lines of the loads that waited for the lock.
    std::string out;
    std::istringstream lines(read_file(dir.path() + "/" + std::to_string(i)));
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("ztc: waiting for the lock of namespace " + node.name() + " held by pid ",
                     0) != 0) {
        out += line + "\n";
      }
    }
    BOOST_TEST_CONTEXT("load " << i << ":\n" << first_line(out) << "...") {
      BOOST_TEST(out.size() >= 7u);
      BOOST_TEST(out.substr(out.size() - 7) == "exit 0\n");
      if (first_line(out) !=
          "loaded table ip ztunnel (nft: 0 changes, members untouched); routing: 0 changes\n") {
        ++changed;
      }
    }
  }
  // One load did the routing; the others, serialised behind it, found nothing to do.
  BOOST_TEST(changed == 1);
  BOOST_TEST(node.must("ip route show table 100 proto 123 | grep -c ' via '") == "3000\n");
  BOOST_TEST(node.must("nft list tables") == "table ip ztunnel\n");
  BOOST_TEST(node.ztc_rules() ==
             "100:\tfrom all fwmark 0x200/0x200 goto 32766 proto 122\n"
             "101:\tfrom all fwmark 0x100/0x100 lookup 101 proto 122\n"
             "102:\tfrom all fwmark 0x40/0x40 lookup 102 proto 122\n"
             "103:\tfrom all lookup 100 proto 122\n");
  Run diff = node.ztc("diff --members " + shell_quote(kExample));
  BOOST_TEST(diff.exit_code == 0);
  BOOST_TEST(diff.out == kNoDifferences);
}

BOOST_AUTO_TEST_CASE(a_held_lock_makes_load_wait, *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-load");
  std::unique_ptr<ApplyLock> lock;
  {
    // The lock is per namespace: take it from inside, keep it outside.
    NetnsSwitch in(netns_path(node.name()));
    BOOST_TEST_REQUIRE(in.ok(), in.error());
    lock = std::make_unique<ApplyLock>(nft::Family::ip, "ztunnel", 1000);
    BOOST_TEST_REQUIRE(lock->ok(), lock->error());
    ApplyLock second(nft::Family::ip, "other", 100);  // another table: the same lock
    BOOST_TEST(!second.ok());
    BOOST_TEST(second.error().find("gave up waiting for the lock of namespace net:[") == 0u,
               second.error());
  }
  std::atomic<bool> done{false};
  Run result;
  std::thread loader([&] {
    result = node.ztc("load " + shell_quote(kExample));
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  bool waited = !done;
  std::string tables_while_locked = node.must("nft list tables");
  lock.reset();
  loader.join();
  BOOST_TEST(waited);
  BOOST_TEST(tables_while_locked == "");
  BOOST_TEST(result.exit_code == 0, result.err);
  BOOST_TEST(node.must("nft list tables") == "table ip ztunnel\n");
}

BOOST_AUTO_TEST_CASE(managed_set_members_survive_reloads, *boost::unit_test::label("kernel")) {
  TempDir dir;
  std::string changed =
      dir.write("changed.zt", example_with({{"bypass udp 6081", "bypass udp 6082"}}));
  AmbientNode node("ztc-load");
  require_ok(node.ztc("load " + shell_quote(kExample)), "load");
  // Enrolled by hand (what `ztc set add` does to the set).
  enrol_by_hand(node, "ip ztunnel",
                "nft add element ip ztunnel pods '{ 10.244.1.5 comment \"uid-5\", 10.244.1.6 }'");
  const std::string members =
      "table ip ztunnel {\n"
      "\tset pods {\n"
      "\t\ttype ipv4_addr\n"
      "\t\tcomment \"ztc member routes: via 192.168.126.2 dev istioin src 10.244.1.1 "
      "table 100\"\n"
      "\t\telements = { 10.244.1.5 comment \"uid-5\", 10.244.1.6 }\n"
      "\t}\n"
      "}\n";
  const std::string member_routes =
      "10.244.1.5 via 192.168.126.2 dev istioin proto 123 src 10.244.1.1 \n"
      "10.244.1.6 via 192.168.126.2 dev istioin proto 123 src 10.244.1.1 \n";

  Run same = node.ztc("load " + shell_quote(kExample));
  require_ok(same, "re-load of the same policy");
  BOOST_TEST(same.out ==
             "loaded table ip ztunnel (2 members kept); routing: 2 changes\n"
             "+ -4 route 10.244.1.5 via 192.168.126.2 dev istioin src 10.244.1.1 table 100\n"
             "+ -4 route 10.244.1.6 via 192.168.126.2 dev istioin src 10.244.1.1 table 100\n");
  BOOST_TEST(node.must("nft list set ip ztunnel pods") == members);
  BOOST_TEST(node.must("ip route show table 100 | grep ' via '") == member_routes);

  Run other = node.ztc("load " + shell_quote(changed));
  require_ok(other, "load of a changed policy");
  BOOST_TEST(other.out ==
             "loaded table ip ztunnel (nft: 3 changes, members untouched); routing: 0 changes\n"
             "+ counter prerouting_0e88d3058e02\n"  // the edited rule's (rule_counters.h)
             "~ chain prerouting\n"
             "- counter prerouting_7f320603e055\n");
  BOOST_TEST(node.must("nft list set ip ztunnel pods") == members);
  BOOST_TEST(node.must("ip route show table 100 | grep ' via '") == member_routes);
  BOOST_TEST(node.must("nft list chain ip ztunnel prerouting")
                 .find("udp dport 6082 counter name \"prerouting_") != std::string::npos);
  Run diff = node.ztc("diff --members " + shell_quote(changed));
  BOOST_TEST(diff.exit_code == 0);
  BOOST_TEST(diff.out == kNoDifferences);
}

BOOST_AUTO_TEST_CASE(dual_stack_reload_is_idempotent_in_both_families,
                     *boost::unit_test::label("kernel")) {
  const std::string policy = std::string(ZTC_SOURCE_DIR) + "/examples/dual-stack.zt";
  AmbientNode node("ztc-load");
  node.must(
      "ip addr add fd00:126::1/64 dev istioin nodad && "
      "ip addr add fd00:127::1/64 dev istioout nodad && "
      "ip addr add fd00:10:244:1::1/64 dev veth1ae58883 nodad");
  require_ok(node.ztc("load " + shell_quote(policy)), "load");
  enrol_by_hand(node, "inet ztunnel",
                "nft add element inet ztunnel pods '{ 10.244.1.5 }' && "
                "nft add element inet ztunnel pods6 '{ fd00:10:244:1::5 comment \"uid-5\" }'");
  Run members = node.ztc("load " + shell_quote(policy));
  require_ok(members, "load with members");
  BOOST_TEST(
      members.out ==
      "loaded table inet ztunnel (2 members kept); routing: 2 changes\n"
      "+ -4 route 10.244.1.5 via 192.168.126.2 dev istioin src 10.244.1.1 table 100\n"
      "+ -6 route fd00:10:244:1::5 via fd00:126::2 dev istioin src fd00:10:244:1::1 table 100\n");
  Snapshot loaded = snapshot(node);
  Run again = node.ztc("load " + shell_quote(policy));
  require_ok(again, "re-load");
  BOOST_TEST(again.out ==
             "loaded table inet ztunnel (nft: 0 changes, members untouched); routing: 0 changes\n");
  BOOST_TEST(snapshot(node) == loaded);
  Run diff = node.ztc("diff --members " + shell_quote(policy));
  BOOST_TEST(diff.exit_code == 0);
  BOOST_TEST(diff.out == kNoDifferences);
  require_ok(node.ztc("unload " + shell_quote(policy)), "unload");
  BOOST_TEST(node.must("nft list ruleset") == "");
  BOOST_TEST(node.ztc_rules() == "");
  BOOST_TEST(node.ztc_routes() == "");
}

BOOST_AUTO_TEST_CASE(dry_run_changes_nothing_and_prints_the_plan,
                     *boost::unit_test::label("kernel")) {
  TempDir dir;
  std::string changed =
      dir.write("changed.zt", example_with({{"bypass udp 6081", "bypass udp 6082"},
                                            {"rule 103 lookup 100", "rule 104 lookup 100"}}));
  AmbientNode node("ztc-load");
  for (const std::string& policy : {kExample, changed}) {
    BOOST_TEST_CONTEXT(policy) {
      Snapshot before = snapshot(node);
      Run dry = node.ztc("load --dry-run " + shell_quote(policy));
      require_ok(dry, "dry run");
      BOOST_TEST(dry.err == "");
      BOOST_TEST(snapshot(node) == before);
      // The plan: the nft buffer `ztc compile` prints, then the routing
      // changes, which are exactly what the real load then reports.
      CommandResult nft =
          run_command(shell_quote(kZtc) + " compile --emit nft " + shell_quote(policy));
      BOOST_TEST_REQUIRE(nft.exit_code == 0);
      Run real = node.ztc("load " + shell_quote(policy));
      require_ok(real, "load");
      // Its routing changes ("+ -4 rule ...", "~ sysctl ..."), without the
      // nft objects a re-load also names ("~ chain prerouting", "+ counter ...").
      std::string changes;
      std::istringstream real_lines(real.out.substr(first_line(real.out).size()));
      for (std::string line; std::getline(real_lines, line);) {
        bool routing = line.compare(1, 3, " -4") == 0 || line.compare(1, 3, " -6") == 0 ||
                       line.rfind("~ sysctl ", 0) == 0;
        if (routing) changes += line + "\n";
      }
      size_t count = static_cast<size_t>(std::count(changes.begin(), changes.end(), '\n'));
      BOOST_TEST(count > 0u);
      BOOST_TEST(dry.out == "# dry run: the kernel accepted the table; nothing was changed\n" +
                                nft.output + "# routing changes that a load would make: " +
                                std::to_string(count) + "\n" + changes + kDryRunLimits);
    }
  }
  Run unload_dry = node.ztc("unload --dry-run " + shell_quote(kExample));
  Snapshot loaded = snapshot(node);
  require_ok(unload_dry, "unload dry run");
  BOOST_TEST(first_line(unload_dry.out) ==
             "would remove table ip ztunnel; routing: 9 entries to remove; sysctls: 3 to put "
             "back\n");
  BOOST_TEST(snapshot(node) == loaded);
}

// A dry run asks the kernel what it checks of a route's addresses when it
// adds one (RTM_GETROUTE, no write): a gateway not reached on its device and
// a src the node does not have are refused by the dry run as by the load.
BOOST_AUTO_TEST_CASE(dry_run_refuses_the_gateways_and_sources_the_kernel_would,
                     *boost::unit_test::label("kernel")) {
  TempDir dir;
  AmbientNode node("ztc-load");
  require_ok(node.ztc("load " + shell_quote(kExample)), "load");
  struct Case {
    std::string from, to, reason;
  };
  const std::vector<Case> cases = {
      {"default via istioout_peer dev tunnel_out", "default via 192.0.2.1 dev tunnel_out",
       "the kernel would refuse -4 route default via 192.0.2.1 dev istioout table 101: Nexthop "
       "has invalid gateway: 192.0.2.1 is unreachable (Network is unreachable) on device "
       "istioout (checked without writing)"},
      {"default via istioout_peer dev tunnel_out", "default via 192.168.126.2 dev tunnel_out",
       "the kernel would refuse -4 route default via 192.168.126.2 dev istioout table 101: "
       "Nexthop has invalid gateway: 192.168.126.2 is reached through another device on device "
       "istioout (checked without writing)"},
      {"route 100 {\n  ztunnel_ip dev ztunnel scope link\n",
       "route 100 {\n  ztunnel_ip dev ztunnel scope link src 192.0.2.9\n",
       "the kernel would refuse -4 route 10.244.1.2 dev veth1ae58883 scope link src 192.0.2.9 "
       "table 100: Invalid prefsrc address: 192.0.2.9 is not an address of this node (checked "
       "without writing)"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.to) {
      std::string path = dir.write("refused.zt", example_with({{c.from, c.to}}));
      Snapshot before = snapshot(node);
      for (const char* mode : {"--dry-run ", ""}) {
        Run load = node.ztc(std::string("load ") + mode + shell_quote(path));
        BOOST_TEST(load.exit_code == 1);
        BOOST_TEST(load.out == "");
        std::string needle = c.to.substr(c.to.rfind('\n', c.to.size() - 2) + 1);
        needle = needle.substr(needle.find_first_not_of(' '));
        if (needle.back() == '\n') needle.pop_back();
        int line = line_of(path, needle);
        BOOST_TEST(first_line(load.err) ==
                       path + ":" + std::to_string(line) + ":3: error: " + c.reason + "\n",
                   mode);
        BOOST_TEST(load.err.find("ztc: load failed; the node was left as it was\n") !=
                   std::string::npos);
        BOOST_TEST(snapshot(node) == before);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(without_privilege_one_line_naming_cap_net_admin,
                     *boost::unit_test::label("kernel")) {
  TempDir dir;
  std::string policy = dir.write("policy.zt", read_file(kExample));
  std::vector<std::pair<std::string, std::string>> droppers;
  if (run_command("command -v setpriv").exit_code == 0) {
    droppers.push_back({"setpriv",
                        "setpriv --inh-caps=-all --bounding-set=-all --reuid=65534 "
                        "--regid=65534 --clear-groups "});
  }
  if (run_command("command -v capsh").exit_code == 0) {
    droppers.push_back({"capsh", ""});  // wraps the whole command, below
  }
  if (droppers.empty()) {
    BOOST_TEST_MESSAGE("neither setpriv nor capsh is installed: privilege test skipped");
    return;
  }
  AmbientNode node("ztc-load");
  Snapshot before = snapshot(node);
  for (const auto& [tool, prefix] : droppers) {
    for (const char* command : {"load", "load --dry-run", "unload", "status"}) {
      BOOST_TEST_CONTEXT(tool << " " << command) {
        std::string verb = std::string(command).substr(0, std::string(command).find(' '));
        std::string args =
            std::string(command) + (verb == "status" ? "" : " " + shell_quote(policy));
        Run run;
        if (tool == "capsh") {
          TempDir scratch;
          std::string err_file = scratch.path() + "/stderr";
          std::string inner = shell_quote(kZtc) + " " + args + " --netns " +
                              shell_quote(node.name()) + " 2>" + shell_quote(err_file);
          CommandResult result =
              run_command("capsh --drop=cap_net_admin -- -c " + shell_quote(inner));
          run = {result.exit_code, result.output, read_file(err_file)};
        } else {
          run = node.ztc(args, "", prefix);
        }
        BOOST_TEST(run.exit_code == 1);
        BOOST_TEST(run.out == "");
        BOOST_TEST(run.err ==
                   "ztc: error: ztc " + verb + " needs CAP_NET_ADMIN (run it as root)\n");
      }
    }
  }
  if (run_command("command -v capsh").exit_code == 0) {
    // CAP_NET_ADMIN alone is not enough to enter another namespace.
    TempDir scratch;
    std::string err_file = scratch.path() + "/stderr";
    std::string inner = shell_quote(kZtc) + " load " + shell_quote(policy) + " --netns " +
                        shell_quote(node.name()) + " 2>" + shell_quote(err_file);
    CommandResult result = run_command("capsh --drop=cap_sys_admin -- -c " + shell_quote(inner));
    BOOST_TEST(result.exit_code == 1);
    BOOST_TEST(read_file(err_file) ==
               "ztc: error: ztc load --netns needs CAP_SYS_ADMIN (run it as root)\n");
  }
  BOOST_TEST(snapshot(node) == before);
}

BOOST_AUTO_TEST_CASE(status_shows_the_table_and_the_counts, *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-load");
  Run empty = node.ztc("status");
  require_ok(empty, "status on an empty node");
  BOOST_TEST(
      empty.out ==
      "no table managed by ztc\nrouting (protocol 122, member routes 123): 0 rules, 0 routes\n");

  require_ok(node.ztc("load " + shell_quote(kExample)), "load");
  enrol_by_hand(node, "ip ztunnel", "nft add element ip ztunnel pods '{ 10.244.1.5, 10.244.1.6 }'");
  require_ok(node.ztc("load " + shell_quote(kExample)), "load with members");
  // The counts, from the kernel's own listing: chains and rules by handle.
  std::string listing = node.must("nft -a list table ip ztunnel");
  int chains = 0, rules = 0;
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("# handle") == std::string::npos) continue;
    if (line.find("\tchain ") != std::string::npos) {
      ++chains;
    } else if (line.find("{ # handle") == std::string::npos) {
      ++rules;
    }
  }
  BOOST_TEST(chains > 0);
  auto count_lines = [](const std::string& text) {
    return std::to_string(std::count(text.begin(), text.end(), '\n'));
  };
  Run status = node.ztc("status");
  require_ok(status, "status");
  BOOST_TEST(status.out ==
             "table ip ztunnel: " + std::to_string(chains) + " chains, " + std::to_string(rules) +
                 " rules; set pods 2 elements\n" +
                 "routing (protocol 122, member routes 123): " + count_lines(node.ztc_rules()) +
                 " rules, " + count_lines(node.ztc_routes()) + " routes\n");
  BOOST_TEST(status.out.find("4 rules, 7 routes") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc
