// The real `ztc` binary, run as a user would: exit codes (0 ok, 1 policy or
// file errors, 2 usage), what goes to stdout and what to stderr, -o, stdin,
// and hostile inputs (a directory, a missing file, a binary).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "testsupport/files.h"
#include "testsupport/golden.h"

namespace ztc {
namespace {

using testing::read_file;
using testing::source_path;

using testing::TempDir;

struct Run {
  int exit_code = -1;  // -signal when killed by a signal
  std::string out;
  std::string err;
};

// Runs ZTC_BINARY with `args`, stdin from `input` (nothing when empty), in
// directory `cwd`. Output goes to files, so nothing can block on a pipe.
Run ztc(const std::vector<std::string>& args, const std::string& input = "",
        const std::string& cwd = "") {
  TempDir io;
  std::string in_path = io.write("stdin", input);
  std::string out_path = io.file("stdout");
  std::string err_path = io.file("stderr");
  pid_t pid = fork();
  BOOST_TEST_REQUIRE(pid >= 0);
  if (pid == 0) {
    int in = open(in_path.c_str(), O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0) _exit(125);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
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
  Run run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  run.out = read_file(out_path);
  run.err = read_file(err_path);
  return run;
}

const std::string kExample = "examples/ambient-node.zt";
const std::string kUsageHint = "Run 'ztc --help' for usage.\n";

bool has_control_bytes(const std::string& text) {
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\n' && c != '\t') || byte >= 0x7f) return true;
  }
  return false;
}

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(help_lists_the_commands) {
  for (const char* flag : {"--help", "-h"}) {
    BOOST_TEST_CONTEXT(flag) {
      Run run = ztc({flag});
      BOOST_TEST(run.exit_code == 0);
      BOOST_TEST(run.err == "");
      BOOST_TEST(run.out.find("Usage:") != std::string::npos);
      BOOST_TEST(run.out.find("\n  compile ") != std::string::npos);
    }
  }
  Run run = ztc({"compile", "--help"});
  BOOST_TEST(run.exit_code == 0);
  BOOST_TEST(run.err == "");
  for (const char* option : {"FILE", "-D,--define", "--emit", "-o,--output"}) {
    BOOST_TEST(run.out.find(option) != std::string::npos, option);
  }
}

BOOST_AUTO_TEST_CASE(version) {
  Run run = ztc({"--version"});
  BOOST_TEST(run.exit_code == 0);
  BOOST_TEST(run.out == std::string("ztc ") + ZTC_VERSION + "\n");
  BOOST_TEST(run.err == "");
}

struct UsageCase {
  std::vector<std::string> args;
  std::string err;
};

BOOST_AUTO_TEST_CASE(usage_errors_exit_2_with_a_message_and_no_output) {
  const std::string policy = source_path(kExample);
  const std::vector<UsageCase> cases = {
      {{}, "ztc: error: A subcommand is required\n" + kUsageHint},
      {{"compile", "--bogus", policy},
       "ztc: error: The following argument was not expected: --bogus\n" + kUsageHint},
      {{"--bogus", "compile", policy}, "ztc: error: unknown option '--bogus'\n" + kUsageHint},
      {{"compile"}, "ztc: error: FILE is required\n" + kUsageHint},
      {{"compile", policy, policy},
       "ztc: error: The following argument was not expected: " + policy + "\n" + kUsageHint},
      {{"compile", "-D", "ztunnel_ip", policy}, "ztc: error: -D ztunnel_ip: expected NAME=VALUE\n"},
      {{"compile", "-D", "=10.0.0.1", policy}, "ztc: error: -D =10.0.0.1: expected NAME=VALUE\n"},
      {{"compile", policy, "-D"},
       "ztc: error: --define: 1 required NAME=VALUE missing\n" + kUsageHint},
      {{"compile", "--emit", "bogus", policy},
       "ztc: error: --emit: bogus not in {all,nft,json,routes,routes-ipv4,routes-ipv6,ast,ir}\n" +
           kUsageHint},
  };
  for (const UsageCase& c : cases) {
    std::string joined;
    for (const std::string& a : c.args) joined += " " + a;
    BOOST_TEST_CONTEXT("ztc" << joined) {
      Run run = ztc(c.args);
      BOOST_TEST(run.exit_code == 2);
      BOOST_TEST(run.out == "");
      BOOST_TEST(run.err == c.err);
    }
  }
}

// An option that names something, given as '' (an unset shell variable), is
// a usage error: `--netns ''` used to mean the host's namespace. So is a
// --lock-timeout that is not a number of seconds. All refused before any
// privilege check, file read or kernel access.
BOOST_AUTO_TEST_CASE(empty_names_and_bad_timeouts_are_usage_errors) {
  const std::string policy = source_path(kExample);
  const std::string netns =
      "ztc: error: --netns: must not be empty (it names a network "
      "namespace, as `ip netns list` shows them)\n" +
      kUsageHint;
  const std::vector<UsageCase> cases = {
      {{"load", policy, "--netns", ""}, netns},
      {{"load", policy, "--netns="}, "ztc: error: --netns: 1 required TEXT missing\n" + kUsageHint},
      {{"unload", policy, "--netns", ""}, netns},
      {{"diff", policy, "--netns", ""}, netns},
      {{"status", "--netns", ""}, netns},
      {{"preflight", policy, "--netns", ""}, netns},
      {{"explain", policy, "--netns", "", "iif", "eth0", "tcp"}, netns},
      {{"set", "sync", policy, "pods", "--from", "-", "--netns", ""}, netns},
      {{"compile", ""},
       "ztc: error: FILE: must not be empty (it names a policy file, or - for stdin)\n" +
           kUsageHint},
      {{"load", ""},
       "ztc: error: FILE: must not be empty (it names a policy file, or - for stdin)\n" +
           kUsageHint},
      {{"compile", policy, "-o", ""},
       "ztc: error: --output: must not be empty (it names the output file)\n" + kUsageHint},
      {{"set", "sync", policy, "pods", "--from", ""},
       "ztc: error: --from: must not be empty (it names a members file, or - for stdin)\n" +
           kUsageHint},
      {{"set", "add", policy, "", "10.244.1.5"},
       "ztc: error: SET: must not be empty (it names a managed set of the policy)\n" + kUsageHint},
      {{"load", policy, "--lock-timeout", "garbage"},
       "ztc: error: --lock-timeout: 'garbage' is not a number of seconds from 0 to 86400\n" +
           kUsageHint},
      {{"set", "list", policy, "pods", "--lock-timeout", "-1"},
       "ztc: error: --lock-timeout: '-1' is not a number of seconds from 0 to 86400\n" +
           kUsageHint},
      {{"unload", policy, "--lock-timeout", ""},
       "ztc: error: --lock-timeout: '' is not a number of seconds from 0 to 86400\n" + kUsageHint},
      {{"diff", policy, "--lock-timeout", "1e3"},
       "ztc: error: --lock-timeout: '1e3' is not a number of seconds from 0 to 86400\n" +
           kUsageHint},
      {{"load", policy, "--lock-timeout", "86401"},
       "ztc: error: --lock-timeout: '86401' is not a number of seconds from 0 to 86400\n" +
           kUsageHint},
      {{"status", "--lock-timeout", "5"},
       "ztc: error: The following arguments were not expected: 5 --lock-timeout\n" + kUsageHint},
  };
  for (const UsageCase& c : cases) {
    std::string joined;
    for (const std::string& a : c.args) joined += " '" + a + "'";
    BOOST_TEST_CONTEXT("ztc" << joined) {
      Run run = ztc(c.args);
      BOOST_TEST(run.exit_code == 2);
      BOOST_TEST(run.out == "");
      BOOST_TEST(run.err == c.err);
    }
  }
}

// An unknown flag or command alone is reported as a missing subcommand: the
// message should name what the user got wrong, as it does after a
// subcommand.
BOOST_AUTO_TEST_CASE(unknown_flag_or_command_without_subcommand_is_named) {
  for (const char* word : {"--bogus", "frobnicate"}) {
    Run run = ztc({word});
    BOOST_TEST(run.exit_code == 2);
    BOOST_TEST(run.err.find(word) != std::string::npos, run.err);
  }
}

BOOST_AUTO_TEST_CASE(bad_policy_exits_1_with_diagnostics_on_stderr_only) {
  TempDir dir;
  dir.write(
      "bad.zt",
      "table ip t\nmark skip = 0x200\ncapture prerouting {\n  iif tunnel => mark |= skp\n}\n");
  for (const char* emit : {"all", "nft", "ir"}) {
    BOOST_TEST_CONTEXT(emit) {
      Run run = ztc({"compile", "--emit", emit, "bad.zt"}, "", dir.path());
      BOOST_TEST(run.exit_code == 1);
      BOOST_TEST(run.out == "");
      BOOST_TEST(run.err ==
                 "bad.zt:4:7: error: undefined interface 'tunnel'\n"
                 "      iif tunnel => mark |= skp\n"
                 "          ^\n"
                 "bad.zt:4:25: error: undefined mark 'skp'\n"
                 "      iif tunnel => mark |= skp\n"
                 "                            ^\n");
    }
  }
  Run syntax = ztc({"compile", "syntax.zt"}, "", dir.path());
  BOOST_TEST(syntax.exit_code == 1);
  BOOST_TEST(syntax.err == "error: cannot read 'syntax.zt': No such file or directory\n");
  dir.write("syntax.zt", "table ip t\nmark a = 0x1 $\n");
  syntax = ztc({"compile", "syntax.zt"}, "", dir.path());
  BOOST_TEST(syntax.exit_code == 1);
  BOOST_TEST(syntax.out == "");
  BOOST_TEST(
      syntax.err ==
      "syntax.zt:2:14: error: syntax error: unexpected '$', expected the start of a statement "
      "(table, param, mark, iface, set, capture, rule, route, ...)\n"
      "    mark a = 0x1 $\n"
      "                 ^\n");
}

BOOST_AUTO_TEST_CASE(good_policy_prints_each_stage) {
  // The CLI prints what the library produces: the golden files of the example.
  const std::string base = "testdata/examples/ambient-node";
  const std::vector<std::pair<std::string, std::string>> emits = {
      {"nft", ".nft"}, {"json", ".json"}, {"routes", ".routes"}, {"ast", ".ast"}, {"ir", ".ir"}};
  for (const auto& [emit, extension] : emits) {
    BOOST_TEST_CONTEXT("--emit " << emit) {
      // Relative path, as the golden files were made.
      Run run = ztc({"compile", "--emit", emit, kExample}, "", ZTC_SOURCE_DIR);
      BOOST_TEST(run.exit_code == 0);
      BOOST_TEST(run.err == "");
      std::string expected = read_file(source_path(base + extension));
      BOOST_REQUIRE(!expected.empty());
      BOOST_TEST(run.out == expected);
    }
  }
  Run all = ztc({"compile", kExample}, "", ZTC_SOURCE_DIR);
  BOOST_TEST(all.exit_code == 0);
  BOOST_TEST(all.err == "");
  BOOST_TEST(all.out == "# nftables: nft -f\n" + read_file(source_path(base + ".nft")) +
                            "\n# routing: ip -batch\n" + read_file(source_path(base + ".routes")));
  Run explicit_all = ztc({"compile", "--emit", "all", kExample}, "", ZTC_SOURCE_DIR);
  BOOST_TEST(explicit_all.out == all.out);
}

BOOST_AUTO_TEST_CASE(defines_reach_the_policy) {
  const std::string policy = source_path(kExample);
  Run run = ztc({"compile", "--emit", "ir", "-D", "ztunnel_ip=10.244.1.9", "--define",
                 "ztunnel_veth=vethabc", policy});
  BOOST_TEST(run.exit_code == 0);
  BOOST_TEST(run.err == "");
  BOOST_TEST(run.out.find("param ztunnel_veth: ifname = vethabc (-D)\n") != std::string::npos);
  BOOST_TEST(run.out.find("param ztunnel_ip: ipv4 = 10.244.1.9 (-D)\n") != std::string::npos);
  BOOST_TEST(run.out.find("route ipv4 table 102 default via 10.244.1.9 dev vethabc onlink\n") !=
             std::string::npos);
  // The last -D of a name wins.
  run =
      ztc({"compile", "--emit", "ir", "-D", "host_ip=10.0.0.1", "-D", "host_ip=10.0.0.2", policy});
  BOOST_TEST(run.exit_code == 0);
  BOOST_TEST(run.out.find("param host_ip: ipv4 = 10.0.0.2 (-D)\n") != std::string::npos);

  TempDir dir;
  dir.write("p.zt", "table ip t\nparam a: ipv4 = 10.0.0.1\n");
  run = ztc({"compile", "-D", "nope=1", "-D", "a=10.0.0.300", "p.zt"}, "", dir.path());
  BOOST_TEST(run.exit_code == 1);
  BOOST_TEST(run.out == "");
  BOOST_TEST(run.err ==
             "p.zt: error: -D nope=1: the policy has no parameter 'nope'\n"
             "p.zt:2:1: error: -D a=10.0.0.300: not an IPv4 address (parameter is ipv4)\n"
             "    param a: ipv4 = 10.0.0.1\n"
             "    ^\n");
}

BOOST_AUTO_TEST_CASE(output_file) {
  TempDir dir;
  const std::string policy = source_path(kExample);
  Run to_stdout = ztc({"compile", "--emit", "nft", policy});
  BOOST_REQUIRE(to_stdout.exit_code == 0);
  Run run = ztc({"compile", "--emit", "nft", "-o", dir.file("out.nft"), policy});
  BOOST_TEST(run.exit_code == 0);
  BOOST_TEST(run.out == "");
  BOOST_TEST(run.err == "");
  BOOST_TEST(read_file(dir.file("out.nft")) == to_stdout.out);
  // An existing file is replaced, not appended to.
  dir.write("old.txt", std::string(100000, 'x'));
  run = ztc({"compile", "--emit", "routes", "--output", dir.file("old.txt"), policy});
  BOOST_TEST(run.exit_code == 0);
  BOOST_TEST(read_file(dir.file("old.txt")) ==
             read_file(source_path("testdata/examples/ambient-node.routes")));
  // A policy with errors writes no file at all.
  dir.write("bad.zt", "table ip t\nmark a = nope\n");
  run = ztc({"compile", "-o", dir.file("never.txt"), dir.file("bad.zt")});
  BOOST_TEST(run.exit_code == 1);
  struct stat info {};
  BOOST_TEST(stat(dir.file("never.txt").c_str(), &info) != 0);
  // A file that cannot be written is an error, not a silent success.
  run = ztc({"compile", "-o", dir.file("no/such/dir/out.nft"), policy});
  BOOST_TEST(run.exit_code == 1);
  BOOST_TEST(run.out == "");
  BOOST_TEST(
      run.err.rfind("ztc: error: cannot write '" + dir.file("no/such/dir/out.nft") + "'", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(policy_from_stdin) {
  std::string text = read_file(source_path(kExample));
  BOOST_REQUIRE(!text.empty());
  Run from_file = ztc({"compile", "--emit", "nft", source_path(kExample)});
  Run run = ztc({"compile", "--emit", "nft", "-"}, text);
  BOOST_TEST(run.exit_code == 0);
  BOOST_TEST(run.err == "");
  BOOST_TEST(run.out == from_file.out);
  // Diagnostics name the input <stdin>.
  run = ztc({"compile", "-"}, "table ip t\nmark a = 0x1 $\n");
  BOOST_TEST(run.exit_code == 1);
  BOOST_TEST(run.out == "");
  BOOST_TEST(run.err ==
             "<stdin>:2:14: error: syntax error: unexpected '$', expected the start of a statement "
             "(table, param, mark, iface, set, capture, rule, route, ...)\n"
             "    mark a = 0x1 $\n"
             "                 ^\n");
  // Empty input is a valid, empty policy: it owns no table.
  run = ztc({"compile", "-"}, "");
  BOOST_TEST(run.exit_code == 1);
  BOOST_TEST(run.err ==
             "<stdin>: error: the policy declares no table: add e.g. `table ip ztunnel`\n");
  // Includes from stdin resolve against the current directory.
  TempDir dir;
  dir.write("marks.zt", "mark skip = 0x200\n");
  run = ztc({"compile", "--emit", "ir", "-"}, "table ip t\ninclude \"marks.zt\"\n", dir.path());
  BOOST_TEST(run.exit_code == 0);
  BOOST_TEST(run.out == "table ip t\nmark skip 0x200/0x200\n");
}

struct FileErrorCase {
  const char* name;
  std::string path;
  std::string err;
};

BOOST_AUTO_TEST_CASE(unreadable_inputs_exit_1_with_a_clear_message) {
  TempDir dir;
  mkdir(dir.file("policy.d").c_str(), 0700);
  const std::vector<FileErrorCase> cases = {
      {"a directory", dir.file("policy.d"),
       "error: cannot read '" + dir.file("policy.d") + "': is a directory\n"},
      {"a missing file", dir.file("missing.zt"),
       "error: cannot read '" + dir.file("missing.zt") + "': No such file or directory\n"},
      {"a file below a regular file", "/bin/true/x.zt",
       "error: cannot read '/bin/true/x.zt': Not a directory\n"},
  };
  for (const FileErrorCase& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      Run run = ztc({"compile", c.path});
      BOOST_TEST(run.exit_code == 1);
      BOOST_TEST(run.out == "");
      BOOST_TEST(run.err == c.err);
    }
  }
}

BOOST_AUTO_TEST_CASE(binary_file_is_a_syntax_error_not_a_crash) {
  for (const char* binary : {"/bin/true", "/bin/sh"}) {
    BOOST_TEST_CONTEXT(binary) {
      Run run = ztc({"compile", binary});
      BOOST_TEST(run.exit_code == 1);  // not killed by a signal, not 0
      BOOST_TEST(run.out == "");
      BOOST_TEST(run.err.rfind(std::string(binary) +
                                   ":1:1: error: syntax error: unexpected byte 0x7f, expected the "
                                   "start of a statement",
                               0) == 0u);
      // The ELF bytes are shown as \xNN, clipped: the terminal gets text.
      BOOST_TEST(!has_control_bytes(run.err));
      BOOST_TEST(run.err.find("\n    \\x7fELF") != std::string::npos);
      BOOST_TEST(run.err.size() < 20000u);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc
