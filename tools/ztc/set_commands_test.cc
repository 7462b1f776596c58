// `ztc set` command-line handling that needs no kernel: element words,
// usage errors, and the checks made before the node is opened. Every run
// names a namespace that does not exist, so a regression that got as far as
// the node could never touch this one.
#include "tools/ztc/set_commands.h"

#include <boost/test/unit_test.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tools/ztc/cli.h"

namespace ztc {
namespace {

const std::string kExample = std::string(ZTC_SOURCE_DIR) + "/examples/ambient-node.zt";

struct CliRun {
  int exit_code;
  std::string out, err;
};

CliRun cli(std::vector<std::string> args) {
  args.insert(args.begin(), "ztc");
  args.push_back("--netns");
  args.push_back("no-such-ztc-unit-netns");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  int code = run_cli(static_cast<int>(argv.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(set_commands)

BOOST_AUTO_TEST_CASE(element_words_take_an_optional_comment_each) {
  std::vector<MemberInput> members;
  std::string error;
  BOOST_TEST(parse_element_words(
      {"10.0.0.1", "comment", "uid 1", "10.0.0.2", "10.0.0.3", "comment", "x"}, &members, &error));
  BOOST_TEST_REQUIRE(members.size() == 3u);
  BOOST_TEST(members[0].comment.value_or("-") == "uid 1");
  BOOST_TEST(!members[1].comment.has_value());
  BOOST_TEST(members[2].value == "10.0.0.3");
  BOOST_TEST(members[2].comment.value_or("-") == "x");

  for (const auto& [words, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"comment", "x"}, "`comment` must follow an element: ELEMENT comment TEXT"},
           {{"10.0.0.1", "comment", "a", "comment", "b"},
            "`comment` must follow an element: ELEMENT comment TEXT"},
           {{"10.0.0.1", "comment"},
            "`comment` after '10.0.0.1' needs its text: ELEMENT comment TEXT"}}) {
    std::vector<MemberInput> out;
    std::string why;
    BOOST_TEST(!parse_element_words(words, &out, &why));
    BOOST_TEST(why == message);
  }
}

BOOST_AUTO_TEST_CASE(summaries_count_in_the_singular_and_the_plural) {
  auto result = [](size_t added, size_t unchanged, size_t routes) {
    EnrollResult r;
    r.added.assign(added, nft::Element{"10.0.0.1", ""});
    r.unchanged = unchanged;
    r.routes.assign(routes, route::DiffLine{'+', "route", Location{}});
    return r;
  };
  BOOST_TEST(summary_line("pods", result(0, 1, 0), kAlreadyMembers) ==
             "set pods: 1 already a member\n");
  BOOST_TEST(summary_line("pods", result(0, 2, 0), kAlreadyMembers) ==
             "set pods: 2 already members\n");
  BOOST_TEST(summary_line("pods", result(0, 1, 0), kNotMembers) == "set pods: 1 not a member\n");
  BOOST_TEST(summary_line("pods", result(0, 3, 0), kNotMembers) == "set pods: 3 not members\n");
  BOOST_TEST(summary_line("pods", result(1, 1, 1), kUnchanged) ==
             "set pods: 1 added, 1 unchanged; routes: 1 added\n");
  EnrollResult recommented = result(0, 0, 0);
  recommented.recommented.assign(1, nft::Element{"10.0.0.1", "uid"});
  BOOST_TEST(summary_line("pods", recommented, kAlreadyMembers) == "set pods: 1 comment changed\n");
  BOOST_TEST(summary_line("pods", result(0, 0, 0), kAlreadyMembers) ==
             "set pods: nothing to change\n");
}

BOOST_AUTO_TEST_CASE(mistakes_are_reported_before_the_node_is_opened) {
  CliRun bad = cli({"set", "add", kExample, "pods", "10.244.0.5", "10.0.0.300", "10.1.0.0/16"});
  BOOST_TEST(bad.exit_code == 1);
  BOOST_TEST(bad.out == "");
  BOOST_TEST(bad.err ==
             "ztc: error: element '10.0.0.300' of set 'pods' (ipv4): not an IPv4 address\n"
             "ztc: error: element '10.1.0.0/16' of set 'pods' (ipv4): a prefix where an address "
             "is required\n");

  CliRun unknown = cli({"set", "del", kExample, "podz", "10.244.0.5"});
  BOOST_TEST(unknown.exit_code == 1);
  BOOST_TEST(unknown.err == "ztc: error: the policy has no set 'podz' (managed sets: pods)\n");

  CliRun usage = cli({"set", "add", kExample, "pods", "10.244.0.5", "comment"});
  BOOST_TEST(usage.exit_code == 2);
  BOOST_TEST(usage.err ==
             "ztc: error: `comment` after '10.244.0.5' needs its text: ELEMENT comment TEXT\n");

  BOOST_TEST(cli({"set", "add", kExample, "pods"}).exit_code == 2);   // no element
  BOOST_TEST(cli({"set", "sync", kExample, "pods"}).exit_code == 2);  // no --from
  BOOST_TEST(cli({"set", "frob", kExample, "pods"}).exit_code == 2);
  CliRun stdin_twice = cli({"set", "sync", "-", "pods", "--from", "-"});
  BOOST_TEST(stdin_twice.exit_code == 2);
  BOOST_TEST(stdin_twice.err ==
             "ztc: error: the policy and --from cannot both be read from stdin\n");
  CliRun missing = cli({"set", "sync", kExample, "pods", "--from", "/nonexistent/pods.txt"});
  BOOST_TEST(missing.exit_code == 1);
  BOOST_TEST(missing.err == "ztc: error: cannot read /nonexistent/pods.txt\n");
}

BOOST_AUTO_TEST_CASE(a_good_command_stops_at_the_missing_namespace) {
  // Everything checks out, so the node is opened: the namespace does not exist.
  CliRun run = cli({"set", "add", kExample, "pods", "10.244.0.5"});
  BOOST_TEST(run.exit_code == 1);
  // (Or, run without privileges, at the privilege check before it.)
  BOOST_TEST((run.err.find("cannot enter network namespace 'no-such-ztc-unit-netns'") == 12u ||
              run.err.find("needs CAP_NET_ADMIN") != std::string::npos),
             run.err);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc
