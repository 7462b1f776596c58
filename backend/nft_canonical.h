// What the kernel would list for a ruleset: the buffer is loaded into a
// private, empty network namespace (one thread unshares it, so nothing else
// of the process moves) and the table is listed back. `ztc diff` compares
// that with the live listing, so both sides are in nft's own canonical form
// (priorities as keywords, sorted anonymous sets, `udp dport` shorthands).
#pragma once

#include <optional>
#include <set>
#include <string>

#include "backend/nft_increment.h"
#include "model/nft_model.h"

namespace ztc::nft {

// nullopt with `error` when the scratch namespace cannot be made or the
// buffer does not load.
std::optional<std::string> canonical_listing(const std::string& buffer, Family family,
                                             const std::string& table, std::string* error);

// The policy's side of an incremental load (nft_increment.h): `buffer`
// loaded into a scratch namespace and read back with read_definitions.
std::optional<TableDefinitions> scratch_definitions(const std::string& buffer, Family family,
                                                    const std::string& table,
                                                    const std::set<std::string>& managed,
                                                    std::string* error);

// `listing` with the elements of every `elements = { ... }` block one a line
// and sorted. The kernel lists a hash set in hash order, and two sets holding
// the same elements (the live one and a scratch copy) have different hash
// seeds: unsorted, `ztc diff` of a 200k-element set saw ~125k lines differ.
std::string with_sorted_elements(const std::string& listing);

// `listing` with the objects of each table (chains, sets, counters, ...)
// sorted by name within each kind. The kernel lists them in the order they
// were added, which carries no meaning (a base chain's place in the hook is
// its priority): a chain or counter an incremental re-load adds comes last,
// where a fresh load of the same policy lists it in the policy's order.
std::string with_sorted_objects(const std::string& listing);

// Whether an `elements = { ... }` block of `listing` holds one element twice:
// the kernel's dump of a hash set that was being resized.
bool lists_an_element_twice(const std::string& listing);

}  // namespace ztc::nft
