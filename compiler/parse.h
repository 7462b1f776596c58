// Parse stage: text of one file -> AST statements. Syntax errors are queued
// as diagnostics ("unexpected X, expected one of ...") and parsing goes on,
// so one run reports every error. `include` statements are kept as
// ast::Include; the loader (load.h) splices the included files in.
#pragma once

#include "compiler/ast.h"
#include "compiler/diagnostics.h"
#include "compiler/source.h"

namespace ztc {

ast::Policy parse_source(const SourceFilePtr& file, Diagnostics& diagnostics);

}  // namespace ztc
