#include "backend/nft_increment.h"

#include <algorithm>
#include <chrono>
#include <sstream>
#include <thread>
#include <tuple>

#include "backend/nft_canonical.h"
#include "model/enroll_fingerprint.h"

namespace ztc::nft {
namespace {

constexpr int kListAttempts = 50;  // 5 s at most

bool ends_with(const std::string& text, const std::string& tail) {
  return text.size() >= tail.size() &&
         text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

// The line of a chain block that declares a base chain ("type filter hook
// prerouting priority mangle; policy accept;"), empty for a regular chain.
std::string hook_line(const Block& block) {
  std::istringstream lines(block.text);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("type ") != std::string::npos && line.find(" hook ") != std::string::npos) {
      return line;
    }
  }
  return {};
}

// The transaction from `from` to `to`, checks done. Chains are flushed and
// refilled, never deleted and re-added, so that jumps into them stay valid;
// an object (set, map, counter, ...) that changes is deleted and added again,
// so every chain is refilled first (its rules may refer to it).
std::string transaction(Family family, const std::string& table, const TableDefinitions& from,
                        const TableDefinitions& to, std::vector<std::string>* changes) {
  std::vector<const Block*> refill, added_chains, removed_chains, put, removed_objects;
  bool objects_change = false;
  for (const Block& wanted : to.blocks) {
    const Block* live = from.find(wanted.kind, wanted.name);
    const bool chain = wanted.kind == "chain";
    if (live && live->text == wanted.text) continue;
    if (changes) changes->push_back((live ? "~ " : "+ ") + wanted.kind + " " + wanted.name);
    if (chain) {
      (live ? refill : added_chains).push_back(&wanted);
    } else {
      put.push_back(&wanted);
      if (live) {
        removed_objects.push_back(live);
        objects_change = true;
      }
    }
  }
  for (const Block& live : from.blocks) {
    if (to.find(live.kind, live.name)) continue;
    if (changes) changes->push_back("- " + live.kind + " " + live.name);
    if (live.kind == "chain") {
      removed_chains.push_back(&live);
    } else {
      removed_objects.push_back(&live);
      objects_change = true;
    }
  }
  if (objects_change) {
    refill.clear();
    for (const Block& wanted : to.blocks) {
      if (wanted.kind == "chain" && from.find("chain", wanted.name)) refill.push_back(&wanted);
    }
  }
  std::string buffer;
  auto spec = [&](const Block* block) { return object_spec(family, table, block->name); };
  for (const Block* chain : refill) buffer += "flush chain " + spec(chain) + "\n";
  for (const Block* chain : removed_chains) buffer += "flush chain " + spec(chain) + "\n";
  for (const Block* object : removed_objects) {
    buffer += "delete " + object->kind + " " + spec(object) + "\n";
  }
  for (const Block* chain : removed_chains) buffer += "delete chain " + spec(chain) + "\n";
  if (!put.empty() || !refill.empty() || !added_chains.empty()) {
    // One table block: nft declares its chains and objects before it adds
    // any rule, so a jump or a set reference may come in any order.
    buffer += "table " + table_spec(family, table) + " {\n";
    for (const Block* object : put) buffer += object->text;
    for (const Block* chain : added_chains) buffer += chain->text;
    for (const Block* chain : refill) buffer += chain->text;
    buffer += "}\n";
  }
  return buffer;
}

}  // namespace

const Block* TableDefinitions::find(const std::string& kind, const std::string& name) const {
  for (const Block& block : blocks) {
    if (block.kind == kind && block.name == name) return &block;
  }
  return nullptr;
}

TableDefinitions table_definitions(const std::string& listing, Family family,
                                   const std::string& name) {
  TableDefinitions out;
  const std::string header = "table " + table_spec(family, name) + " {";
  std::istringstream lines(listing);
  bool inside = false;
  Block* open = nullptr;
  for (std::string line; std::getline(lines, line);) {
    if (!inside) {
      if (line == header) inside = out.found = true;
      continue;
    }
    if (line == "}") break;
    if (open) {
      open->text += line + "\n";
      if (line == "\t}") open = nullptr;
      continue;
    }
    if (line.empty()) continue;
    if (line.size() > 3 && line[0] == '\t' && line[1] != '\t' && ends_with(line, " {")) {
      std::string words = line.substr(1, line.size() - 3);
      size_t space = words.rfind(' ');
      Block block;
      block.kind = space == std::string::npos ? std::string() : words.substr(0, space);
      block.name = words.substr(space == std::string::npos ? 0 : space + 1);
      block.text = line + "\n";
      out.blocks.push_back(std::move(block));
      open = &out.blocks.back();
      continue;
    }
    out.attributes.push_back(line);
  }
  return out;
}

