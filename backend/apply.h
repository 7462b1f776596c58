// Applying a compiled policy to a node, all or nothing:
//   load   = carry over managed-set members, check routing against the kernel,
//            replace the owned nft table in one transaction (removing, in the
//            same transaction, any other table ztc manages: one policy per
//            namespace, as ztc's routing is), reconcile routing; if routing
//            fails after the nft commit, put the previous tables back.
//   unload = delete every table ztc manages and every ztc-tagged rule and route.
// Also the pieces `diff` (diff.h) shares with load: what a re-load compares,
// the recorded sysctls, the member routes of a table.
// A table is ztc's when it carries the owner comment (nft::kOwnerComment); a
// table of the policy's name without it belongs to someone else and is never
// replaced or deleted.
// Kernel access goes through NftKernel and RoutingKernel, so all of it runs
// against in-memory fakes in unit tests and against a namespace in kernel tests.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "backend/definitions_memo.h"
#include "backend/held_signals.h"
#include "backend/nft_increment.h"
#include "backend/nft_kernel.h"
#include "backend/nft_set_reader.h"
#include "backend/routing_kernel.h"
#include "backend/routing_reconciler.h"
#include "backend/sysctl_state.h"
#include "model/diagnostics.h"
#include "model/nft_model.h"
#include "model/routing_plan.h"

namespace ztc {

struct Kernels {
  nft::NftKernel& nft;
  route::RoutingKernel& routing;
  // Reads managed-set members straight from nfnetlink (milliseconds for 100k,
  // where libnftables 1.0.6 takes over a second). Without one, members are
  // listed through `nft`.
  nft::SetReader* sets = nullptr;
  // Held from right before the first kernel write to the end of the
  // operation (held_signals.h); the caller releases it. None: not held.
  HeldSignals* signals = nullptr;
  // Where the sysctl values before ztc are kept (sysctl_state.h). None: load
  // records nothing, unload restores nothing.
  const SysctlState* sysctl_state = nullptr;
  // What the last re-load's scratch namespace listed (definitions_memo.h):
  // a re-load of the same policy onto an unchanged table needs none. None:
  // every re-load asks a scratch namespace.
  const nft::DefinitionsMemo* definitions_memo = nullptr;

  void hold_signals() const {
    if (signals) signals->hold();
  }
};

struct ApplyReport {
  bool ok = false;
  // On failure: true when the node was left exactly as it was (everything
  // written was rolled back); false when a rollback itself failed.
  bool node_unchanged = true;
  Diagnostics diagnostics;
  std::string nft_buffer;  // what was (or would be) committed
  bool nft_committed = false;
  route::ReconcileResult routing;             // routing changes made (or, dry run, planned)
  size_t members_carried = 0;                 // live managed-set members kept by a load
  std::vector<std::string> counters_carried;  // rule counters kept by a load (counter_values.h)
  // Chains of a `ztc trace` (backend/trace.h) that a load's replace dropped,
  // with the pid their rule names.
  std::map<std::string, int> trace_chains_dropped;
  // A re-load that changed only what differed (nft_increment.h): members of
  // managed sets and their routes were neither read nor written.
  bool incremental = false;
  std::vector<std::string> nft_changes;  // incremental: "~ chain x", "+ element pods 10.0.0.1"
  // Tables removed (or, dry run, to be removed): "ip ztunnel". For a load,
  // other ztc tables than the policy's.
  std::vector<std::string> tables_removed;
  // unload: sysctls put back to their value before ztc (or, dry run, to be).
  std::vector<route::DiffLine> sysctls_restored;
};

// `table` as compiled: managed sets hold only their declared elements; the
// live members are added here so a reload never un-enrols a pod.
// A load that would lose what the node holds (another ztc table, a set of
// the table that the policy no longer has, with their elements and routes)
// is refused unless `replace`, saying what would be lost.
// Sysctls: the value before ztc is recorded when ztc first changes one, and
// one the policy no longer sets is put back (see sysctl_state.h).
ApplyReport load(const nft::Table& table, const route::Plan& plan, Kernels kernels, bool dry_run,
                 bool replace = false);

// Removes the table `family name` if ztc manages it (a warning if it exists
// and is someone else's), every other table ztc manages, and all ztc routing,
// and puts back the sysctls ztc changed.
ApplyReport unload(nft::Family family, const std::string& table, Kernels kernels, bool dry_run);

// The table with the live members of its managed sets merged in (declared
// elements first, then live ones not declared). nullopt with `error` when the
// members cannot be read: a load must stop then, or it would un-enrol them.
std::optional<nft::Table> with_live_members(const nft::Table& table, const Kernels& kernels,
                                            size_t* carried, std::string* error);

// `plan` plus, for each sysctl ztc changed earlier (`recorded`) that the plan
// no longer sets, its value before ztc (at `where`), so that the reconciler
// puts it back and `diff` reports it. Keys of devices that are gone are left
// out: their sysctls went with them.
route::Plan with_sysctl_restores(const route::Plan& plan, const SysctlValues& recorded,
                                 route::RoutingKernel& kernel, const Location& where);

// The sysctl values ztc recorded (none without a sysctl state). nullopt with
// `error` when the record cannot be read.
std::optional<SysctlValues> recorded_sysctls(const Kernels& kernels, std::string* error);

// What a re-load compares (nft_increment.h): the definitions of the policy's
// table in the kernel (`listing`) and as the policy wants them, managed sets'
// elements left out of both, and the increment from one to the other. nullopt
// when a re-load cannot be planned: no table, its member routes pending (a
// whole load killed before them), a policy the scratch namespace refuses (the
// whole load shows the error at its line), a managed set's definition changed.
struct ReloadDefinitions {
  std::set<std::string> managed;  // the managed sets' names
  nft::TableDefinitions live, wanted;
  nft::Increment increment;
  std::string declared_key;  // definitions_memo.h; set when there is a memo
  bool wanted_from_memo = false;
};
// `memo` (may be null) is only read.
std::optional<ReloadDefinitions> reload_definitions(const nft::Table& compiled,
                                                    nft::NftKernel& kernel,
                                                    const std::string& listing,
                                                    const nft::DefinitionsMemo* memo);

// Routes derived from the members of managed sets in `table`.
std::vector<route::Route> derived_routes(const route::Plan& plan, const nft::Table& table);

// A chain a whole load adds in its transaction and deletes once it has
// written the member routes: while it is there, they may be incomplete (a
// load killed before them), and the next load writes them all.
inline constexpr const char* kMemberRoutesPending = "ztc_member_routes_pending";

// Declared elements of the managed sets of `compiled` that the kernel does
// not hold, as `add element` lines (and their `delete element` undo), as
// change lines ("+ element pods 10.0.0.1") and as the sets of
// `added_members` (for their member routes). False with `error` when the
// kernel cannot be asked.
bool missing_declared_elements(const nft::Table& compiled, nft::SetReader& sets, std::string* add,
                               std::string* undo, std::vector<std::string>* changes,
                               nft::Table* added_members, std::string* error);

// Whether a `list table` text is of a table ztc manages: the table's own
// comment (one tab in), not a chain's, rule's or element's.
bool managed_by_ztc(const std::string& listing);

// A table in the kernel: "ip ztunnel", its listing (with counters: good to
// restore it from, not to compare) and whether ztc manages it.
struct LiveTable {
  nft::Family family = nft::Family::ip;
  std::string name;
  std::optional<std::string> listing;
  bool managed = false;
  std::string ref() const;  // "ip ztunnel"
};

// Every ip, ip6 and inet table of the namespace, from one `list ruleset`.
// nullopt with `error` when the kernel cannot be asked.
std::optional<std::vector<LiveTable>> live_tables(nft::NftKernel& kernel, std::string* error);

}  // namespace ztc
