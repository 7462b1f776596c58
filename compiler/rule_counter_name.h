// The name of the counter object that counts one policy rule (`ztc stats`).
// It is the rule's identity, not its place: the chain it lowers into and the
// rule's checked content (dump_ir_rule: matches and actions with names
// resolved, no line numbers), hashed, plus its ordinal among identical rules
// of that chain. So an edit above a rule, or a comment, keeps its counter;
// an edit of the rule itself (or of a mark it uses) starts a new one.
//   prerouting_5c0f2b7d93a1      first rule of its content in `prerouting`
//   prerouting_5c0f2b7d93a1_2    the second identical one
#pragma once

#include <string>

#include "compiler/ir.h"

namespace ztc {

// ordinal: 1 for the first rule of this content in `chain`, 2 for the next...
std::string rule_counter_name(const std::string& chain, const ir::Rule& rule, int ordinal);

}  // namespace ztc
