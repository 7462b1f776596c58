// Entering and switching namespaces, and the throwaway namespaces tests use.
#include "backend/netns.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <stdexcept>
#include <string>

#include "testsupport/test_netns.h"

namespace ztc {

BOOST_AUTO_TEST_SUITE(netns)

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
  BOOST_TEST(error ==
             "cannot open network namespace 'no-such-ztc-netns' "
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

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc
