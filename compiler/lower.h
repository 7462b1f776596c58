// Lowering: checked IR -> native nftables table. Chains per hook at
// documented priorities, runs of rules that dispatch on one key merged into a
// set or a verdict map, exact mark arithmetic (CONNMARK-style copies that keep
// every other bit), identity NAT for "no nat".
#pragma once

#include <stdexcept>
#include <string>

#include "model/nft_model.h"
#include "compiler/ir.h"
#include "model/source.h"

namespace ztc {

// Chain priorities, relative to the kernel's fixed points:
//   conntrack -200 < mangle -150 < dstnat -100 < filter 0 < srcnat 100.
// Capture chains run at mangle, after conntrack so `ct mark` reads and writes
// the connection (before it they silently do nothing). Nat chains run just
// before the usual nat priorities, so their identity NAT binds a connection
// before another table's nat chain (kube-proxy at dstnat) can rewrite it.
constexpr int kCapturePriority = -150;
constexpr int kNatDestinationPriority = -110;  // prerouting, output
constexpr int kNatSourcePriority = 90;         // postrouting, input

// A table that lowering must not hand on: a bug in ztc, not in the policy.
// compile_policy reports it as an internal error at `location`.
class LoweringError : public std::logic_error {
 public:
  LoweringError(Location location, const std::string& what)
      : std::logic_error(what), location(std::move(location)) {}
  Location location;
};

// Throws LoweringError.
nft::Table lower(const ir::Policy& policy);

// Throws LoweringError when two chains share a name: nft would read the two
// chain blocks as one chain and run both rules.
void require_unique_chain_names(const nft::Table& table);

}  // namespace ztc
