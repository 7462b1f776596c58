// Enrolling members into a managed set at run time (`ztc set add/del/sync`):
// the set's elements and the routes the policy derives from them
// (`route N for SET { member via ... }`) change together, without reloading
// anything else.
//
//   1. Everything is checked before the kernel is touched: the set is one the
//      policy declares as managed; every element is valid for the set's type
//      (the same parser as the policy's, compiler/values.h); the owned table
//      is loaded and the kernel's set has the policy's type.
//   2. What is already so is left alone: adding a member that is present (with
//      the same comment, or no comment given) or deleting one that is absent
//      changes nothing; when nothing changes, nothing is written.
//   3. The element change is one nft transaction (`delete element` for
//      removals and comment changes, then `add element`).
//   4. The derived routes follow over netlink. If a route write fails, the
//      route writes made are undone and the element change is reverted by a
//      second transaction: a member is either fully enrolled (element and
//      routes) or not at all.
//
// Reads go through nft::SetReader (one kernel lookup per element: a few
// microseconds in a set of 100k), writes through NftKernel::run. Callers
// hold the table's ApplyLock.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backend/apply.h"
#include "model/nft_model.h"
#include "backend/nft_set_reader.h"
#include "model/routing_plan.h"
#include "backend/routing_reconciler.h"
#include "model/diagnostics.h"

namespace ztc {

// One element as the user wrote it: on the command line or a sync file line.
struct MemberInput {
  std::string value;                   // "10.244.1.5" (canonicalized when checked)
  std::optional<std::string> comment;  // e.g. the pod UID; nullopt: none given
  Location location;                   // sync file line; unknown on the command line
};

// The managed set of a compiled policy that a `ztc set` command acts on.
struct SetTarget {
  const nft::Table* table = nullptr;
  const nft::Set* set = nullptr;
  std::vector<route::DerivedRoutes> derived;  // the policy's routes for this set
  // The node's own addresses (canonical text -> device): no pod has one. Read
  // from the namespace once it is entered; empty before.
  std::map<std::string, std::string> node_addresses;
};

// What the elements are checked for: to become members (they must be
// addresses a pod can have, unless the set is `managed any_address`), or to
// be removed (anything of the set's type: a member an older ztc let in must
// be removable).
enum class MemberUse { enrol, remove };

// nullopt with an error when the policy has no set of that name or it is not
// managed ("set 'dns' is not managed: ...").
std::optional<SetTarget> find_managed_set(const nft::Table& table, const route::Plan& plan,
                                          const std::string& set, Diagnostics& diagnostics);

// Checks and canonicalizes elements for the set's type. Errors name the element:
//   element '10.0.0.300' of set 'pods' (ipv4): not an IPv4 address
//   element '127.0.0.1' of set 'pods': a loopback address cannot be a pod (...)
// Repeats of an element are merged (an error when their comments differ).
std::vector<nft::Element> check_members(const SetTarget& target,
                                        const std::vector<MemberInput>& input,
                                        Diagnostics& diagnostics, MemberUse use = MemberUse::enrol);

struct EnrollResult {
  bool ok = false;
  bool node_unchanged = true;  // on failure: everything written was undone
  Diagnostics diagnostics;
  std::vector<nft::Element> added;        // became members
  std::vector<nft::Element> removed;      // stopped being members (with their comments)
  std::vector<nft::Element> recommented;  // present; comment replaced (the new one)
  size_t unchanged = 0;                   // already as asked
  std::vector<route::DiffLine> routes;    // routing changes made, in order
  std::string nft_buffer;                 // the committed element transaction
  int nft_transactions = 0;               // nft writes, a revert included
  int routing_writes = 0;                 // netlink write attempts, rollback included

  bool changed() const { return !added.empty() || !removed.empty() || !recommented.empty(); }
};

// Above this many elements, add/remove list the whole set once instead of
// looking each element up.
constexpr size_t kLookupLimit = 4096;

// Makes each element a member, with its comment when one is given.
EnrollResult add_members(const SetTarget& target, const std::vector<MemberInput>& members,
                         Kernels kernels, nft::SetReader& reader);

// Removes each element that is a member (comments are ignored).
EnrollResult remove_members(const SetTarget& target, const std::vector<MemberInput>& members,
                            Kernels kernels, nft::SetReader& reader);

struct SyncOptions {
  // An empty list empties a non-empty set only when this says so: an agent
  // that read an empty or truncated file must not un-enrol every pod.
  bool allow_empty = false;
};

// Makes the members exactly `members` (comments included: a member listed
// without a comment loses its comment), and every member's derived routes
// present (routes missing from the kernel are added back).
EnrollResult sync_members(const SetTarget& target, const std::vector<MemberInput>& members,
                          Kernels kernels, nft::SetReader& reader, SyncOptions options = {});

// The current members, sorted (addresses numerically); nullopt with an error
// when the table or set is not there.
std::optional<std::vector<nft::Element>> list_members(const SetTarget& target,
                                                      nft::SetReader& reader,
                                                      Diagnostics& diagnostics);

// One member per line as a sync file holds it: `10.244.1.5 comment "uid"`.
std::string member_line(const nft::Element& element);

// Parses sync-file text: one `ELEMENT [comment "TEXT"]` per line, `#` starts
// a comment outside quotes, blank lines are skipped. `file` gives Locations.
std::vector<MemberInput> parse_member_lines(const SourceFilePtr& file, Diagnostics& diagnostics);

}  // namespace ztc
