// Kill tests: `ztc load --netns NS` SIGKILLed at points spread over the whole
// of a load, alternating between two versions of examples/ambient-node.zt
// (they differ in the nft table, in the rule set and in route tables), so a
// kill lands before the nft transaction, in it, between it and routing, and in
// the middle of routing. After every kill the next `ztc load` must converge to
// exactly the policy: `ztc diff` exits 0, the node's nft table, rules and routes
// equal those of an uninterrupted load, and no `ip rule` is there twice.
//
// CI runs ZTC_KILL_COUNT (default 30) kills within ZTC_KILL_SECONDS (default
// 60); tools/fuzz/kill.sh runs the long version (200 kills or 60 s). The
// delays are shuffled with ZTC_KILL_SEED (default: time), printed for replay.
// Where each kill landed is read from the state it left (nft old or new,
// routing old, partial or new); the split of "nft unchanged" into before and
// during the transaction is from timing (a kill later than a whole `ztc
// compile` takes is counted as in the transaction), so it is approximate.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "backend/netns.h"
#include "backend/nft_canonical.h"
#include "testsupport/ambient_node.h"
#include "testsupport/files.h"

extern char** environ;

namespace ztc {
namespace {

using Clock = std::chrono::steady_clock;
using Micros = std::chrono::microseconds;

const std::string kZtc = ZTC_BINARY;
const std::string kExample = std::string(ZTC_SOURCE_DIR) + "/examples/ambient-node.zt";

using testing::read_file;
using testing::TempDir;

long env_number(const char* name, long fallback) {
  const char* text = std::getenv(name);
  return text && *text ? std::strtol(text, nullptr, 10) : fallback;
}

// The example with each `from` (present exactly once) replaced by `to`.
std::string example_with(const std::vector<std::pair<std::string, std::string>>& swaps) {
  return testing::replaced_once(read_file(kExample), swaps);
}

// What ztc owns on the node, as the standard tools list it.
struct State {
  std::string nft;      // nft list table ip ztunnel (or its error)
  std::string routing;  // ip rule (both families) and ztc's routes
  bool operator==(const State& o) const { return nft == o.nft && routing == o.routing; }
};

std::ostream& operator<<(std::ostream& out, const State& s) {
  return out << "--- nft\n" << s.nft << "--- routing\n" << s.routing;
}

// The ambient node, with what a kill may leave half done.
class Node : public testing::AmbientNode {
 public:
  Node() : AmbientNode("ztc-kill") {}

  State state() const {
    std::string all = must(
        "nft -s list table ip ztunnel 2>&1; echo '@@@'; ip -4 rule; ip -6 rule; "
        "ip -4 route show table all proto 122; ip -6 route show table all proto 122; "
        "ip -4 route show table all proto 123; ip -6 route show table all proto 123");
    size_t split = all.find("@@@\n");
    // Object order is the order they were added in, which an incremental
    // re-load changes and which means nothing (nft_canonical.h).
    return {nft::with_sorted_objects(all.substr(0, split)), all.substr(split + 4)};
  }

