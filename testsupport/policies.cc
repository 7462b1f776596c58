#include "testsupport/policies.h"

#include <boost/test/unit_test.hpp>

#include "compiler/check.h"
#include "compiler/load.h"

namespace ztc::testing {

ir::Policy checked_policy(const std::string& source) {
  MemoryFileSystem files;
  files.add("p.zt", source);
  Diagnostics diagnostics;
  ast::Policy policy = load_policy("p.zt", files, diagnostics);
  ir::Policy ir = check(policy, {}, diagnostics);
  BOOST_TEST_REQUIRE(diagnostics.render() == "");
  return ir;
}

}  // namespace ztc::testing
