// Parse stage: text of one file -> AST statements. Syntax errors are queued
// as diagnostics ("unexpected X, expected one of ...") and parsing goes on,
// so one run reports every error. `include` statements are kept as
// ast::Include; the loader (load.h) splices the included files in.
#pragma once

#include <cstddef>

#include "compiler/ast.h"
#include "model/diagnostics.h"
#include "model/source.h"

namespace ztc {

// Hostile input within kMaxPolicyBytes could otherwise take gigabytes (every
// token costs ~250 bytes on the way to the AST): a policy, with everything it
// includes, is refused past this many tokens (set elements read in bulk count
// one each), and at any token longer than kMaxTokenBytes (nothing in the
// language comes near).
constexpr size_t kMaxPolicyTokens = 1000000;
constexpr size_t kMaxTokenBytes = 64 * 1024;

// `tokens_left`: the budget left for this file (kMaxPolicyTokens when null);
// what the file used is taken from it.
ast::Policy parse_source(const SourceFilePtr& file, Diagnostics& diagnostics,
                         size_t* tokens_left = nullptr);

// The same with every token through ANTLR. parse_source reads large set element
// lists itself (see parse.cc); the tests compare the two.
ast::Policy parse_source_antlr_only(const SourceFilePtr& file, Diagnostics& diagnostics);

}  // namespace ztc
