// The marks and base chains of an nft ruleset, from libnftables' JSON listing.
// JSON gives the structure (which field a rule reads, with which mask, what it
// writes); the text listing is used only to quote each rule as nft prints it.
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "backend/preflight_node.h"

namespace ztc::preflight {
namespace {

using Json = nlohmann::json;

std::optional<MarkField> mark_field(const Json& j) {
  if (!j.is_object()) return std::nullopt;
  for (const char* key : {"meta", "ct"}) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_object() || it->value("key", "") != "mark") continue;
    return std::string(key) == "meta" ? MarkField::packet : MarkField::conntrack;
  }
  return std::nullopt;
}

std::optional<uint32_t> number(const Json& j) {
  if (j.is_number_unsigned() || j.is_number_integer()) return j.get<uint32_t>();
  return std::nullopt;
}

// Bits of `field` that `value` (assigned to it) may change.
uint32_t changed_bits(const Json& value, MarkField field) {
  if (auto f = mark_field(value); f && *f == field) return 0;
  if (value.is_object() && value.size() == 1) {
    const std::string op = value.begin().key();
    const Json& args = value.begin().value();
    if ((op == "|" || op == "^" || op == "&") && args.is_array() && args.size() == 2) {
      auto operand = number(args[1]);
      if (!operand) return 0xffffffffu;
      uint32_t bits = op == "&" ? ~*operand : *operand;
      return changed_bits(args[0], field) | bits;
    }
  }
  return 0xffffffffu;
}

struct ChainFacts {
  bool reads = false;
  uint32_t written = 0;
  bool nats = false;
  std::vector<std::string> targets;
};

// Chains a named verdict map jumps to, by "@name" (elements are listed only
// when the listing is not terse).
using MapTargets = std::map<std::string, std::vector<std::string>>;

struct RuleScan {
  std::vector<MarkUse> uses;
  ChainFacts* facts;
  const MapTargets* maps = nullptr;
  std::string map_prefix;  // "family table "
};

void add_read(RuleScan* scan, MarkField field, uint32_t mask, uint32_t value) {
  scan->facts->reads = true;
  MarkUse use;
  use.field = field;
  use.mask = mask;
  use.value = value;
  scan->uses.push_back(use);
}

// Any value: mark reads (a mask applied right at the field counts as the mask
// read), jumps and gotos (in verdicts and verdict maps), NAT statements.
void scan_value(const Json& j, RuleScan* scan, std::optional<MarkField> self = std::nullopt) {
  if (j.is_array()) {
    for (const Json& item : j) scan_value(item, scan, self);
    return;
  }
  if (!j.is_object()) return;
  if (auto field = mark_field(j)) {
    if (field != self) add_read(scan, *field, 0xffffffffu, 0);
    return;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    if (key == "&" && it->is_array() && it->size() == 2) {
      auto field = mark_field((*it)[0]);
      auto mask = number((*it)[1]);
      if (field && mask) {
        if (field != self) add_read(scan, *field, *mask, 0);
        continue;
      }
    }
    if ((key == "jump" || key == "goto") && it->is_object() && it->contains("target")) {
      scan->facts->targets.push_back((*it)["target"].get<std::string>());
      continue;
    }
    if (key == "vmap" && it->is_object() && it->contains("data") && (*it)["data"].is_string() &&
        scan->maps) {
      auto map = scan->maps->find(scan->map_prefix + (*it)["data"].get<std::string>());
      if (map != scan->maps->end()) {
        for (const std::string& target : map->second) scan->facts->targets.push_back(target);
      }
    }
    if (key == "snat" || key == "dnat" || key == "masquerade" || key == "redirect") {
      scan->facts->nats = true;
    }
    scan_value(it.value(), scan, self);
  }
}

void scan_statement(const Json& statement, RuleScan* scan) {
  // `add @set { ... meta mark }` and `log` record the mark as data: the rule
  // decides nothing by it (the equivalence lab's observers do exactly this).
  if (statement.contains("set") || statement.contains("log")) return;
  if (statement.contains("mangle")) {
    const Json& mangle = statement["mangle"];
    if (auto field = mark_field(mangle.value("key", Json()))) {
      uint32_t bits = changed_bits(mangle.value("value", Json()), *field);
      scan->facts->written |= bits;
      MarkUse use;
      use.field = *field;
      use.writes = true;
      use.mask = bits;
      if (auto v = number(mangle.value("value", Json()))) use.value = *v;
      scan->uses.push_back(use);
      scan_value(mangle.value("value", Json()), scan, field);
      return;
    }
  }
  if (statement.contains("match")) {
    const Json& match = statement["match"];
    size_t before = scan->uses.size();
    scan_value(match.value("left", Json()), scan);
    if (auto value = number(match.value("right", Json()))) {
      for (size_t i = before; i < scan->uses.size(); ++i) scan->uses[i].value = *value;
    }
    scan_value(match.value("right", Json()), scan);
    return;
  }
  scan_value(statement, scan);
}

