// Reading the policy named on the command line ("-" is stdin) and compiling
// it; shared by every command that takes a policy.
#pragma once

#include <optional>

#include "compiler/compile.h"
#include "tools/ztc/commands.h"

namespace ztc {

std::optional<CompiledPolicy> compile_from_options(const PolicyOptions& options,
                                                   Diagnostics& diagnostics);

}  // namespace ztc
