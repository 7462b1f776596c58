// The values of a table's named counters (one per policy rule, see
// compiler/rule_counter_name.h), read from a stateful `list table` /
// `list ruleset` / `list counters` text, and carried into a table about to be
// loaded: a load replaces the table in one transaction, and would otherwise
// start every counter at zero.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/nft_model.h"

namespace ztc::nft {

struct CounterValue {
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

// Counter objects of the one table in `listing` (nft's text form, as listed
// with values; a stateless listing gives every counter at zero), by name.
std::map<std::string, CounterValue> counters_in_listing(const std::string& listing);

// Sets the starting values of `table`'s counters that `live` holds (by name:
// the rule is unchanged); the others start at zero. Returns the names of
// those carried over.
std::vector<std::string> carry_counters(Table* table,
                                        const std::map<std::string, CounterValue>& live);

}  // namespace ztc::nft
