// The compile pipeline as one call: load (parse + includes) -> check ->
// lower. Each stage's result is kept for `--emit ast|ir|...`.
#pragma once

#include <optional>
#include <string>

#include "model/nft_model.h"
#include "model/routing_plan.h"
#include "compiler/ast.h"
#include "compiler/check.h"
#include "model/diagnostics.h"
#include "compiler/ir.h"
#include "compiler/load.h"

namespace ztc {

// Wall time of each stage, for `ztc compile --timings` and the benchmarks.
struct StageTimes {
  double parse_ms = 0;  // read, parse and transform, includes spliced in
  double check_ms = 0;
  double lower_ms = 0;
};

struct CompiledPolicy {
  StageTimes times;
  ast::Policy ast;
  ir::Policy ir;
  nft::Table table;
  route::Plan routing;
};

// Stops after the first stage that reports errors; nullopt then, with every
// error of that stage in `diagnostics`. `include_dirs`: see load_policy.
std::optional<CompiledPolicy> compile_policy(const std::string& path, FileSystem& files,
                                             const Overrides& overrides, Diagnostics& diagnostics,
                                             const std::vector<std::string>& include_dirs = {});

}  // namespace ztc
