// Hostile input: every limit of the front end is a located diagnostic, not a
// crash, a hang or gigabytes of memory. In memory through compile_policy, and
// through the real binary (exit status 1, peak memory from getrusage) for what
// only the binary can show: a 100 MB file is refused without being read.
// Inputs are generated here; nothing large is committed.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "compiler/compile.h"
#include "compiler/parse.h"
#include "testsupport/files.h"

namespace ztc {
namespace {

struct Compiled {
  bool ok = false;
  std::string errors;
  int error_count = 0;
};

Compiled compile_files(MemoryFileSystem& files, const std::string& path) {
  Diagnostics diagnostics;
  auto compiled = compile_policy(path, files, {}, diagnostics);
  return {compiled.has_value(), diagnostics.render(), diagnostics.error_count()};
}

Compiled compile_text(const std::string& text) {
  MemoryFileSystem files;
  files.add("p.zt", text);
  return compile_files(files, "p.zt");
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string repeat(const std::string& unit, size_t times) {
  std::string out;
  out.reserve(unit.size() * times);
  for (size_t i = 0; i < times; ++i) out += unit;
  return out;
}

using testing::TempDir;

// A sparse file of `bytes` NUL bytes in `dir`: costs no disk and no time to make.
std::string sparse_file(const TempDir& dir, const std::string& name, off_t bytes) {
  int fd = open(dir.file(name).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  BOOST_TEST_REQUIRE(fd >= 0);
  BOOST_TEST_REQUIRE(ftruncate(fd, bytes) == 0);
  close(fd);
  return dir.file(name);
}

struct Run {
  int exit_code = -1;
  std::string err;
  long peak_rss_kb = 0;
};

// The peak memory of a child is only its own when it was forked by a small
// process: a child's ru_maxrss starts at its parent's resident size (fork
// copies the page tables, exec keeps the high-water mark), and this test
// binary is large. So python3 forks ztc and reports its ru_maxrss.
const char kMeasure[] = R"(
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128)
)";

// ZTC_BINARY `args`, stdin from `stdin_path` (/dev/null when empty); stdout is
// dropped, stderr kept.
Run run_ztc(const std::vector<std::string>& args, const std::string& stdin_path = "") {
  TempDir io;
  std::string err_path = io.file("stderr");
  std::string rss_path = io.file("rss");
  pid_t pid = fork();
  BOOST_TEST_REQUIRE(pid >= 0);
  if (pid == 0) {
    int in = open(stdin_path.empty() ? "/dev/null" : stdin_path.c_str(), O_RDONLY);
    int out = open("/dev/null", O_WRONLY);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0) _exit(125);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<std::string> copy{"python3", "-c", kMeasure, rss_path, ZTC_BINARY};
    copy.insert(copy.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp("python3", argv.data());
    _exit(127);
  }
  int status = 0;
  BOOST_TEST_REQUIRE(waitpid(pid, &status, 0) == pid);
  Run run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(err_path, std::ios::binary);
  run.err.assign(std::istreambuf_iterator<char>(err), std::istreambuf_iterator<char>());
  std::ifstream(rss_path) >> run.peak_rss_kb;
  BOOST_TEST(run.peak_rss_kb > 0);
  BOOST_TEST_MESSAGE("ztc " << args[0] << " " << args.back() << ": peak RSS " << run.peak_rss_kb
                            << " KiB");
  return run;
}

BOOST_AUTO_TEST_SUITE(robustness)

// The grammar nests nothing, so no depth limit is needed: deep "nesting" is a
// syntax error at its second bracket, and error recovery is linear.
BOOST_AUTO_TEST_CASE(deep_nesting_is_one_syntax_error) {
  struct Case {
    std::string text;
    std::string first;
  };
  const size_t kDeep = 100000;
  const Case cases[] = {
      {"table ip t\ncapture prerouting " + repeat("{", kDeep),
       "p.zt:2:21: error: syntax error: unexpected '{', expected one of 'mark', 'bypass', 'iif', "
       "'oif', 'saddr', 'daddr', 'tcp', 'udp', 'ct', '=>', '}'"},
      {repeat("{", kDeep),
       "p.zt:1:1: error: syntax error: unexpected '{', expected the start of a "
       "statement (table, param, mark, iface, set, capture, rule, route, ...)"},
      {"table ip t\n" + repeat("}", kDeep),
       "p.zt:2:1: error: syntax error: unexpected '}', expected the start of a statement (table, "
       "param, mark, iface, set, capture, rule, route, ...)"},
      {"table ip t\nnat prerouting { tcp => dnat to " + repeat("[", kDeep) + " }",
       "p.zt:2:34: error: syntax error: unexpected '[', expected one of an IPv4 address, an IPv6 "
       "address, a number, a name, a string"},
      {"table ip t\nroute 100 {" + repeat(" route 100 {", kDeep),
       "p.zt:2:13: error: syntax error: unexpected 'route', expected one of 'default', 'member', "
       "'}', an IPv4 address, an IPv6 address, a number, a name, a string"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.text.substr(0, 40)) {
      Compiled compiled = compile_text(c.text);
      BOOST_TEST(!compiled.ok);
      BOOST_TEST(first_line(compiled.errors) == c.first);
      BOOST_TEST(compiled.error_count <= Diagnostics::kMaxErrors);
    }
  }
}

// A long chain of `|` is a loop, not recursion, in every stage.
BOOST_AUTO_TEST_CASE(long_mark_expression) {
  Compiled compiled =
      compile_text("table ip t\nmark a = 0x1\nmark b = 0x2 " + repeat("| a ", 100000) + "\n");
  BOOST_TEST(compiled.ok);
  BOOST_TEST(compiled.errors == "");
}

BOOST_AUTO_TEST_CASE(a_token_longer_than_the_limit_is_refused_where_it_starts) {
  BOOST_TEST(
      first_line(compile_text("table ip t\nmark " + std::string(kMaxTokenBytes, 'a') + " = 0x1\n")
                     .errors) == "");
  for (const std::string& token :
       {std::string(kMaxTokenBytes + 1, 'a'), "\"" + std::string(kMaxTokenBytes, 'a') + "\"",
        std::string(kMaxTokenBytes + 1, '9')}) {
    Compiled compiled = compile_text("table ip t\nmark " + token + " = 0x1\n");
    BOOST_TEST(!compiled.ok);
    BOOST_TEST(first_line(compiled.errors) == "p.zt:2:6: error: a token of " +
                                                  std::to_string(token.size()) +
                                                  " bytes (the limit is 65536)");
    BOOST_TEST(compiled.error_count == 1);
  }
}

// Comments and blank space are not tokens: a huge comment costs nothing.
BOOST_AUTO_TEST_CASE(an_eight_megabyte_comment_line_is_fine) {
  Compiled compiled = compile_text("table ip t\n# " + std::string(8 << 20, 'x') + "\n" +
                                   std::string(1 << 20, ' ') + "mark a = 0x1\n");
  BOOST_TEST(compiled.ok);
  BOOST_TEST(compiled.errors == "");
}

// One-byte tokens would otherwise cost ~250 bytes each in ANTLR: 64 MiB of
// them, gigabytes.
BOOST_AUTO_TEST_CASE(more_tokens_than_the_limit_are_refused_at_the_first_one_past_it) {
  const std::string too_large =
      "error: policy too large: more than 1000000 tokens (with its includes)";
  // `;` is a statement: valid up to the limit.
  Compiled semicolons = compile_text("table ip t\n" + std::string(kMaxPolicyTokens - 2, ';'));
  BOOST_TEST(!semicolons.ok);
  BOOST_TEST(first_line(semicolons.errors) == "p.zt:2:999998: " + too_large);
  BOOST_TEST(semicolons.error_count == 1);
  // A syntax error after the limit is not reached.
  Compiled garbage = compile_text(std::string(kMaxPolicyTokens + 1, '$'));
  BOOST_TEST(garbage.errors.find("p.zt:1:1000001: " + too_large + "\n") != std::string::npos);
  // Set elements read without ANTLR count as well.
  Compiled elements =
      compile_text("table ip t\nset s: ipv4 = {" + repeat("1,", kMaxPolicyTokens) + "}");
  BOOST_TEST(first_line(elements.errors) == "p.zt:2:1000007: " + too_large);
}

BOOST_AUTO_TEST_CASE(the_token_limit_holds_for_a_policy_with_its_includes) {
  MemoryFileSystem files;
  std::string top = "table ip t\n";
  for (int i = 0; i < 4; ++i) {
    std::string name = "part" + std::to_string(i) + ".zt";
    top += "include \"" + name + "\"\n";
    files.add(name, std::string(kMaxPolicyTokens / 3, ';'));
  }
  files.add("top.zt", top);
  Compiled compiled = compile_files(files, "top.zt");
  BOOST_TEST(!compiled.ok);
  // 3 + 2 * 4 tokens in top.zt, a third of the budget in each of the first two
  // parts, so the third part runs out.
  const size_t column = kMaxPolicyTokens - 11 - 2 * (kMaxPolicyTokens / 3) + 1;
  BOOST_TEST(first_line(compiled.errors) ==
             "part2.zt:1:" + std::to_string(column) +
                 ": error: policy too large: more than 1000000 tokens (with its includes)");
}

// Each file including the next one ten times: 10^20 files without a bound.
BOOST_AUTO_TEST_CASE(an_include_tree_that_fans_out_stops_at_the_file_limit) {
  MemoryFileSystem files;
  files.add("top.zt", "table ip t\ninclude \"f0.zt\"\n");
  for (int i = 0; i < 20; ++i) {
    std::string text = "mark m" + std::to_string(i) + " = 0x1\n";
    for (int k = 0; k < 10; ++k) text += "include \"f" + std::to_string(i + 1) + ".zt\"\n";
    files.add("f" + std::to_string(i) + ".zt", text);
  }
  files.add("f20.zt", "");
  Compiled compiled = compile_files(files, "top.zt");
  BOOST_TEST(!compiled.ok);
  BOOST_TEST(
      compiled.errors.find("error: cannot include 'f14.zt': a policy reads at most 256 files\n") !=
      std::string::npos);
  BOOST_TEST(compiled.error_count <= Diagnostics::kMaxErrors);
}

BOOST_AUTO_TEST_CASE(includes_of_more_than_the_byte_limit_in_all_are_refused) {
  MemoryFileSystem files;
  // Five files of 15 MiB of blank space: each fine, 64 MiB in all is not.
  std::string top = "table ip t\n";
  for (int i = 0; i < 5; ++i) {
    std::string name = "blank" + std::to_string(i) + ".zt";
    top += "include \"" + name + "\"\n";
    files.add(name, std::string(15u << 20, '\n'));
  }
  files.add("top.zt", top);
  Compiled compiled = compile_files(files, "top.zt");
  BOOST_TEST(!compiled.ok);
  BOOST_TEST(first_line(compiled.errors) ==
             "top.zt:6:1: error: cannot include 'blank4.zt': the policy and its includes are "
             "larger than 64 MiB in all");
}

// The same file under ever longer names ("./a.zt", "././a.zt", ...) is the
// same file once resolved: a cycle, at once.
BOOST_AUTO_TEST_CASE(a_file_including_itself_under_another_name_is_a_cycle) {
  MemoryFileSystem files;
  std::string path = "a.zt";
  for (int i = 0; i < 40; ++i) {
    files.add(path, "include \"./a.zt\"\n");
    path = "./" + path;
  }
  Compiled compiled = compile_files(files, "a.zt");
  BOOST_TEST(!compiled.ok);
  BOOST_TEST(first_line(compiled.errors) ==
             "a.zt:1:1: error: include cycle: './a.zt' includes itself");
}

BOOST_AUTO_TEST_CASE(numbers_of_any_length_are_refused_not_wrapped) {
  for (const std::string& number :
       {std::string("4294967296"), std::string(1000, '9'), "0x1" + std::string(1000, '0')}) {
    BOOST_TEST_CONTEXT(number.substr(0, 20)) {
      Compiled compiled = compile_text("table ip t\nmark m = " + number + "\n");
      BOOST_TEST(!compiled.ok);
      BOOST_TEST(first_line(compiled.errors).find("p.zt:2:10: error: ") == 0u);
      BOOST_TEST(first_line(compiled.errors).find("does not fit in 32 bits") != std::string::npos);
    }
  }
}

// --- through the binary

BOOST_AUTO_TEST_CASE(a_hundred_megabyte_file_is_refused_without_reading_it) {
  TempDir dir;
  std::string big = sparse_file(dir, "big.zt", 100 << 20);
  Run direct = run_ztc({"compile", big});
  BOOST_TEST(direct.exit_code == 1);
  BOOST_TEST(direct.err == "error: cannot read '" + big +
                               "': file too large (104857600 bytes; the limit is 64 MiB)\n");
  // Reading it would take 100 MB at least; ztc with ASan takes ~50 MB.
  BOOST_TEST(direct.peak_rss_kb < 96 * 1024);

  std::string top = dir.write("top.zt", "table ip t\ninclude \"big.zt\"\n");
  Run included = run_ztc({"compile", top});
  BOOST_TEST(included.exit_code == 1);
  BOOST_TEST(first_line(included.err) ==
             top + ":2:1: error: cannot include '" + big +
                 "': file too large (104857600 bytes; the limit is 64 MiB)");
  BOOST_TEST(included.peak_rss_kb < 96 * 1024);
}

// Where the size is not known in advance (stdin), reading stops just past the
// limit; a device is not read at all.
BOOST_AUTO_TEST_CASE(an_unbounded_stream_is_read_only_up_to_the_limit) {
  TempDir dir;
  std::string big = sparse_file(dir, "big.zt", 100 << 20);
  Run from_stdin = run_ztc({"compile", "-"}, big);
  BOOST_TEST(from_stdin.exit_code == 1);
  BOOST_TEST(from_stdin.err == "error: <stdin>: policy too large (the limit is 64 MiB)\n");
  Run from_device = run_ztc({"compile", "/dev/zero"});
  BOOST_TEST(from_device.exit_code == 1);
  BOOST_TEST(from_device.err ==
             "error: cannot read '/dev/zero': is a device, not a regular file\n");
  // 64 MiB and the string's growth, not 100 MB or more (ASan adds its own).
  BOOST_TEST(from_stdin.peak_rss_kb < 400 * 1024);
  BOOST_TEST(from_device.peak_rss_kb < 400 * 1024);
}

// The worst case within the limits: a file just under 64 MiB of one-byte
// tokens. Before the token limit and parse.cc's AsciiStream it took 1.7 GB
// (without ASan; 365 MB after), and 64 MiB of blank space 1.4 GB (138 MB).
BOOST_AUTO_TEST_CASE(a_file_of_one_byte_tokens_at_the_size_limit_takes_bounded_memory) {
  TempDir dir;
  std::string path = dir.write("tokens.zt", std::string((64u << 20) - 1, '$'));
  Run run = run_ztc({"compile", path});
  BOOST_TEST(run.exit_code == 1);
  // The syntax error at the first byte, then where the input was cut.
  BOOST_TEST(run.err.find(path + ":1:1000001: error: policy too large: more than 1000000 tokens "
                                 "(with its includes)\n") != std::string::npos);
  BOOST_TEST(run.peak_rss_kb < 1024 * 1024);
  Run blank = run_ztc({"compile", dir.write("blank.zt", std::string((64u << 20) - 1, ' '))});
  BOOST_TEST(blank.exit_code == 1);  // no table
  BOOST_TEST(blank.peak_rss_kb < 512 * 1024);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc
