// Check stage: AST -> IR. Resolves names, types every value, applies -D
// overrides, and reports every problem at its location in one run.
#pragma once

#include <map>
#include <string>

#include "compiler/ast.h"
#include "model/diagnostics.h"
#include "compiler/ir.h"

namespace ztc {

// NAME -> VALUE from `-D NAME=VALUE`, in command-line order.
using Overrides = std::vector<std::pair<std::string, std::string>>;

// The IR is complete only when `diagnostics` has no errors.
ir::Policy check(const ast::Policy& policy, const Overrides& overrides, Diagnostics& diagnostics);

}  // namespace ztc
