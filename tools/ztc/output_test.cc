// Output that cannot be written is a failure: every command's stdout and
// compile's -o, checked at the end of main (tools/ztc/checked_output.h). A
// full disk is /dev/full (every write fails with ENOSPC).
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <csignal>
#include <ostream>
#include <string>
#include <vector>

#include "backend/netns.h"
#include "testsupport/ambient_node.h"
#include "testsupport/files.h"
#include "tools/ztc/checked_output.h"

namespace ztc {
namespace {

using testing::read_file;
using testing::TempDir;

const std::string kExample = std::string(ZTC_SOURCE_DIR) + "/examples/ambient-node.zt";
const std::string kNoSpace = "ztc: error: cannot write standard output: No space left on device\n";

// The real binary with stdout going to `stdout_path`; returns the exit code,
// stderr in *err.
int ztc_to(const std::string& stdout_path, const std::vector<std::string>& args, std::string* err) {
  TempDir io;
  std::string err_path = io.file("stderr");
  pid_t pid = fork();
  BOOST_TEST_REQUIRE(pid >= 0);
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    int out = open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int error = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || error < 0) _exit(125);
    dup2(in, 0);
    dup2(out, 1);
    dup2(error, 2);
    std::vector<char*> argv;
    std::string binary = ZTC_BINARY;
    argv.push_back(binary.data());
    std::vector<std::string> copy = args;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  *err = read_file(err_path);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

BOOST_AUTO_TEST_SUITE(output)

BOOST_AUTO_TEST_CASE(stdout_that_cannot_be_written_is_exit_1) {
  std::string err;
  // Small outputs (a buffer's worth) and large ones fail the same way.
  for (const char* emit : {"nft", "json", "routes", "ast", "all"}) {
    BOOST_TEST_CONTEXT(emit) {
      BOOST_TEST(ztc_to("/dev/full", {"compile", "--emit", emit, kExample}, &err) == 1);
      BOOST_TEST(err == kNoSpace);
    }
  }
  BOOST_TEST(ztc_to("/dev/full", {"--help"}, &err) == 1);
  BOOST_TEST(err == kNoSpace);
  BOOST_TEST(ztc_to("/dev/full", {"--version"}, &err) == 1);
  BOOST_TEST(err == kNoSpace);
  // A policy error stays exit 1 with its own message, nothing more.
  TempDir dir;
  std::string bad = dir.write("bad.zt", "mark a = 1\n");
  BOOST_TEST(ztc_to("/dev/full", {"compile", bad}, &err) == 1);
  BOOST_TEST(err == bad + ": error: the policy declares no table: add e.g. `table ip ztunnel`\n");
  // And a writable stdout gets the whole text, exit 0.
  BOOST_TEST(ztc_to(dir.file("out"), {"compile", "--emit", "nft", kExample}, &err) == 0);
  BOOST_TEST(err == "");
  BOOST_TEST(read_file(dir.file("out")) ==
             read_file(std::string(ZTC_SOURCE_DIR) + "/testdata/examples/ambient-node.nft"));
}

BOOST_AUTO_TEST_CASE(output_file_that_cannot_be_written_is_exit_1) {
  TempDir dir;
  std::string err;
  BOOST_TEST(ztc_to(dir.file("out"), {"compile", "-o", "/dev/full", kExample}, &err) == 1);
  BOOST_TEST(err == "ztc: error: cannot write '/dev/full': No space left on device\n");
  BOOST_TEST(read_file(dir.file("out")) == "");
}

BOOST_AUTO_TEST_CASE(checked_output_reports_the_first_failed_write) {
  // A pipe whose reader is gone: the write fails (EPIPE, SIGPIPE ignored here).
  int fds[2];
  BOOST_REQUIRE(pipe(fds) == 0);
  close(fds[0]);
  auto old_handler = signal(SIGPIPE, SIG_IGN);
  {
    CheckedOutput buffer(fds[1], "the pipe");
    std::ostream out(&buffer);
    out << std::string(200000, 'x');
    BOOST_TEST(!buffer.finish());
    BOOST_TEST(buffer.error() == "cannot write the pipe: Broken pipe");
  }
  signal(SIGPIPE, old_handler);
  close(fds[1]);
  // Nothing written is fine.
  CheckedOutput unused(fds[1], "closed");
  BOOST_TEST(unused.finish());
}

// status and set list print what the node holds; a full stdout must not
// look like an empty node or an empty set.
BOOST_AUTO_TEST_CASE(node_commands_report_a_failed_stdout, *boost::unit_test::label("kernel")) {
  testing::AmbientNode node("ztc-output");
  BOOST_REQUIRE(node.ztc("load " + shell_quote(kExample)).exit_code == 0);
  BOOST_REQUIRE(node.ztc("set add " + shell_quote(kExample) + " pods 10.244.1.5").exit_code == 0);
  for (const std::string& command :
       {std::string("status"), "set list " + shell_quote(kExample) + " pods",
        "diff " + shell_quote(kExample), "load " + shell_quote(kExample)}) {
    BOOST_TEST_CONTEXT(command) {
      testing::ZtcRun run = node.ztc(command + " >/dev/full");
      BOOST_TEST(run.exit_code == 1);
      BOOST_TEST(run.err == kNoSpace);
    }
  }
  testing::ZtcRun listed = node.ztc("set list " + shell_quote(kExample) + " pods");
  BOOST_TEST(listed.exit_code == 0);
  BOOST_TEST(listed.out == "10.244.1.5\n");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc
