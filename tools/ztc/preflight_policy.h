// The policy's side of preflight, read from the compiled policy. It lives with
// the command line because it is the one layer that sees both the compiler's
// IR and the backend's footprint types.
#pragma once

#include "backend/preflight.h"
#include "compiler/ir.h"
#include "model/nft_model.h"

namespace ztc::preflight {

PolicyFootprint policy_footprint(const ir::Policy& policy, const nft::Table& table);

}  // namespace ztc::preflight
