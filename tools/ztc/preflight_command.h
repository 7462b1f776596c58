// ztc preflight, and the same checks for `ztc load` and `ztc compile --against`.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "compiler/compile.h"
#include "tools/ztc/commands.h"

namespace ztc {

struct PreflightOptions {
  PolicyOptions policy;
  NodeOptions node;
  bool json = false;
};

// Exit 0: nothing conflicts; 1: something does; 2: cannot tell (bad policy,
// no privilege, part of the node unreadable).
int run_preflight(const PreflightOptions& options, std::ostream& out, std::ostream& err);

// How much of the node a check reads.
enum class PreflightDepth {
  full,  // `ztc preflight`: everything
  // `ztc load --strict`, `ztc stats`: named verdict maps' elements are not
  // listed to follow their jumps (seconds when a set holds 100k members).
  without_named_maps,
  // `ztc load`: also, on a re-load, the tables holding the policy's member
  // routes are not read (see NodeReadScope).
  load,
};

// For `ztc load`, already inside the node's namespace: prints each finding as a
// warning on `err` and returns how many there were (-1 when the node could not
// be read, with a warning saying so).
int preflight_warnings(const CompiledPolicy& compiled, PreflightDepth depth, std::ostream& err);

// For `ztc compile --against NAME,...`: offline, against the registry. Unknown
// names: false with `error`. Prints warnings on `err`.
bool warn_against(const CompiledPolicy& compiled, const std::vector<std::string>& owners,
                  std::ostream& err, std::string* error);

}  // namespace ztc
