// ztc's lock and state directory, end to end: the real binary with --netns on
// throwaway namespaces. Tests that plant symlinks or foreign owners point
// ZTC_RUN_DIR at a scratch directory, never at the node's /run/ztc.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "backend/apply_lock.h"
#include "backend/netns.h"
#include "testsupport/ambient_node.h"
#include "testsupport/files.h"

namespace ztc {
namespace {

using testing::AmbientNode;
using testing::read_file;
using testing::TempDir;
using Run = testing::ZtcRun;

const std::string kExample = testing::example_path("ambient-node");

std::string with_run_dir(const std::string& directory) {
  return "env ZTC_RUN_DIR=" + shell_quote(directory) + " ";
}

// The files of a directory, sorted, one a line.
std::string listing(const std::string& directory) {
  return run_command("ls -A " + shell_quote(directory)).output;
}

// A process other than this one holding the lock of `node`'s namespace (a
// forked child: the lock names its holder by pid, and a process never
// conflicts with its own beacon). Killed and reaped on destruction.
class LockHolder {
 public:
  LockHolder(const AmbientNode& node, const std::string& run_dir) {
    int ready[2];
    BOOST_TEST_REQUIRE(pipe(ready) == 0);
    pid_ = fork();
    BOOST_TEST_REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      close(ready[0]);
      if (!run_dir.empty()) setenv("ZTC_RUN_DIR", run_dir.c_str(), 1);
      NetnsSwitch in(netns_path(node.name()));
      ApplyLock lock(nft::Family::ip, "ztunnel", 1000);
      char status = in.ok() && lock.ok() ? 'y' : 'n';
      if (write(ready[1], &status, 1) != 1) _exit(1);
      for (int i = 0; i < 600; ++i) sleep(1);  // bounded: killed long before
      _exit(0);
    }
    close(ready[1]);
    char status = 0;
    BOOST_TEST_REQUIRE(read(ready[0], &status, 1) == 1);
    close(ready[0]);
    BOOST_TEST_REQUIRE(status == 'y');
  }
  ~LockHolder() { release(); }
  void release() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(lock_kernel)

BOOST_AUTO_TEST_CASE(a_symlink_for_the_run_directory_is_refused,
                     *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-lock");
  TempDir dir;
  std::string target = dir.file("elsewhere");
  BOOST_TEST_REQUIRE(mkdir(target.c_str(), 0700) == 0);
  std::string planted = dir.file("run-ztc");
  BOOST_TEST_REQUIRE(symlink(target.c_str(), planted.c_str()) == 0);

  Run load = node.ztc("load " + shell_quote(kExample), "", with_run_dir(planted));
  BOOST_TEST(load.exit_code == 1);
  BOOST_TEST(load.err == "ztc: error: " + planted +
                             " is a symbolic link; refusing to use it (remove it: ztc creates "
                             "its own directory)\n");
  BOOST_TEST(listing(target) == "");
  BOOST_TEST(node.must("nft list tables") == "");
}

BOOST_AUTO_TEST_CASE(a_symlink_for_the_lock_file_is_not_followed,
                     *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-lock");
  TempDir dir;
  std::string run_dir = dir.file("run");
  BOOST_TEST_REQUIRE(mkdir(run_dir.c_str(), 0700) == 0);
  std::string victim = dir.file("victim");
  BOOST_TEST_REQUIRE(symlink(victim.c_str(), (run_dir + "/lock").c_str()) == 0);

  Run load = node.ztc("unload " + shell_quote(kExample), "", with_run_dir(run_dir));
  BOOST_TEST(load.exit_code == 1);
  BOOST_TEST(load.err ==
             "ztc: error: cannot open " + run_dir + "/lock: Too many levels of symbolic links\n");
  struct stat info {};
  BOOST_TEST(lstat(victim.c_str(), &info) != 0);  // not created through the link
}

BOOST_AUTO_TEST_CASE(a_run_directory_of_another_owner_or_writable_by_others_is_refused,
                     *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-lock");
  TempDir dir;
  std::string foreign = dir.file("foreign");
  BOOST_TEST_REQUIRE(mkdir(foreign.c_str(), 0700) == 0);
  BOOST_TEST_REQUIRE(chown(foreign.c_str(), 65534, 65534) == 0);
  Run load = node.ztc("load " + shell_quote(kExample), "", with_run_dir(foreign));
  BOOST_TEST(load.exit_code == 1);
  BOOST_TEST(load.err == "ztc: error: " + foreign +
                             " is owned by uid 65534, not by uid 0 (ztc's); refusing to use it\n");

  std::string open_to_all = dir.file("open");
  BOOST_TEST_REQUIRE(mkdir(open_to_all.c_str(), 0700) == 0);
  BOOST_TEST_REQUIRE(chmod(open_to_all.c_str(), 01777) == 0);
  Run set = node.ztc("set add " + shell_quote(kExample) + " pods 10.244.1.5", "",
                     with_run_dir(open_to_all));
  BOOST_TEST(set.exit_code == 1);
  BOOST_TEST(set.err == "ztc: error: " + open_to_all +
                            " is writable by others (mode 1777); refusing to use it\n");
  BOOST_TEST(listing(foreign) == "");
  BOOST_TEST(listing(open_to_all) == "");
  BOOST_TEST(node.must("nft list tables") == "");
}

BOOST_AUTO_TEST_CASE(the_run_directory_is_made_private, *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-lock");
  TempDir dir;
  std::string run_dir = dir.file("run");  // absent: ztc creates it
  Run status = node.ztc("diff --members " + shell_quote(kExample), "", with_run_dir(run_dir));
  BOOST_TEST(status.exit_code == 1, status.err);  // nothing loaded: differs
  struct stat info {};
  BOOST_TEST_REQUIRE(lstat(run_dir.c_str(), &info) == 0);
  BOOST_TEST(S_ISDIR(info.st_mode));
  BOOST_TEST((info.st_mode & 07777) == 0700u);
  BOOST_TEST(info.st_uid == 0u);
  BOOST_TEST(listing(run_dir) == "lock\n");
}

BOOST_AUTO_TEST_CASE(a_waiting_ztc_names_the_holder_and_gives_up_after_the_timeout,
                     *boost::unit_test::label("kernel")) {
  AmbientNode node("ztc-lock");
  TempDir dir;
  std::string run_dir = dir.file("run");
  LockHolder holder(node, run_dir);
  const std::string waiting = "ztc: waiting for the lock of namespace " + node.name() +
                              " held by pid " + std::to_string(holder.pid()) + "\n";

  auto started = std::chrono::steady_clock::now();
  Run load =
      node.ztc("load " + shell_quote(kExample) + " --lock-timeout 1", "", with_run_dir(run_dir));
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  BOOST_TEST(load.exit_code == 1);
  BOOST_TEST(load.out == "");
  BOOST_TEST(load.err == waiting + "ztc: error: gave up waiting for the lock of namespace " +
                             node.name() + " (held by pid " + std::to_string(holder.pid()) +
                             ") after 1 s; table ip ztunnel was not changed\n");
  BOOST_TEST(seconds >= 1.0);
  BOOST_TEST(seconds < 10.0);
  BOOST_TEST(node.must("nft list tables") == "");

  // --lock-timeout 0: one try, no wait.
  Run set = node.ztc("set list " + shell_quote(kExample) + " pods --lock-timeout 0", "",
                     with_run_dir(run_dir));
  BOOST_TEST(set.exit_code == 1);
  BOOST_TEST(set.err.find("ztc: error: gave up waiting for the lock of namespace " + node.name()) !=
                 std::string::npos,
             set.err);

  // Released while a load waits: the load goes ahead, having said it waited.
  // The lock is released once the load has said so, not after a fixed time:
  // a ztc slow to start (sanitizers, a loaded machine) would find it free. So
  // its stderr goes to a file the releaser watches (60 s at most).
  const std::string said = dir.file("waited.err");
  std::thread releaser([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (read_file(said).find(waiting) == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    holder.release();
  });
  Run waited = node.ztc("load " + shell_quote(kExample), "",
                        with_run_dir(run_dir) + "sh -c 'exec 2>\"$0\"; exec \"$@\"' " +
                            shell_quote(said) + " ");
  releaser.join();
  BOOST_TEST(waited.exit_code == 0, read_file(said));
  BOOST_TEST(read_file(said) == waiting);
  BOOST_TEST(node.must("nft list tables") == "table ip ztunnel\n");
}

BOOST_AUTO_TEST_CASE(lock_and_state_files_do_not_pile_up_per_namespace,
                     *boost::unit_test::label("kernel")) {
  TempDir dir;
  std::string run_dir = dir.file("run");
  for (int i = 0; i < 4; ++i) {
    AmbientNode node("ztc-lock");
    Run load = node.ztc("load " + shell_quote(kExample), "", with_run_dir(run_dir));
    BOOST_TEST_REQUIRE(load.exit_code == 0, load.err);
    Run unload = node.ztc("unload " + shell_quote(kExample), "", with_run_dir(run_dir));
    BOOST_TEST_REQUIRE(unload.exit_code == 0, unload.err);
  }
  BOOST_TEST(listing(run_dir) == "lock\n");
  struct stat info {};
  BOOST_TEST_REQUIRE(stat((run_dir + "/lock").c_str(), &info) == 0);
  BOOST_TEST(info.st_size == 0);  // byte-range locks write nothing
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc
