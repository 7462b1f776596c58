// Golden tests: every policy under testdata/good and examples/ compiles to
// its expected AST and IR dumps, nft text, nft JSON and routing batch; every
// policy under testdata/bad fails with exactly its expected diagnostics.
// `# ztc: -D NAME=VALUE` lines in a policy pass overrides.
#include <dirent.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <sstream>

#include "backend/nft_json.h"
#include "backend/nft_text.h"
#include "backend/routing_text.h"
#include "compiler/compile.h"
#include "compiler/dump.h"
#include "testsupport/golden.h"

namespace ztc {
namespace {

using testing::compare_golden;
using testing::source_path;

using testing::SourceTreeFileSystem;

std::vector<std::string> policies_in(const std::string& relative_dir) {
  std::vector<std::string> names;
  DIR* dir = opendir(source_path(relative_dir).c_str());
  if (dir == nullptr) return names;
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name.size() > 3 && name.compare(name.size() - 3, 3, ".zt") == 0) {
      names.push_back(name.substr(0, name.size() - 3));
    }
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

Overrides overrides_in(const std::string& relative_path) {
  Overrides out;
  std::istringstream in(testing::read_file(source_path(relative_path)));
  const std::string marker = "# ztc: -D ";
  for (std::string line; std::getline(in, line);) {
    if (line.compare(0, marker.size(), marker) != 0) continue;
    std::string define = line.substr(marker.size());
    size_t eq = define.find('=');
    out.emplace_back(define.substr(0, eq), eq == std::string::npos ? "" : define.substr(eq + 1));
  }
  return out;
}

void check_good(const std::string& policy_dir, const std::string& name,
                const std::string& golden_dir) {
  std::string policy = policy_dir + "/" + name + ".zt";
  BOOST_TEST_CONTEXT(policy) {
    SourceTreeFileSystem files;
    Diagnostics diagnostics;
    auto compiled = compile_policy(policy, files, overrides_in(policy), diagnostics);
    BOOST_TEST(diagnostics.render() == "");
    BOOST_REQUIRE(compiled.has_value());
    std::string base = golden_dir + "/" + name;
    BOOST_TEST(compare_golden(base + ".ast", dump_ast(compiled->ast)) == "");
    BOOST_TEST(compare_golden(base + ".ir", dump_ir(compiled->ir)) == "");
    BOOST_TEST(compare_golden(base + ".nft", nft::emit_text(compiled->table).text) == "");
    BOOST_TEST(compare_golden(base + ".json", nft::emit_json(compiled->table)) == "");
    BOOST_TEST(compare_golden(base + ".routes", route::emit_batch(compiled->routing)) == "");
  }
}

BOOST_AUTO_TEST_SUITE(golden)

BOOST_AUTO_TEST_CASE(examples_compile_to_their_goldens) {
  auto names = policies_in("examples");
  BOOST_REQUIRE(names.size() >= 3);
  for (const std::string& name : names) check_good("examples", name, "testdata/examples");
}

BOOST_AUTO_TEST_CASE(good_policies_compile_to_their_goldens) {
  auto names = policies_in("testdata/good");
  BOOST_REQUIRE(!names.empty());
  for (const std::string& name : names) check_good("testdata/good", name, "testdata/good");
}

BOOST_AUTO_TEST_CASE(bad_policies_report_exactly_their_diagnostics) {
  auto names = policies_in("testdata/bad");
  BOOST_REQUIRE(names.size() >= 20);
  for (const std::string& name : names) {
    std::string policy = "testdata/bad/" + name + ".zt";
    BOOST_TEST_CONTEXT(policy) {
      SourceTreeFileSystem files;
      Diagnostics diagnostics;
      auto compiled = compile_policy(policy, files, overrides_in(policy), diagnostics);
      BOOST_TEST(!compiled.has_value());
      BOOST_TEST(diagnostics.has_errors());
      BOOST_TEST(compare_golden("testdata/bad/" + name + ".err", diagnostics.render()) == "");
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc
