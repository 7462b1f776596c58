#include "backend/load_record.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "backend/nft_text.h"
#include "backend/routing_text.h"

namespace ztc {

std::string policy_fingerprint(const nft::Table& table, const route::Plan& plan) {
  uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a: stable across builds
  for (const std::string& part : {nft::emit_text(table).text, route::emit_batch(plan)}) {
    for (char c : part) {
      hash ^= static_cast<unsigned char>(c);
      hash *= 0x100000001b3ULL;
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

LoadRecord next_load_record(const nft::Table& table, const route::Plan& plan,
                            const std::vector<std::string>& counters_carried,
                            const std::optional<LoadRecord>& previous, const std::string& now) {
  LoadRecord record;
  record.table = nft::table_spec(table.family, table.name);
  record.loaded_at = now;
  record.fingerprint = policy_fingerprint(table, plan);
  bool same_table = previous && previous->table == record.table;
  for (const nft::NamedCounter& counter : table.counters) {
    std::string since = now;
    bool carried = std::find(counters_carried.begin(), counters_carried.end(), counter.name) !=
                   counters_carried.end();
    if (carried && same_table) {
      auto found = previous->counters_since.find(counter.name);
      since = found != previous->counters_since.end() ? found->second : previous->loaded_at;
    }
    record.counters_since[counter.name] = since;
  }
  return record;
}

std::optional<LoadRecordFile> LoadRecordFile::open(std::string* error) {
  std::optional<NetnsRecordFile> file = NetnsRecordFile::open("load", error);
  if (!file) return std::nullopt;
  return LoadRecordFile(std::move(*file));
}

LoadRecordFile::LoadRecordFile(StateDir directory, uint64_t netns_inode, uint64_t netns_cookie)
    : file_(std::move(directory), "load", NetnsIdentity{netns_inode, netns_cookie}) {}

std::optional<LoadRecord> LoadRecordFile::read(std::string* error) const {
  std::optional<nlohmann::json> document = file_.read(error);
  if (!document) return std::nullopt;
  if (!document->is_object() || !document->contains("counters_since") ||
      !(*document)["counters_since"].is_object()) {
    *error = file_.path() + " is not a load record; remove it to go on";
    return std::nullopt;
  }
  if (!file_.is_current(*document)) return std::nullopt;  // stale
  LoadRecord record;
  record.table = document->value("table", "");
  record.loaded_at = document->value("loaded_at", "");
  record.fingerprint = document->value("fingerprint", "");
  for (const auto& [name, since] : (*document)["counters_since"].items()) {
    if (since.is_string()) record.counters_since[name] = since.get<std::string>();
  }
  return record;
}

bool LoadRecordFile::write(const LoadRecord& record, std::string* error) const {
  nlohmann::json document = {{"table", record.table},
                             {"loaded_at", record.loaded_at},
                             {"fingerprint", record.fingerprint},
                             {"counters_since", record.counters_since}};
  return file_.write(std::move(document), error);
}

bool LoadRecordFile::remove(std::string* error) const { return file_.remove(error); }

}  // namespace ztc
