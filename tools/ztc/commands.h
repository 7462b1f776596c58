// The commands behind the CLI, one function each, taking parsed options.
// They print results to `out` and diagnostics to `err`, and return the exit
// code.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "compiler/check.h"

namespace ztc {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;  // policy errors, kernel refusals, `diff` found differences
constexpr int kExitUsage = 2;

struct PolicyOptions {
  std::string file;  // "-" reads stdin
  Overrides overrides;
};

struct CompileOptions {
  PolicyOptions policy;
  std::string emit = "all";  // all, nft, json, routes, ast, ir
  std::string output;        // empty: stdout
};

int run_compile(const CompileOptions& options, std::ostream& out, std::ostream& err);

}  // namespace ztc