Hook hook_of(const std::string& name) {
  if (name == "prerouting") return Hook::prerouting;
  if (name == "input") return Hook::input;
  if (name == "forward") return Hook::forward;
  if (name == "output") return Hook::output;
  if (name == "postrouting") return Hook::postrouting;
  return Hook::other;
}

// "family table chain handle" -> the rule as `nft -a list ruleset` prints it.
std::map<std::string, std::string> rule_texts(const std::string& text) {
  std::map<std::string, std::string> texts;
  std::istringstream lines(text);
  std::string family, table, chain;
  for (std::string line; std::getline(lines, line);) {
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    std::string trimmed = line.substr(start);
    std::istringstream words(trimmed);
    std::string first;
    words >> first;
    if (start == 0 && first == "table") {
      words >> family >> table;
      chain.clear();
    } else if (first == "chain") {
      words >> chain;
    } else if (!chain.empty()) {
      size_t mark = trimmed.rfind(" # handle ");
      if (mark == std::string::npos) continue;
      texts[family + " " + table + " " + chain + " " + trimmed.substr(mark + 10)] =
          trimmed.substr(0, mark);
    }
  }
  return texts;
}

}  // namespace

bool read_nft_ruleset(const std::string& json_text, const std::string& text,
                      const std::set<std::string>& skip, NodeFootprint* out, std::string* error) {
  Json document = Json::parse(json_text, nullptr, false);
  if (!document.is_object() || !document.contains("nftables") || !document["nftables"].is_array()) {
    *error = "the nft JSON listing could not be read";
    return false;
  }
  std::map<std::string, std::string> texts = rule_texts(text);
  struct BaseChain {
    std::string family, table, name, type;
    Hook hook;
    int priority;
  };
  std::vector<BaseChain> bases;
  std::map<std::string, ChainFacts> facts;  // "family table chain"
  // "family table @map" -> the chains its elements jump to.
  MapTargets maps;
  for (const Json& item : document["nftables"]) {
    if (!item.contains("map") || !item["map"].contains("elem")) continue;
    const Json& map = item["map"];
    ChainFacts collected;
    RuleScan scan{{}, &collected, nullptr, ""};
    scan_value(map["elem"], &scan);
    maps[map.value("family", "") + " " + map.value("table", "") + " @" + map.value("name", "")] =
        collected.targets;
  }
  for (const Json& item : document["nftables"]) {
    if (item.contains("chain")) {
      const Json& chain = item["chain"];
      std::string family = chain.value("family", ""), table = chain.value("table", "");
      if (skip.count(family + " " + table)) continue;
      if (chain.contains("hook")) {
        int priority = chain.contains("prio") && chain["prio"].is_number_integer()
                           ? chain["prio"].get<int>()
                           : 0;
        bases.push_back({family, table, chain.value("name", ""), chain.value("type", ""),
                         hook_of(chain.value("hook", "")), priority});
      }
      continue;
    }
    if (!item.contains("rule")) continue;
    const Json& rule = item["rule"];
    std::string family = rule.value("family", ""), table = rule.value("table", "");
    if (skip.count(family + " " + table)) continue;
    std::string chain = rule.value("chain", "");
    std::string handle = std::to_string(rule.value("handle", 0));
    RuleScan scan{
        {}, &facts[family + " " + table + " " + chain], &maps, family + " " + table + " "};
    for (const Json& statement : rule.value("expr", Json::array()))
      scan_statement(statement, &scan);
    std::string where =
        "nft table " + family + " " + table + " chain " + chain + " handle " + handle;
    auto quoted = texts.find(family + " " + table + " " + chain + " " + handle);
    if (quoted != texts.end()) where += ": " + quoted->second;
    for (MarkUse& use : scan.uses) {
      use.node = where;
      use.owner_hint = table;
      out->marks.push_back(std::move(use));
    }
  }
  for (const BaseChain& base : bases) {
    if (base.hook == Hook::other) continue;
    NodeBaseChain chain;
    chain.family = base.family;
    chain.hook = base.hook;
    chain.priority = base.priority;
    chain.owner_hint = base.table;
    chain.node = "nft table " + base.family + " " + base.table + " chain " + base.name + " (" +
                 base.type + " hook " + hook_name(base.hook) + " priority " +
                 std::to_string(base.priority) + ")";
    // What the chain and every chain it reaches do (bounded: each visited once).
    std::set<std::string> seen;
    std::vector<std::string> pending{base.name};
    while (!pending.empty()) {
      std::string name = pending.back();
      pending.pop_back();
      if (!seen.insert(name).second) continue;
      auto it = facts.find(base.family + " " + base.table + " " + name);
      if (it == facts.end()) continue;
      chain.reads_marks |= it->second.reads;
      chain.written_bits |= it->second.written;
      chain.nats |= it->second.nats;
      for (const std::string& target : it->second.targets) pending.push_back(target);
    }
    chain.writes_marks = chain.written_bits != 0;
    out->chains.push_back(std::move(chain));
  }
  return true;
}

}  // namespace ztc::preflight
