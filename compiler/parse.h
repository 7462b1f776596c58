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

// The same with every token through ANTLR. parse_source reads large set element
// lists itself (see parse.cc); the tests compare the two.
ast::Policy parse_source_antlr_only(const SourceFilePtr& file, Diagnostics& diagnostics);

}  // namespace ztc
