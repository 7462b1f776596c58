// Policies written inline in tests, taken through the compiler's front half.
#pragma once

#include <string>

#include "compiler/ir.h"

namespace ztc::testing {

// `source` as file "p.zt", loaded and checked with no -D overrides; the test
// stops (REQUIRE) on any diagnostic, warnings included.
ir::Policy checked_policy(const std::string& source);

}  // namespace ztc::testing