  // `ip rule` lines that are there more than once (both families).
  std::string duplicate_rules() const {
    return must("ip -4 rule | sort | uniq -d; ip -6 rule | sort | uniq -d");
  }
};

struct Exit {
  int code = -1;  // -1: killed by a signal
  int signal = 0;
  std::string output;
  Micros elapsed{0};
};

// Starts `ztc ARGS --netns NS` with stdout and stderr to `log`; posix_spawn, so
// starting it costs the same whatever the size of this (ASan) process.
pid_t spawn_ztc(const std::vector<std::string>& args, const std::string& netns,
                const std::string& log) {
  std::vector<std::string> argv_text{kZtc};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  argv_text.push_back("--netns");
  argv_text.push_back(netns);
  std::vector<char*> argv;
  for (std::string& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  int error = posix_spawn(&pid, kZtc.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return error == 0 ? pid : -1;
}

Exit wait_for(pid_t pid, Clock::time_point started, const std::string& log) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  Exit exit;
  exit.elapsed = std::chrono::duration_cast<Micros>(Clock::now() - started);
  if (WIFEXITED(status)) exit.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) exit.signal = WTERMSIG(status);
  exit.output = read_file(log);
  return exit;
}

// Runs ztc to the end (bounded: a load that hangs is killed after 60 s).
Exit run_ztc(const std::vector<std::string>& args, const Node& node, const TempDir& dir) {
  std::string log = dir.file("ztc.log");
  auto started = Clock::now();
  pid_t pid = spawn_ztc(args, node.name(), log);
  BOOST_REQUIRE(pid > 0);
  for (;;) {
    int status = 0;
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      Exit exit;
      exit.elapsed = std::chrono::duration_cast<Micros>(Clock::now() - started);
      if (WIFEXITED(status)) exit.code = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) exit.signal = WTERMSIG(status);
      exit.output = read_file(log);
      return exit;
    }
    if (Clock::now() - started > std::chrono::seconds(60)) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      BOOST_FAIL("ztc did not finish in 60 s: " << read_file(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Starts `ztc load`, SIGKILLs it `delay` after the start. Always reaps it.
Exit load_and_kill(const std::string& policy, const Node& node, const TempDir& dir, Micros delay) {
  std::string log = dir.file("killed.log");
  auto started = Clock::now();
  pid_t pid = spawn_ztc({"load", policy}, node.name(), log);
  if (pid <= 0) return {};
  std::this_thread::sleep_until(started + delay);
  kill(pid, SIGKILL);
  return wait_for(pid, started, log);
}

// Where a kill landed, from the state it left (`before`: the state before
// the load, `after`: the policy's state).
enum class Landed { unchanged, nft_only, mid_routing, complete, other };
const char* landed_name(Landed landed) {
  switch (landed) {
    case Landed::unchanged: return "nothing changed";
    case Landed::nft_only: return "nft committed, routing not started";
    case Landed::mid_routing: return "nft committed, routing part way";
    case Landed::complete: return "everything applied";
    case Landed::other: return "other";
  }
  return "?";
}

Landed classify(const State& now, const State& before, const State& after) {
  if (now == before) return Landed::unchanged;
  if (now.nft != after.nft) return Landed::other;
  if (now.routing == before.routing) return Landed::nft_only;
  if (now.routing == after.routing) return Landed::complete;
  return Landed::mid_routing;
}

// The second version: a bypass port more (nft), rule 103 moved to 104 (rule
// set), a metric on table 101's default route and 96 more routes in table
// 100 (route tables), so routing takes long enough to be interrupted.
std::string second_version() {
  std::string routes;
  for (int i = 0; i < 96; ++i) {
    routes += "  10.250." + std::to_string(i) + ".0/24 via ztunnel_ip dev ztunnel onlink\n";
  }
  return example_with({{"bypass udp 6081 ", "bypass udp 6081, 4789 "},
                       {"rule 103 lookup 100", "rule 104 lookup 100"},
                       {"default via istioout_peer dev tunnel_out\n",
                        "default via istioout_peer dev tunnel_out metric 7\n"},
                       {"route 100 {\n  ztunnel_ip dev ztunnel scope link\n",
                        "route 100 {\n  ztunnel_ip dev ztunnel scope link\n" + routes}});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(kill_kernel)

BOOST_AUTO_TEST_CASE(a_killed_load_is_repaired_by_the_next_one,
                     *boost::unit_test::label("kernel")) {
  const long kills = std::max(1L, env_number("ZTC_KILL_COUNT", 30));
  const auto budget = std::chrono::seconds(std::max(1L, env_number("ZTC_KILL_SECONDS", 60)));
  const unsigned seed = static_cast<unsigned>(
      env_number("ZTC_KILL_SEED", std::chrono::system_clock::now().time_since_epoch().count()));
  BOOST_TEST_MESSAGE("kill test: up to " << kills << " kills in " << budget.count()
                                         << " s, ZTC_KILL_SEED=" << seed);

  TempDir dir;
  Node node;
  const std::string policies[2] = {dir.write("a.zt", read_file(kExample)),
                                   dir.write("b.zt", second_version())};

  // The state of each version after a load that ran to the end, and how long
  // a load that changes everything takes (the longest of a few).
  State expected[2];
  Micros load_time{0};
  for (int i = 0; i < 4; ++i) {
    Exit loaded = run_ztc({"load", policies[i % 2]}, node, dir);
    BOOST_REQUIRE_MESSAGE(loaded.code == 0, "load " << policies[i % 2] << ": " << loaded.output);
    State state = node.state();
    if (i < 2) {
      expected[i] = state;
    } else {
      BOOST_REQUIRE_MESSAGE(state == expected[i % 2], "a reload changed the state:\n" << state);
    }
    load_time = std::max(load_time, loaded.elapsed);
  }
  BOOST_REQUIRE(expected[0].nft != expected[1].nft);
  BOOST_REQUIRE(expected[0].routing != expected[1].routing);
  // What a ztc spends before it can touch the node: start-up and compile
  // (the fastest of three `ztc compile` runs).
  Micros compile_time = load_time;
  for (int i = 0; i < 3; ++i) {
    auto started = Clock::now();
    CommandResult compiled =
        run_command(shell_quote(kZtc) + " compile " + shell_quote(policies[1]) + " >/dev/null");
    BOOST_REQUIRE(compiled.exit_code == 0);
    compile_time =
        std::min(compile_time, std::chrono::duration_cast<Micros>(Clock::now() - started));
  }
  BOOST_TEST_MESSAGE("a changing load takes up to " << load_time.count() << " us; a compile "
                                                    << compile_time.count() << " us");

  // The first half of the delays spread evenly from 0 to 110% of a load, in
  // whole microseconds and a shuffled order; the second half evenly over the
  // window where the first half saw the node change (widened by a fifth of a
  // load each way), so that more kills land in the nft commit and in routing.
  std::mt19937 random(seed);
  std::vector<Micros> delays;
  const long first_half = (kills + 1) / 2;
  for (long i = 0; i < first_half; ++i) {
    delays.push_back(Micros(load_time.count() * 11 * i / (10 * first_half)));
  }
  std::shuffle(delays.begin(), delays.end(), random);
  long changed_from = load_time.count(), changed_to = 0;  // us, from the first half
  std::map<std::string, int> landed;
  std::map<std::string, std::pair<long, long>> delay_range;  // us
  int tried = 0, converged = 0, killed = 0;
  int current = 0;  // expected[current] is on the node
  auto deadline = Clock::now() + budget;
  for (size_t k = 0; k < static_cast<size_t>(kills); ++k) {
    if (Clock::now() > deadline) break;
    if (k == delays.size()) {
      long span = load_time.count() / 5;
      long low = std::max(0L, std::min(changed_from, changed_to) - span);
      long high = std::max(changed_from, changed_to) + span;
      std::vector<Micros> focused;
      for (long i = delays.size(); i < kills; ++i) {
        focused.push_back(Micros(low + (high - low) * (i - first_half) / (kills - first_half)));
      }
      std::shuffle(focused.begin(), focused.end(), random);
      delays.insert(delays.end(), focused.begin(), focused.end());
    }
    const Micros delay = delays[k];
    ++tried;
    const int next = 1 - current;
    Exit exit = load_and_kill(policies[next], node, dir, delay);
    BOOST_REQUIRE_MESSAGE(exit.code != -1 || exit.signal != 0, "ztc did not start");
    std::string where;
    if (exit.signal == SIGKILL) {
      ++killed;
      Landed at = classify(node.state(), expected[current], expected[next]);
      where = landed_name(at);
      if (at == Landed::nft_only || at == Landed::mid_routing || at == Landed::complete) {
        changed_from = std::min(changed_from, static_cast<long>(delay.count()));
      }
      if (at == Landed::unchanged || at == Landed::nft_only || at == Landed::mid_routing) {
        changed_to = std::max(changed_to, static_cast<long>(delay.count()));
      }
      if (at == Landed::unchanged) {
        where += delay < compile_time ? " (killed before the nft transaction)"
                                      : " (killed around the nft transaction)";
      }
    } else {
      BOOST_TEST(exit.code == 0, "an unkilled load failed: " << exit.output);
      where = "finished before the kill";
    }
    ++landed[where];
    auto& range =
        delay_range.emplace(where, std::make_pair(delay.count(), delay.count())).first->second;
    range.first = std::min(range.first, static_cast<long>(delay.count()));
    range.second = std::max(range.second, static_cast<long>(delay.count()));

    BOOST_TEST_CONTEXT("kill " << tried << " at " << delay.count() << " us (" << where
                               << "), loading " << policies[next]) {
      Exit repaired = run_ztc({"load", policies[next]}, node, dir);
      BOOST_TEST(repaired.code == 0, repaired.output);
      Exit diff = run_ztc({"diff", "--members", policies[next]}, node, dir);
      BOOST_TEST(diff.code == 0, diff.output);
      BOOST_TEST(diff.output == "no differences\n");
      State now = node.state();
      BOOST_TEST(now == expected[next], "after the repairing load:\n"
                                            << now << "expected:\n"
                                            << expected[next]);
      BOOST_TEST(node.duplicate_rules() == "");
      if (repaired.code == 0 && diff.code == 0 && now == expected[next]) ++converged;
    }
    current = next;
  }

  std::ostringstream report;
  report << "kills tried " << tried << ", landed " << killed << ", converged after " << converged
         << "; seed " << seed << "\n";
  for (const auto& [where, count] : landed) {
    report << "  " << count << " x " << where << " (delays " << delay_range[where].first << ".."
           << delay_range[where].second << " us)\n";
  }
  BOOST_TEST_MESSAGE(report.str());
  if (const char* path = std::getenv("ZTC_KILL_REPORT")) std::ofstream(path) << report.str();
  BOOST_TEST(tried == converged);
  BOOST_TEST(tried >= std::min(kills, 5L));
  BOOST_TEST(killed > 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc
