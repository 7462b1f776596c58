// What a scratch namespace lists back for a policy's declared table
// (nft_canonical.h, scratch_definitions), kept from the last re-load that
// asked one: it costs a namespace, a load and a listing (about 8 of the
// ~40 ms of a re-load at 100k members), and most re-loads are of the same
// policy. One file per network namespace, /run/ztc/definitions-<INODE>
// (state_dir.h), removed by unload.
//
// Trusted only to say "unchanged": a re-load takes the recorded definitions
// when its declared table is the recorded one (the same text, managed sets,
// libnftables build and kernel) and the live table lists exactly them.
// Anything else asks a scratch namespace, so a stale or foreign record costs
// time, never a wrong change.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "backend/nft_increment.h"
#include "backend/state_dir.h"

namespace ztc::nft {

// Everything a scratch listing depends on: the declared table's text, which
// of its sets are managed, and the libnftables and kernel that list it.
std::string declared_key(const std::string& declared_text, const std::set<std::string>& managed);

class DefinitionsMemo {
 public:
  // For the calling thread's network namespace, in StateDir::runtime().
  static std::optional<DefinitionsMemo> open(std::string* error);
  explicit DefinitionsMemo(NetnsRecordFile file) : file_(std::move(file)) {}

  // The definitions recorded for `key`; nullopt when there are none for it
  // (or the record cannot be read: it only saves time).
  std::optional<TableDefinitions> find(const std::string& key) const;
  bool write(const std::string& key, const TableDefinitions& definitions, std::string* error) const;
  bool remove(std::string* error) const;

 private:
  NetnsRecordFile file_;
};

}  // namespace ztc::nft
