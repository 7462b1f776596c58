// What `ztc set add/del/sync` take from the policy besides the set's name and
// type: the routes it derives from each member. `load` records them on each
// managed set, as the set's nft comment:
//
//   set pods {
//     type ipv4_addr
//     comment "ztc member routes: via 192.168.126.2 dev istioin src 10.244.1.1 table 100"
//   }
//
// and a set command compares them with those of the policy it was given, so
// that another file or other -D values cannot send member routes to a table no
// rule points at. On the set, not the table: the record is replaced in the
// same nft transaction as the set it describes, is read with the set in the
// one netlink request the set commands already make, and a change to another
// set, a capture rule or a route of the table leaves it alone. It holds only
// what the set commands act on (table and set identity are where it is
// stored; the key type is the set's own), as text, sorted, without paths or
// line numbers, so an error can say what differs. nft keeps at most 128
// characters of comment: longer templates are recorded as a hash.
#pragma once

#include <optional>
#include <string>

#include "model/diagnostics.h"
#include "model/nft_model.h"
#include "model/routing_plan.h"

namespace ztc {

inline constexpr const char* kMemberRoutesPrefix = "ztc member routes: ";
inline constexpr size_t kMaxNftComment = 128;

// The comment recorded on managed set `set`: kMemberRoutesPrefix then the
// member route templates ("via ... table 100", ", "-separated, sorted),
// "none", or "#" and 16 hex digits when the text would not fit.
std::string member_routes_record(const nft::Set& set, const route::Plan& plan);

// Sets the record on every managed set of `table` (compile_policy does this,
// so `--emit nft`, `load` and `diff` all carry it).
void record_member_routes(nft::Table* table, const route::Plan& plan);

// Compares the record the kernel's set carries with the policy's. nullopt when
// they agree; otherwise the error: which routes the loaded policy derives and
// which this one would, or that the set carries no record (a table loaded by
// ztc before records existed: refused, since nothing says which policy it
// was; one `ztc load` records it and keeps the members).
std::optional<std::string> member_routes_mismatch(const std::string& set_name,
                                                  const std::string& table_ref,
                                                  const std::string& kernel_comment,
                                                  const std::string& policy_record);

}  // namespace ztc