bool holds_members(const Block& block, const std::set<std::string>& managed) {
  if (block.kind != "set") return false;
  return managed.count(block.name) ||
         block.text.find(std::string("comment \"") + kMemberRoutesPrefix) != std::string::npos;
}

bool same_objects(const TableDefinitions& a, const TableDefinitions& b) {
  auto objects = [](const TableDefinitions& table) {
    std::vector<std::tuple<std::string, std::string, std::string>> out;
    for (const Block& block : table.blocks) out.emplace_back(block.kind, block.name, block.text);
    std::sort(out.begin(), out.end());
    return out;
  };
  return a.found == b.found && a.attributes == b.attributes && objects(a) == objects(b);
}

std::optional<TableDefinitions> read_definitions(NftKernel& kernel, Family family,
                                                 const std::string& name,
                                                 const std::set<std::string>& managed,
                                                 std::string* error) {
  std::optional<std::string> listing = kernel.list_definitions();
  if (!listing) {
    if (error) *error = "cannot list the nft definitions";
    return std::nullopt;
  }
  return read_definitions(kernel, *listing, family, name, managed, error);
}

std::optional<TableDefinitions> read_definitions(NftKernel& kernel, const std::string& listing,
                                                 Family family, const std::string& name,
                                                 const std::set<std::string>& managed,
                                                 std::string* error) {
  TableDefinitions table = table_definitions(listing, family, name);
  for (Block& block : table.blocks) {
    if ((block.kind != "set" && block.kind != "map") || holds_members(block, managed)) continue;
    ApplyResult listed;
    // A hash set just filled is still being resized, and a dump that meets
    // the resize lists some elements twice (nft_canonical.h): list again.
    for (int attempt = 0; attempt < kListAttempts; ++attempt) {
      if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      listed = kernel.run("list " + block.kind + " " + object_spec(family, name, block.name), true);
      if (!listed.success || !lists_an_element_twice(listed.output)) break;
    }
    TableDefinitions alone;  // the listing of this one object
    if (listed.success)
      alone = table_definitions(with_sorted_elements(listed.output), family, name);
    const Block* whole = alone.find(block.kind, block.name);
    if (!whole) {
      if (error) *error = "cannot list " + block.kind + " " + block.name + ": " + listed.error;
      return std::nullopt;
    }
    block.text = whole->text;
  }
  return table;
}

std::vector<std::string> managed_table_refs(const std::string& listing) {
  std::vector<std::string> refs;
  const std::string owner = std::string("\tcomment \"") + kOwnerComment + "\"";
  std::istringstream lines(listing);
  std::string current;         // "ip ztunnel" while in its header
  bool in_attributes = false;  // the table's own lines come first
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("table ", 0) == 0 && ends_with(line, " {")) {
      current = line.substr(6, line.size() - 8);
      in_attributes = true;
      continue;
    }
    if (!in_attributes) continue;
    if (line == owner) {
      refs.push_back(current);
      in_attributes = false;
    } else if (line.empty() || ends_with(line, " {") || line == "}") {
      in_attributes = false;
    }
  }
  return refs;
}

std::optional<Increment> plan_increment(Family family, const std::string& name,
                                        const TableDefinitions& live,
                                        const TableDefinitions& wanted,
                                        const std::set<std::string>& managed, std::string* why) {
  auto refuse = [&](const std::string& reason) -> std::optional<Increment> {
    if (why) *why = reason;
    return std::nullopt;
  };
  if (live.attributes != wanted.attributes) return refuse("the table's attributes change");
  for (const Block& block : wanted.blocks) {
    const Block* old = live.find(block.kind, block.name);
    if (!old) continue;
    if (holds_members(block, managed) && old->text != block.text) {
      return refuse("managed set " + block.name + " changes its definition");
    }
    if (block.kind == "chain" && hook_line(*old) != hook_line(block)) {
      return refuse("chain " + block.name + " changes its hook");
    }
  }
  for (const Block& block : live.blocks) {
    if (block.kind == "set" && managed.count(block.name) && !wanted.find("set", block.name)) {
      return refuse("managed set " + block.name + " is not in the policy");
    }
    // A managed set of the live table that the policy no longer has (a
    // renamed one: its comment is a member routes record) may hold members:
    // a whole load weighs what it would lose.
    if (holds_members(block, managed) && !wanted.find("set", block.name)) {
      return refuse("managed set " + block.name + " is not in the policy");
    }
  }
  Increment increment;
  increment.buffer = transaction(family, name, live, wanted, &increment.changes);
  increment.rollback = transaction(family, name, wanted, live, nullptr);
  return increment;
}

}  // namespace ztc::nft
