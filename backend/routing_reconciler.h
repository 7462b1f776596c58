// Brings the kernel's ztc-tagged rules, routes and sysctls to a routing plan.
//
// Netlink has no transactions, so the reconciler does the next best thing:
//   1. read what ztc owns now (entries tagged route::kZtcProtocol; nothing else
//      is listed, so nothing else is ever changed);
//   2. check before writing: every device a route (or a sysctl) names exists,
//      desired routes do not collide; problems are reported at the policy line;
//   3. write only the difference, additions before deletions:
//        sysctls -> new routes -> new rules -> stale rules -> stale routes
//      (a rule never points at a table that misses its new routes, and stale
//      routes go last); a route whose key (table, destination, metric) is taken
//      by a stale ztc route is replaced in place, atomically;
//   4. on a failed write, undo what was done, newest first, and report the
//      failure at the Location of the object whose write failed.
// An unchanged plan makes no kernel write at all.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "backend/routing_kernel.h"
#include "model/diagnostics.h"
#include "model/routing_plan.h"

namespace ztc::route {

struct SysctlWrite {
  std::string key;        // net.ipv4.conf.istioin.rp_filter
  std::string old_value;  // value before
  std::string new_value;  // value written
};

// One kernel write as it was done, with what is needed to revert it. Kept small:
// a load with 100k enrolled pods holds 100k of them.
struct Change {
  enum class Kind { add_rule, delete_rule, add_route, replace_route, delete_route, write_sysctl };
  Kind kind = Kind::add_rule;
  // Rule for *_rule, Route for *_route (replace_route: the new route), SysctlWrite.
  std::variant<Rule, Route, SysctlWrite> subject;
  std::shared_ptr<const Route> replaced;  // replace_route: the route it replaced
  Location location;                      // policy line (unknown for stale entries)

  const Rule& rule() const { return std::get<Rule>(subject); }
  const Route& route() const { return std::get<Route>(subject); }
  const SysctlWrite& sysctl() const { return std::get<SysctlWrite>(subject); }
};

// What a change does, for messages: "add -4 route ... table 100".
std::string action_text(const Change& change);

// One line of `ztc diff`: '+' added, '-' removed, '~' changed (a sysctl, a route's
// protocol).
struct DiffLine {
  char sign = '+';
  std::string text;   // `ip`-like: "-4 rule prio 101 fwmark 0x100/0x100 lookup 101"
  Location location;  // policy line of a desired object; unknown for stale ones
};

// The diff lines of one change, appended to `lines`: "+"/"-" for what it
// adds and deletes (a replace: both), "~" for a sysctl write and for a
// replace that changes only the route's protocol.
void append_diff_lines(const Change& change, std::vector<DiffLine>* lines);

struct ReconcileResult {
  bool ok = true;
  Diagnostics diagnostics;
  // What differs (dry run) or what was changed (applied), in write order.
  std::vector<DiffLine> diff;
  // Writes that are in effect, in order; pass to undo() to roll back later
  // (e.g. when a step after routing fails). Empty after a failure that was undone.
  std::vector<Change> applied;
  int kernel_writes = 0;  // write attempts, including those of a rollback
  // A dry run of reconcile_keeping_members: the writes it would make, for
  // apply_planned (the listing is not repeated).
  std::vector<Change> planned;
  // reconcile_keeping_members found member routes an older ztc wrote with
  // the static routes' protocol: nothing was planned; a whole reconcile
  // re-tags them.
  bool untagged_member_routes = false;

  bool changed() const { return !diff.empty(); }
  // The diff as text, one "+ ..." / "- ..." / "~ ..." line each.
  std::string diff_text() const;
};

// `extra_routes` are the routes derived from the current members of managed sets
// (plan.derived expanded by the caller). dry_run: read and check, write nothing.
ReconcileResult reconcile(RoutingKernel& kernel, const Plan& plan,
                          const std::vector<Route>& extra_routes, bool dry_run);

// As reconcile, when the member route templates are those the kernel's
// member routes were made from: member routes (tagged kMemberRouteProtocol)
// are neither listed, compared nor written; rules, static routes, sysctls
// and `new_member_routes` (those of members a load adds: declared elements
// the set lacked) are. Member routes tagged as static ones (an older ztc's)
// stop it: untagged_member_routes.
ReconcileResult reconcile_keeping_members(RoutingKernel& kernel, const Plan& plan,
                                          const std::vector<Route>& new_member_routes,
                                          bool dry_run);

// Makes the writes a dry run of reconcile_keeping_members planned (the
// caller holds the lock, so nothing changed since): as reconcile would,
// undoing them on failure. `result` is that dry run's. Tolerant (see
// ExecuteOptions): an unlisted member route may hold a planned route's key.
void apply_planned(RoutingKernel& kernel, ReconcileResult* result);

// ztc's routes in the kernel by key, for a tolerant execute (the set
// commands' RouteIndex: listed once, when first asked).
class ExistingRoutes {
 public:
  virtual ~ExistingRoutes() = default;
  // ztc's route with `route`'s key, nullptr when none (or, with `error`,
  // when the kernel cannot say).
  virtual const Route* find(const Route& route, KernelError* error) = 0;
};

// ztc's routes in the kernel by key, all listed once, when first asked.
class ListedRoutes : public ExistingRoutes {
 public:
  explicit ListedRoutes(RoutingKernel& kernel) : kernel_(kernel) {}
  const Route* find(const Route& route, KernelError* error) override;

 private:
  RoutingKernel& kernel_;
  bool listed_ = false;
  std::map<RouteKey, Route> by_key_;
};

struct ExecuteOptions {
  // Tolerant (the set commands): an add that finds ztc's equal route there,
  // or a delete that finds the route gone, changes nothing; an add that finds
  // ztc's stale route replaces it; one that finds another owner's says so.
  ExistingRoutes* existing = nullptr;
  // After a failure undone: a note that says how far the undo got.
  bool note_rollback = true;
};

// The one executor of routing changes (load, unload, set commands): runs
// `changes` in order; on the first failure reports it at the object's policy
// line ("cannot add ...: reason") and undoes everything done so far, newest
// first. What was done (and not undone) ends up in result->applied;
// result->kernel_writes counts every attempt, the undo's included.
void execute(RoutingKernel& kernel, std::vector<Change> changes, ReconcileResult* result,
             const ExecuteOptions& options = {});

// Reverts `applied` newest first: deletes what was added, re-adds what was
// deleted, puts replaced routes and old sysctl values back. Errors for whatever
// could not be restored.
Diagnostics undo(RoutingKernel& kernel, const std::vector<Change>& applied);

// Removes every ztc-tagged rule and route (rules first), nothing else; sysctls
// are left as they are. On failure the removals done are undone.
ReconcileResult remove_all(RoutingKernel& kernel, bool dry_run);

}  // namespace ztc::route
