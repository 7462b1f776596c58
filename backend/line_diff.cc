#include "backend/line_diff.h"

#include <map>
#include <sstream>

namespace ztc {
namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Past this many cells the LCS table costs too much memory.
constexpr size_t kMaxLcsCells = 4'000'000;

std::vector<std::string> multiset_diff(const std::vector<std::string>& a,
                                       const std::vector<std::string>& b) {
  std::map<std::string, int> count;
  for (const std::string& line : b) ++count[line];
  std::vector<std::string> out;
  std::map<std::string, int> remaining = count;
  for (const std::string& line : a) {
    auto it = remaining.find(line);
    if (it != remaining.end() && it->second > 0) {
      --it->second;
    } else {
      out.push_back("- " + line);
    }
  }
  std::map<std::string, int> in_a;
  for (const std::string& line : a) ++in_a[line];
  for (const std::string& line : b) {
    auto it = in_a.find(line);
    if (it != in_a.end() && it->second > 0) {
      --it->second;
    } else {
      out.push_back("+ " + line);
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> line_diff(const std::string& live, const std::string& desired) {
  std::vector<std::string> a = split_lines(live);
  std::vector<std::string> b = split_lines(desired);
  if (a == b) return {};
  size_t n = a.size();
  size_t m = b.size();
  if ((n + 1) * (m + 1) > kMaxLcsCells) return multiset_diff(a, b);
  // lcs[i][j]: length of the LCS of a[i..] and b[j..].
  std::vector<std::vector<uint32_t>> lcs(n + 1, std::vector<uint32_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::vector<std::string> out;
  size_t i = 0;
  size_t j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      ++i;
      ++j;
    } else if (j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j])) {
      out.push_back("+ " + b[j++]);
    } else {
      out.push_back("- " + a[i++]);
    }
  }
  return out;
}

}  // namespace ztc
