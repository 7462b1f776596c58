// Signals mid-apply: `ztc load` and `ztc set sync` sent SIGTERM or SIGINT
// (sometimes twice) at delays spread over the whole operation. Whatever the
// delay, the node must end exactly in the old state or the new one, never a
// mix: before the first kernel write (or after the last) the signal ends ztc
// at once; between them, ztc holds the signal until the node is consistent,
// then exits 128+signal with one line saying which state the node is in.
//
// The load moves 3000 member routes from table 100 to table 105 and back, so
// its routing phase lasts long enough to be hit; the sync swaps 3000 members
// for 3000 others. Every loop is bounded in count and in time.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "testsupport/ambient_node.h"
#include "testsupport/files.h"

extern char** environ;

namespace ztc {
namespace {

using Clock = std::chrono::steady_clock;
using Micros = std::chrono::microseconds;
using testing::AmbientNode;
using testing::read_file;
using testing::TempDir;

constexpr int kMembers = 3000;

struct Outcome {
  int code = -1;      // exit code; -1 when ended by a signal
  int killed_by = 0;  // the signal that ended it
  std::string out, err;
  Micros elapsed{0};
};

// `ztc ARGS --netns NS`, the four signals at their default action and
// unblocked whatever this process has (a shell's background job ignores
// SIGINT), sent `signals` at `delay` after the start (1 ms apart). Bounded:
// SIGKILLed after 60 s.
Outcome run_signalled(const std::vector<std::string>& args, const AmbientNode& node,
                      const TempDir& dir, Micros delay, const std::vector<int>& signals) {
  std::vector<std::string> text{testing::ztc_binary()};
  text.insert(text.end(), args.begin(), args.end());
  text.push_back("--netns");
  text.push_back(node.name());
  std::vector<char*> argv;
  for (std::string& a : text) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string out_path = dir.file("out"), err_path = dir.file("err");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults, empty;
  sigemptyset(&defaults);
  for (int s : {SIGHUP, SIGINT, SIGQUIT, SIGTERM}) sigaddset(&defaults, s);
  sigemptyset(&empty);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setsigmask(&attributes, &empty);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  auto started = Clock::now();
  pid_t pid = -1;
  int error = posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  BOOST_TEST_REQUIRE(error == 0);
  if (!signals.empty()) {
    std::this_thread::sleep_until(started + delay);
    for (size_t i = 0; i < signals.size(); ++i) {
      if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      kill(pid, signals[i]);
    }
  }
  int status = 0;
  for (;;) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (Clock::now() - started > std::chrono::seconds(60)) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      BOOST_FAIL("ztc did not finish in 60 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  Outcome outcome;
  outcome.elapsed = std::chrono::duration_cast<Micros>(Clock::now() - started);
  if (WIFEXITED(status)) outcome.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) outcome.killed_by = WTERMSIG(status);
  outcome.out = read_file(out_path);
  outcome.err = read_file(err_path);
  return outcome;
}

std::string signal_text(int signal) {
  return signal == SIGTERM ? "SIGTERM" : signal == SIGINT ? "SIGINT" : std::to_string(signal);
}

// `kMembers` addresses from 10.`second`.0.1 on, one a line.
std::string members(int second) {
  std::string text;
  for (int i = 0; i < kMembers; ++i) {
    text += "10." + std::to_string(second) + "." + std::to_string(i / 250) + "." +
            std::to_string(i % 250 + 1) + "\n";
  }
  return text;
}

// Delays spread evenly over 0..120% of `span`, shuffled by a fixed stride so
// early and late ones alternate.
std::vector<Micros> spread(Micros span, int count) {
  std::vector<Micros> delays;
  for (int i = 0; i < count; ++i) {
    int slot = (i * 7) % count;
    delays.push_back(Micros(span.count() * 12 * slot / (10 * count)));
  }
  return delays;
}

// What a signalled run must have done, given which state the node is found
// in: ended by the signal before its first write or after its last (the
// caller checks that the node is one of the two states), held it and said
// which state the node is in, or finished before it came.
void check_outcome(const Outcome& run, const std::vector<int>& sent, const std::string& operation,
                   bool node_is_new, std::map<std::string, int>* tally) {
  const int first = *std::min_element(sent.begin(), sent.end());
  if (run.killed_by != 0) {
    ++(*tally)[std::string("ended by the signal, node ") + (node_is_new ? "new" : "old")];
    bool one_of_ours = std::find(sent.begin(), sent.end(), run.killed_by) != sent.end();
    BOOST_TEST(one_of_ours, "ended by signal " << run.killed_by);
    return;
  }
  if (run.code == 0) {
    ++(*tally)["finished before the signal"];
    BOOST_TEST(node_is_new, "exit 0 but the node is not in the new state; " << run.err);
    BOOST_TEST(run.err == "");
    return;
  }
  ++(*tally)[std::string("held, node ") + (node_is_new ? "new" : "old")];
  BOOST_TEST(run.code == 128 + first, "stderr: " << run.err);
  std::string line = "ztc: " + signal_text(first) + " arrived during the " + operation + "; " +
                     (node_is_new ? "finished it first: the node is in the new state\n"
                                  : "it failed and was undone: the node is in the old state\n");
  BOOST_TEST(run.err == line);
}

// At least one signal landed in the writes and was held.
bool some_held(const std::map<std::string, int>& tally) {
  return tally.count("held, node new") + tally.count("held, node old") > 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(signal_kernel)

BOOST_AUTO_TEST_CASE(a_signalled_load_leaves_the_old_or_the_new_policy,
                     *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-sig");
  TempDir dir;
  const std::string example = read_file(testing::example_path("ambient-node"));
  const std::string policies[2] = {
      dir.write("a.zt", example),
      dir.write("b.zt",
                testing::replaced_once(example, {{"rule 103 lookup 100", "rule 103 lookup 105"},
                                                 {"route 100 for pods", "route 105 for pods"}}))};
  auto load = [&](int which) { return node.ztc("load " + shell_quote(policies[which])); };
  auto diff_code = [&](int which) {
    return node.ztc("diff --members " + shell_quote(policies[which])).exit_code;
  };
  BOOST_TEST_REQUIRE(load(0).exit_code == 0);
  const std::string member_file = dir.write("members", members(245));
  testing::ZtcRun synced =
      node.ztc("set sync " + shell_quote(policies[0]) + " pods --from " + shell_quote(member_file));
  BOOST_TEST_REQUIRE(synced.exit_code == 0, synced.err);

  // How long a load that moves every member route takes (the longest of two).
  Micros span{0};
  int current = 0;
  for (int i = 0; i < 2; ++i) {
    Outcome moved = run_signalled({"load", policies[1 - current]}, node, dir, Micros(0), {});
    BOOST_TEST_REQUIRE(moved.code == 0, moved.err);
    span = std::max(span, moved.elapsed);
    current = 1 - current;
  }
  BOOST_TEST_MESSAGE("a load moving " << kMembers << " member routes takes " << span.count()
                                      << " us");

  std::map<std::string, int> tally;
  const auto deadline = Clock::now() + std::chrono::seconds(90);
  const std::vector<Micros> delays = spread(span, 16);
  for (size_t k = 0; k < delays.size() && Clock::now() < deadline; ++k) {
    const int next = 1 - current;
    std::vector<int> sent{k % 2 ? SIGINT : SIGTERM};
    if (k % 3 == 0) sent.push_back(k % 2 ? SIGTERM : SIGINT);  // a second one on its heels
    BOOST_TEST_CONTEXT("delay " << delays[k].count() << " us, " << signal_text(sent[0])
                                << (sent.size() > 1 ? " twice" : "") << ", loading "
                                << policies[next]) {
      Outcome run = run_signalled({"load", policies[next]}, node, dir, delays[k], sent);
      bool is_new = diff_code(next) == 0;
      bool is_old = diff_code(current) == 0;
      BOOST_TEST((is_new || is_old), "the node is neither policy: "
                                         << node.ztc("diff --members " + shell_quote(policies[next])).out);
      check_outcome(run, sent, "load", is_new, &tally);
      if (is_new) current = next;
      // The member routes are all in the state's table, none in the other.
      auto member_routes = [&](const char* table) {
        return node.must("ip route show table " + std::string(table) +
                         " proto 123 | grep -c '^10\\.245\\.' || true");
      };
      BOOST_TEST(member_routes(current ? "105" : "100") == std::to_string(kMembers) + "\n");
      BOOST_TEST(member_routes(current ? "100" : "105") == "0\n");
    }
  }
  for (const auto& [what, count] : tally) BOOST_TEST_MESSAGE(count << " x " << what);
  BOOST_TEST(some_held(tally));
}

BOOST_AUTO_TEST_CASE(a_signalled_set_sync_leaves_the_old_or_the_new_members,
                     *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-sig");
  TempDir dir;
  const std::string policy = testing::example_path("ambient-node");
  BOOST_TEST_REQUIRE(node.ztc("load " + shell_quote(policy)).exit_code == 0);
  const std::string lists[2] = {members(245), members(246)};
  const std::string files[2] = {dir.write("m0", lists[0]), dir.write("m1", lists[1])};
  auto sync_args = [&](int which) {
    return std::vector<std::string>{"set", "sync", policy, "pods", "--from", files[which]};
  };
  auto listed = [&]() {
    std::string text = node.ztc("set list " + shell_quote(policy) + " pods").out;
    return text;
  };
  // set list prints in address order, as the files are.
  Micros span{0};
  int current = 1;
  for (int i = 0; i < 2; ++i) {
    Outcome synced = run_signalled(sync_args(1 - current), node, dir, Micros(0), {});
    BOOST_TEST_REQUIRE(synced.code == 0, synced.err);
    span = std::max(span, synced.elapsed);
    current = 1 - current;
  }
  BOOST_TEST_REQUIRE(listed() == lists[current]);
  BOOST_TEST_MESSAGE("a sync swapping " << kMembers << " members takes " << span.count() << " us");

  std::map<std::string, int> tally;
  const auto deadline = Clock::now() + std::chrono::seconds(90);
  const std::vector<Micros> delays = spread(span, 12);
  for (size_t k = 0; k < delays.size() && Clock::now() < deadline; ++k) {
    const int next = 1 - current;
    std::vector<int> sent{k % 2 ? SIGTERM : SIGINT};
    if (k % 3 == 1) sent.push_back(SIGTERM);
    BOOST_TEST_CONTEXT("delay " << delays[k].count() << " us, " << signal_text(sent[0])
                                << (sent.size() > 1 ? " and another" : "")) {
      Outcome run = run_signalled(sync_args(next), node, dir, delays[k], sent);
      std::string now = listed();
      bool is_new = now == lists[next];
      BOOST_TEST((is_new || now == lists[current]), "the members are neither list");
      testing::ZtcRun diff = node.ztc("diff --members " + shell_quote(policy));
      BOOST_TEST(diff.exit_code == 0, "member routes do not match the members:\n" << diff.out);
      check_outcome(run, sent, "set sync", is_new, &tally);
      if (is_new) current = next;
    }
  }
  for (const auto& [what, count] : tally) BOOST_TEST_MESSAGE(count << " x " << what);
  BOOST_TEST(some_held(tally));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc
