// A line diff for `ztc diff`: the lines only on one side, in order, as
// "- line" (live only) and "+ line" (policy only). Longest common
// subsequence for listings of ordinary size; for very large ones (100k set
// members) the lines unique to each side, which is what a reader needs there.
#pragma once

#include <string>
#include <vector>

namespace ztc {

std::vector<std::string> line_diff(const std::string& live, const std::string& desired);

}  // namespace ztc
