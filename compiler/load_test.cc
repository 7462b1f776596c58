// The loader on a real file system: only regular files are read (a FIFO
// would block forever, a device has effects), and an included file that is
// not a policy shows at most its offending line, and only when it is text.
#include "compiler/load.h"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "testsupport/files.h"

namespace ztc {
namespace {

using testing::TempDir;

std::string errors_of(const std::string& path, FileSystem& files,
                      const std::vector<std::string>& include_dirs = {}) {
  Diagnostics diagnostics;
  load_policy(path, files, diagnostics, include_dirs);
  return diagnostics.render();
}

BOOST_AUTO_TEST_SUITE(load_files)

BOOST_AUTO_TEST_CASE(only_regular_files_are_included, *boost::unit_test::timeout(20)) {
  TempDir dir;
  BOOST_REQUIRE(mkfifo(dir.file("fifo").c_str(), 0600) == 0);
  BOOST_REQUIRE(mkdir(dir.file("sub").c_str(), 0700) == 0);
  RealFileSystem files;
  struct Case {
    std::string target;
    std::string reason;
  };
  for (const Case& c : {Case{dir.file("fifo"), "is a FIFO, not a regular file"},
                        Case{"/dev/zero", "is a device, not a regular file"},
                        Case{"/dev/null", "is a device, not a regular file"},
                        Case{dir.file("sub"), "is a directory"}}) {
    BOOST_TEST_CONTEXT(c.target) {
      std::string main = dir.write("main.zt", "table ip t\ninclude \"" + c.target + "\"\n");
      // /dev is allowed here so that the file type is what is refused.
      BOOST_TEST(errors_of(main, files, {"/dev"}) ==
                 main + ":2:1: error: cannot include '" + c.target + "': " + c.reason +
                     "\n    include \"" + c.target + "\"\n    ^\n");
    }
  }
  // The top file too: `ztc compile /dev/stdin` style names are refused, not read.
  BOOST_TEST(errors_of(dir.file("fifo"), files) ==
             "error: cannot read '" + dir.file("fifo") + "': is a FIFO, not a regular file\n");
}

BOOST_AUTO_TEST_CASE(an_include_that_is_not_text_is_reported_at_the_include) {
  TempDir dir;
  RealFileSystem files;
  std::string main = dir.write("main.zt", "table ip t\ninclude \"/bin/true\"\n");
  BOOST_TEST(errors_of(main, files, {"/bin"}) ==
             main +
                 ":2:1: error: cannot include '/bin/true': it is not a policy (line 1 is not "
                 "text)\n    include \"/bin/true\"\n    ^\n");
}

BOOST_AUTO_TEST_CASE(an_include_that_does_not_parse_shows_its_first_error_only) {
  MemoryFileSystem files;
  // Like /etc/shadow: many lines of text, none of them a policy.
  files.add("main.zt", "table ip t\ninclude \"secrets\"\n");
  files.add("secrets",
            "root:$y$j9T$secret:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"
            "bin:*:19000:0:99999:7:::\n");
  std::string errors = errors_of("main.zt", files);
  BOOST_TEST(errors.find("daemon") == std::string::npos);
  BOOST_TEST(errors.find("bin:") == std::string::npos);
  BOOST_TEST(errors.rfind("secrets:1:", 0) == 0u);
  // Two lines of excerpt at most: the offending line and its caret.
  size_t lines = 0;
  for (char c : errors) lines += c == '\n';
  BOOST_TEST(lines == 3u);
  // A policy with a typo: its first error, and how many more there are.
  files.add("typos.zt", "table ip t\nmark a = $\nmark b = $\n");
  files.add("main2.zt", "include \"typos.zt\"\n");
  BOOST_TEST(errors_of("main2.zt", files) ==
             "typos.zt:2:10: error: syntax error: unexpected '$', expected one of a number, a "
             "name (1 more in 'typos.zt' not shown)\n"
             "    mark a = $\n"
             "             ^\n");
}

// Includes stay in the policy's directory tree (or an --include-dir tree):
// `..` and symlinks are followed before the check.
BOOST_AUTO_TEST_CASE(includes_are_confined_to_the_policy_tree) {
  TempDir dir;
  BOOST_REQUIRE(mkdir(dir.file("policy").c_str(), 0700) == 0);
  BOOST_REQUIRE(mkdir(dir.file("policy/sub").c_str(), 0700) == 0);
  BOOST_REQUIRE(mkdir(dir.file("shared").c_str(), 0700) == 0);
  dir.write("outside.zt", "mark o = 0x4\n");
  dir.write("shared/marks.zt", "mark s = 0x2\n");
  dir.write("policy/sub/inside.zt", "mark i = 0x1\n");
  BOOST_REQUIRE(symlink(dir.file("outside.zt").c_str(), dir.file("policy/escape.zt").c_str()) == 0);
  BOOST_REQUIRE(
      symlink(dir.file("policy/sub/inside.zt").c_str(), dir.file("policy/alias.zt").c_str()) == 0);
  BOOST_REQUIRE(symlink("..", dir.file("policy/sub/up").c_str()) == 0);
  RealFileSystem files;
  std::string main = dir.write("policy/main.zt",
                               "table ip t\ninclude \"../outside.zt\"\ninclude "
                               "\"escape.zt\"\ninclude \"sub/up/../outside.zt\"\n"
                               "include \"alias.zt\"\n");
  std::string refusal = "': it is outside the include directories (" + dir.file("policy") +
                        "); --include-dir DIR allows another\n";
  BOOST_TEST(errors_of(main, files) ==
             main + ":2:1: error: cannot include '" + dir.file("policy/../outside.zt") + refusal +
                 "    include \"../outside.zt\"\n    ^\n" + main + ":3:1: error: cannot include '" +
                 dir.file("policy/escape.zt") + refusal + "    include \"escape.zt\"\n    ^\n" +
                 main + ":4:1: error: cannot include '" + dir.file("policy/sub/up/../outside.zt") +
                 refusal + "    include \"sub/up/../outside.zt\"\n    ^\n");
  // --include-dir widens it to another tree; a symlink within the tree is fine.
  std::string widened = dir.write(
      "policy/widened.zt", "table ip t\ninclude \"../shared/marks.zt\"\ninclude \"alias.zt\"\n");
  Diagnostics diagnostics;
  ast::Policy policy = load_policy(widened, files, diagnostics, {dir.file("shared")});
  BOOST_TEST(diagnostics.render() == "");
  BOOST_TEST(policy.statements.size() == 3u);
  // An include dir that does not exist is named.
  Diagnostics missing;
  load_policy(widened, files, missing, {dir.file("nope")});
  BOOST_TEST(missing.render() ==
             "error: --include-dir " + dir.file("nope") + ": No such file or directory\n");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc
