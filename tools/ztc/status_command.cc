// ztc status [--json]: the tables ztc loaded, their sizes, and ztc's rules and
// routes.
#include <nlohmann/json.hpp>
#include <ostream>

#include "backend/apply.h"
#include "backend/load_record.h"
#include "backend/nft_json_listing.h"
#include "tools/ztc/commands.h"
#include "tools/ztc/node_access.h"
#include "tools/ztc/wording.h"

namespace ztc {
namespace {

struct TableStatus {
  std::string ref;  // "ip ztunnel"
  nft::TableSizes sizes;
};

TableStatus table_status(nft::NftKernel& kernel, const LiveTable& live) {
  std::optional<std::string> json_text = kernel.list_table(live.family, live.name, true);
  return {live.ref(), nft::parse_table_sizes_json(json_text.value_or(""))};
}

}  // namespace

int run_status(const NodeOptions& options, bool json, std::ostream& out, std::ostream& err) {
  std::string error;
  auto node = open_node(options, "status", &error);
  if (!node) {
    err << "ztc: error: " << error << "\n";
    return kExitFailure;
  }
  std::optional<std::vector<LiveTable>> tables = live_tables(*node->nft, &error);
  if (!tables) {
    err << "ztc: error: " << error << (error.empty() || error.back() != '\n' ? "\n" : "");
    return kExitFailure;
  }
  std::vector<TableStatus> owned;
  for (const LiveTable& live : *tables) {
    if (live.managed) owned.push_back(table_status(*node->nft, live));
  }
  std::vector<route::Rule> rules;
  std::vector<route::Route> routes;
  if (auto e = node->routing->list_rules(&rules)) {
    err << "ztc: error: cannot list rules: " << *e << "\n";
    return kExitFailure;
  }
  if (auto e = node->routing->list_routes(&routes)) {
    err << "ztc: error: cannot list routes: " << *e << "\n";
    return kExitFailure;
  }
  std::optional<LoadRecord> record;
  std::string record_error;
  if (auto file = LoadRecordFile::open(&record_error)) record = file->read(&record_error);

  if (json) {
    using nlohmann::json;
    json tables_json = json::array();
    for (const TableStatus& table : owned) {
      json sets = json::array();
      for (const auto& [name, size] : table.sizes.sets)
        sets.push_back({{"name", name}, {"elements", size}});
      json entry = {{"table", table.ref},         {"chains", table.sizes.chains},
                    {"rules", table.sizes.rules}, {"counters", table.sizes.counters},
                    {"sets", std::move(sets)},    {"last_load", json()},
                    {"fingerprint", json()}};
      if (record && record->table == table.ref) {
        entry["last_load"] = record->loaded_at;
        entry["fingerprint"] = record->fingerprint;
      }
      tables_json.push_back(std::move(entry));
    }
    json document = {{"tables", std::move(tables_json)},
                     {"routing",
                      {{"protocol", static_cast<int>(route::kZtcProtocol)},
                       {"member_route_protocol", static_cast<int>(route::kMemberRouteProtocol)},
                       {"rules", rules.size()},
                       {"routes", routes.size()}}}};
    out << document.dump(2) << "\n";
    return kExitOk;
  }
  for (const TableStatus& table : owned) {
    out << "table " << table.ref << ": " << plural(table.sizes.chains, "chain", "chains") << ", "
        << plural(table.sizes.rules, "rule", "rules");
    for (const auto& [set, size] : table.sizes.sets)
      out << "; set " << set << " " << plural(size, "element", "elements");
    out << "\n";
  }
  if (owned.empty()) out << "no table managed by ztc\n";
  out << "routing (protocol " << static_cast<int>(route::kZtcProtocol) << ", member routes "
      << static_cast<int>(route::kMemberRouteProtocol)
      << "): " << plural(rules.size(), "rule", "rules") << ", "
      << plural(routes.size(), "route", "routes") << "\n";
  return kExitOk;
}

}  // namespace ztc
