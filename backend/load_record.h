// What `ztc stats` says about the last load that it cannot read from the
// kernel: when it happened, the fingerprint of what was loaded, and since when
// each rule's counter counts (a counter is reset when its rule is new or
// changed, or when the table was loaded afresh). One file per network
// namespace in ztc's runtime directory, /run/ztc/load-<INODE>, holding the
// namespace's cookie like the sysctl record (sysctl_state.h), so a new
// namespace with a reused inode does not inherit it. Written after a load
// succeeds; a load killed before that leaves the previous record, which
// `stats` shows with a fingerprint that no longer matches the policy.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backend/state_dir.h"
#include "model/nft_model.h"
#include "model/routing_plan.h"

namespace ztc {

struct LoadRecord {
  std::string table;      // "ip ztunnel"
  std::string loaded_at;  // UTC, RFC 3339: 2026-12-02T20:45:00Z
  std::string fingerprint;
  std::map<std::string, std::string> counters_since;  // counter name -> reset time
};

// 16 hex digits over the compiled table and routing plan (before live members
// and counter values are merged in): equal for equal policies and -D values.
std::string policy_fingerprint(const nft::Table& table, const route::Plan& plan);

// The current time as LoadRecord::loaded_at writes it.
std::string utc_now();

// The record after a load of `table` at `now`: a counter carried over keeps
// its time from `previous` (or, unknown there, the previous load's time); a
// new one starts at `now`.
LoadRecord next_load_record(const nft::Table& table, const route::Plan& plan,
                            const std::vector<std::string>& counters_carried,
                            const std::optional<LoadRecord>& previous, const std::string& now);

class LoadRecordFile {
 public:
  // For the calling thread's network namespace, in StateDir::runtime().
  static std::optional<LoadRecordFile> open(std::string* error);
  LoadRecordFile(StateDir directory, uint64_t netns_inode, uint64_t netns_cookie);
  explicit LoadRecordFile(NetnsRecordFile file) : file_(std::move(file)) {}

  // nullopt without an error when there is none (or it is another
  // namespace's); with `error` when it cannot be read.
  std::optional<LoadRecord> read(std::string* error) const;
  bool write(const LoadRecord& record, std::string* error) const;
  bool remove(std::string* error) const;

 private:
  NetnsRecordFile file_;
};

}  // namespace ztc
