// The compile pipeline as one call: load (parse + includes) -> check ->
// lower. Each stage's result is kept for `--emit ast|ir|...`.
#pragma once

#include <optional>
#include <string>

#include "backend/nft_model.h"
#include "backend/routing_plan.h"
#include "compiler/ast.h"
#include "compiler/check.h"
#include "compiler/diagnostics.h"
#include "compiler/ir.h"
#include "compiler/load.h"

namespace ztc {

struct CompiledPolicy {
  ast::Policy ast;
  ir::Policy ir;
  nft::Table table;
  route::Plan routing;
};

// Stops after the first stage that reports errors; nullopt then, with every
// error of that stage in `diagnostics`.
std::optional<CompiledPolicy> compile_policy(const std::string& path, FileSystem& files,
                                             const Overrides& overrides, Diagnostics& diagnostics);

}  // namespace ztc
