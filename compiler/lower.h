// Lowering: checked IR -> native nftables table. Chains per hook at
// documented priorities, runs of rules that dispatch on one key merged into a
// set or a verdict map, exact mark arithmetic (CONNMARK-style copies that keep
// every other bit), identity NAT for "no nat".
#pragma once

#include "model/nft_model.h"
#include "compiler/ir.h"

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

nft::Table lower(const ir::Policy& policy);

}  // namespace ztc
