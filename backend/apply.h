// Applying a compiled policy to a node, all or nothing:
//   load   = carry over managed-set members, check routing against the kernel,
//            replace the owned nft table in one transaction, reconcile routing;
//            if routing fails after the nft commit, put the previous table back.
//   unload = delete the owned table and every ztc-tagged rule and route.
//   diff   = what differs between the node and the policy (nft and routing).
// Kernel access goes through NftKernel and RoutingKernel, so all of it runs
// against in-memory fakes in unit tests and against a namespace in kernel tests.
#pragma once

#include <string>
#include <vector>

#include "backend/nft_applier.h"
#include "backend/nft_model.h"
#include "backend/routing_kernel.h"
#include "backend/routing_plan.h"
#include "backend/routing_reconciler.h"
#include "compiler/diagnostics.h"

namespace ztc {

struct Kernels {
  nft::NftKernel& nft;
  route::RoutingKernel& routing;
};

struct ApplyReport {
  bool ok = false;
  Diagnostics diagnostics;
  std::string nft_buffer;                // what was (or would be) committed
  bool nft_committed = false;
  route::ReconcileResult routing;        // routing changes made (or, dry run, planned)
  size_t members_carried = 0;            // live managed-set members kept by a load
};

// `table` as compiled: managed sets hold only their declared elements; the
// live members are added here so a reload never un-enrols a pod.
ApplyReport load(const nft::Table& table, const route::Plan& plan, Kernels kernels, bool dry_run);

ApplyReport unload(nft::Family family, const std::string& table, Kernels kernels, bool dry_run);

// The table with the live members of its managed sets merged in (declared
// elements first, then live ones not declared).
nft::Table with_live_members(const nft::Table& table, nft::NftKernel& kernel,
                             size_t* carried = nullptr);

// Routes derived from the members of managed sets in `table`.
std::vector<route::Route> derived_routes(const route::Plan& plan, const nft::Table& table);

}  // namespace ztc
