#include "backend/state_dir.h"

#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <string>

#include "testsupport/files.h"

namespace ztc {
namespace {

// A PID no process has: a child that has exited and been reaped.
pid_t gone_pid() {
  pid_t child = fork();
  if (child == 0) _exit(0);
  BOOST_TEST_REQUIRE(child > 0);
  waitpid(child, nullptr, 0);
  return child;
}

bool exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

BOOST_AUTO_TEST_SUITE(state_dir)

BOOST_AUTO_TEST_CASE(a_write_removes_the_temporaries_killed_writers_of_its_file_left) {
  testing::TempDir dir;
  std::string error;
  std::optional<StateDir> state = StateDir::open(dir.file("run"), &error);
  BOOST_TEST_REQUIRE(state.has_value(), error);
  const std::string dead = std::to_string(gone_pid());
  const std::string live = std::to_string(getppid());
  for (const std::string& name : {".load-7.tmp." + dead, ".load-7.tmp." + live,
                                  ".sysctl-7.tmp." + dead, ".load-7.tmp.x" + dead}) {
    dir.write("run/" + name, "half");
  }
  BOOST_TEST_REQUIRE(state->write("load-7", "{}", &error), error);
  BOOST_TEST(state->read("load-7", &error).value_or("") == "{}");
  BOOST_TEST(!exists(dir.file("run/.load-7.tmp." + dead)));
  BOOST_TEST(exists(dir.file("run/.load-7.tmp." + live)));    // maybe still writing
  BOOST_TEST(exists(dir.file("run/.sysctl-7.tmp." + dead)));  // another file's
  BOOST_TEST(exists(dir.file("run/.load-7.tmp.x" + dead)));   // not a temporary's name
  BOOST_TEST(!exists(dir.file("run/.load-7.tmp." + std::to_string(getpid()))));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc
