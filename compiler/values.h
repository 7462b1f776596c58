// Typed values given as text: -D parameters, set elements from the policy and
// from `ztc set add/del/sync`. One parser for all of them, so the command
// line accepts exactly what a policy would.
#pragma once

#include <optional>
#include <string>

#include "compiler/ir.h"

namespace ztc {

// The value in canonical form (addresses printed by inet_ntop, numbers in
// decimal), or nullopt with a short reason ("not an IPv4 address").
std::optional<std::string> canonical_value(ir::ValueType type, const std::string& text,
                                           std::string* error);

bool valid_ifname(const std::string& name);
bool valid_comment(const std::string& text);

}  // namespace ztc
