// A re-load that changes only what differs. The live table and the policy's
// are compared object by object as the kernel lists them (`nft -t -s list
// ruleset`: definitions without set elements, which nft 1.0.6 lists without
// fetching a single element), and the transaction touches only what
// differs: a chain flushed and refilled, objects (sets, maps, counters, ...)
// added, deleted or replaced, chains added or deleted. Managed sets are
// compared by definition only; their run-time members are neither read nor
// written. What this cannot do (a table attribute, a chain's hook or a
// managed set's definition changed) is said, and the caller replaces the
// whole table as before.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "backend/nft_kernel.h"
#include "model/nft_model.h"

namespace ztc::nft {

// One top-level object of a table listing: "chain", "set", "map", "counter",
// "ct helper", ... with its name and its lines (header and closing brace
// included, one tab in, as nft prints them).
struct Block {
  std::string kind;
  std::string name;
  std::string text;
};

struct TableDefinitions {
  bool found = false;
  std::vector<std::string> attributes;  // the table's own lines (comment, flags)
  std::vector<Block> blocks;            // in listing order

  const Block* find(const std::string& kind, const std::string& name) const;
};

// The same table attributes and the same objects, in any order: nft lists
// objects in the order they were made, and one a re-load adds comes last.
bool same_objects(const TableDefinitions& a, const TableDefinitions& b);

// The table `family name` of a ruleset listing (found: false when absent).
TableDefinitions table_definitions(const std::string& listing, Family family,
                                   const std::string& name);

// "ip ztunnel" of every table of the listing that carries kOwnerComment.
std::vector<std::string> managed_table_refs(const std::string& listing);

// The table as `kernel` lists it, objects compared whole: sets and maps other
// than `managed` ones (and other than sets carrying a member routes record)
// with their elements, sorted (`list set`, one each: they are the policy's
// few). nullopt with `error` when the kernel cannot list definitions.
std::optional<TableDefinitions> read_definitions(NftKernel& kernel, Family family,
                                                 const std::string& name,
                                                 const std::set<std::string>& managed,
                                                 std::string* error);
// The same from a `list_definitions` text already read.
std::optional<TableDefinitions> read_definitions(NftKernel& kernel, const std::string& listing,
                                                 Family family, const std::string& name,
                                                 const std::set<std::string>& managed,
                                                 std::string* error);

struct Increment {
  std::string buffer;    // one transaction from `live` to `wanted`
  std::string rollback;  // one transaction from `wanted` back to `live`
  // What changes, one line each ("~ chain prerouting", "+ set ports"), in
  // the order of the wanted listing then the live one.
  std::vector<std::string> changes;
};

// The transaction that turns `live` into `wanted` (both of one table:
// `family name`). Blocks of sets whose members are the kernel's (`managed`)
// must be equal in both, or present only in `wanted` (a new set, created
// empty): nullopt with `why` otherwise, and when a table attribute or a
// chain's hook line differs.
std::optional<Increment> plan_increment(Family family, const std::string& name,
                                        const TableDefinitions& live,
                                        const TableDefinitions& wanted,
                                        const std::set<std::string>& managed, std::string* why);

}  // namespace ztc::nft
