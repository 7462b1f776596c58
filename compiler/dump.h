// Compact, stable text dumps of the AST and the IR (`ztc compile --emit ast|ir`),
// one line per node with its line:column, used by golden tests.
#pragma once

#include <string>

#include "compiler/ast.h"
#include "compiler/ir.h"

namespace ztc {

std::string dump_ast(const ast::Policy& policy);
std::string dump_ir(const ir::Policy& policy);
// One IR rule as dump_ir prints it, without its position: "MATCH ... => ACTION, ...".
std::string dump_ir_rule(const ir::Rule& rule);

}  // namespace ztc
