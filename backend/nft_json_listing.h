// Reads nft's JSON listings back (`nft -j list ...`): the elements of a set as
// the model's Elements, and what a table holds, counted (`ztc status`).
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "model/nft_model.h"

namespace ztc::nft {

// Parses `nft -j list set` output into elements (val and comment).
// Values read as nft prints them: 10.0.0.1, "istioin" (ifname/string types quoted),
// 6081, 10.0.0.0/8, 10.0.0.1-10.0.0.9, a . b.
std::vector<Element> parse_set_elements_json(const std::string& json_text);

// What a table holds: its chains, rules, named counters, and each set (not
// map) with its element count, in listing order.
struct TableSizes {
  size_t chains = 0;
  size_t rules = 0;
  size_t counters = 0;
  std::vector<std::pair<std::string, size_t>> sets;  // name, elements
};

// Counts the objects of `nft -j list table` output; all zero when the text is
// not an nft JSON document.
TableSizes parse_table_sizes_json(const std::string& json_text);

}  // namespace ztc::nft
