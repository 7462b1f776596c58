// Reads the elements of `nft -j list set` back as the model's Elements.
#pragma once

#include <string>
#include <vector>

#include "model/nft_model.h"

namespace ztc::nft {

// Parses `nft -j list set` output into elements (val and comment), exposed for tests.
// Values read as nft prints them: 10.0.0.1, "istioin" (ifname/string types quoted),
// 6081, 10.0.0.0/8, 10.0.0.1-10.0.0.9, a . b.
std::vector<Element> parse_set_elements_json(const std::string& json_text);

}  // namespace ztc::nft
