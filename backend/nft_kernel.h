// The kernel side of nft rulesets, as an interface: one transaction per call,
// and the listings load, diff and the set commands read back. LibNftKernel
// (libnft_kernel.h) is the real one; tests use testsupport/fake_nft_kernel.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/nft_model.h"

namespace ztc::nft {
struct ApplyResult {
  bool success = false;
  std::string error;   // libnftables' error buffer, verbatim (empty on success)
  std::string output;  // libnftables' output buffer (echo, listings)
};

class NftKernel {
 public:
  virtual ~NftKernel() = default;
  // One libnftables transaction: everything in `buffer` commits or nothing does.
  // dry_run: checked by the kernel, not committed. Not a full guarantee: a
  // chain loop can pass a dry run on a fresh namespace and fail on commit.
  virtual ApplyResult run(const std::string& buffer, bool dry_run) = 0;
  // `nft [-j] -s list table FAMILY NAME`; nullopt when the table does not exist
  // (or cannot be listed). Stateless: counters would make every diff noisy.
  virtual std::optional<std::string> list_table(Family family, const std::string& name,
                                                bool json) = 0;
  // Members of a named set, with their comments; empty when the set does not exist.
  virtual std::vector<Element> list_set_elements(Family family, const std::string& table,
                                                 const std::string& set) = 0;
  // `nft -t -s list ruleset`: every table with its chains, rules and set and
  // map definitions, without set elements. nft 1.0.6 fetches no element for
  // it (0.1 s with 100k members, where `list table` takes 2.6 s even terse).
  // nullopt: cannot say (then a load replaces the whole table).
  virtual std::optional<std::string> list_definitions() { return std::nullopt; }
};

}  // namespace ztc::nft
