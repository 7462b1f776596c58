#include "backend/apply.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <string_view>

#include "backend/counter_values.h"
#include "backend/nft_canonical.h"
#include "backend/nft_errors.h"
#include "backend/nft_increment.h"
#include "backend/nft_text.h"
#include "backend/sysctl.h"
#include "backend/trace.h"

namespace ztc {
namespace {

std::optional<nft::Family> family_from_name(const std::string& text) {
  if (text == "ip") return nft::Family::ip;
  if (text == "ip6") return nft::Family::ip6;
  if (text == "inet") return nft::Family::inet;
  return std::nullopt;
}

// A table as it was before an operation, to put it back if a later step fails.
struct Saved {
  nft::Family family;
  std::string name;
  std::optional<std::string> listing;  // nullopt: it did not exist
};

// One transaction that puts every saved table back as it was (or removes it
// when it did not exist): the node ends in its old state.
nft::ApplyResult restore_tables(nft::NftKernel& kernel, const std::vector<Saved>& saved) {
  std::string buffer;
  for (const Saved& table : saved) {
    buffer += nft::restore_table_buffer(table.family, table.name, table.listing);
    if (!buffer.empty() && buffer.back() != '\n') buffer += '\n';
  }
  return kernel.run(buffer, /*dry_run=*/false);
}

// Where a note about the whole operation reads best: right after the first
// error (diagnostics render in source order), else at the table statement.
Location first_error_location(const Diagnostics& diagnostics, const Location& fallback) {
  for (const Diagnostic& d : diagnostics.all()) {
    if (d.severity == Severity::error && d.location.known()) return d.location;
  }
  return fallback;
}

// What load and unload need to know about the tables before they change any:
// the policy's table (its listing, whether ztc manages it) and the other
// tables ztc manages. False with an error when the kernel cannot tell.
struct TablesBefore {
  std::optional<std::string> target;  // listing of the policy's table
  bool target_exists = false;
  bool target_managed = false;
  std::vector<LiveTable> others;  // other ztc tables
};

bool read_tables_before(nft::NftKernel& kernel, nft::Family family, const std::string& name,
                        TablesBefore* out, std::string* error) {
  std::optional<std::vector<LiveTable>> tables = live_tables(kernel, error);
  if (!tables) return false;
  for (LiveTable& table : *tables) {
    if (table.family == family && table.name == name) {
      out->target_exists = true;
      out->target = std::move(table.listing);  // listed once: it may hold 100k members
      continue;
    }
    if (table.managed) out->others.push_back(std::move(table));
  }
  if (!out->target_exists) {
    // Not enumerated (a kernel that cannot say, or the table came since): ask for it.
    out->target = kernel.list_table(family, name, /*json=*/false);
    out->target_exists = out->target.has_value();
  }
  if (out->target_exists && !out->target) {
    *error = "table " + nft::table_spec(family, name) +
             " exists but cannot be listed, so it could not be restored on failure";
    return false;
  }
  out->target_managed = out->target && managed_by_ztc(*out->target);
  return true;
}

// The kernel lists a hash set in hash order; addresses in address order (then
// anything else by text) keep what a load prints the same from run to run.
void sort_members(std::vector<nft::Element>* members) {
  struct Keyed {
    std::optional<IpPrefix> address;
    nft::Element* element;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(members->size());
  for (nft::Element& e : *members) keyed.push_back({parse_ip_prefix(e.value), &e});
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    if (a.address && b.address) return *a.address < *b.address;
    if (a.address || b.address) return a.address.has_value();
    return a.element->value < b.element->value;
  });
  std::vector<nft::Element> sorted;
  sorted.reserve(members->size());
  for (Keyed& k : keyed) sorted.push_back(std::move(*k.element));
  *members = std::move(sorted);
}

std::string plural(size_t count, const std::string& one, const std::string& many) {
  return std::to_string(count) + " " + (count == 1 ? one : many);
}

// Names of the sets in a `list table` text (one tab in: the table's own).
std::vector<std::string> set_names(const std::string& listing) {
  std::vector<std::string> names;
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("\tset ", 0) != 0) continue;
    std::string name = line.substr(5);
    size_t end = name.find(' ');
    names.push_back(name.substr(0, end));
  }
  return names;
}

// Elements of a set as the kernel holds them (0 when it cannot say).
size_t count_elements(const Kernels& kernels, nft::Family family, const std::string& table,
                      const std::string& set) {
  if (kernels.sets) {
    nft::SetDescription description;
    std::vector<nft::Element> live;
    if (!kernels.sets->describe(family, table, set, &description) && description.set_exists &&
        description.type.rfind("type ", 0) != 0 && !kernels.sets->list(family, table, set, &live)) {
      return live.size();
    }
  }
  return kernels.nft.list_set_elements(family, table, set).size();
}

// Routes the reconciler would delete (a replaced route is listed as a '-'
// line followed by its '+' line: not lost).
size_t routes_deleted(const route::ReconcileResult& check) {
  size_t count = 0;
  const auto is_route = [](const route::DiffLine& line) {
    return line.text.find(" route ") != std::string::npos;
  };
  for (size_t i = 0; i < check.diff.size(); ++i) {
    const route::DiffLine& line = check.diff[i];
    if (line.sign != '-' || !is_route(line)) continue;
    bool replaced =
        i + 1 < check.diff.size() && check.diff[i + 1].sign == '+' && is_route(check.diff[i + 1]);
    if (!replaced) ++count;
  }
  return count;
}

// What a load of `compiled` would lose that the user may not mean to: other
// ztc tables (with their set elements) and sets of the table that the policy
// no longer has, when they hold elements. Empty: nothing.
std::vector<std::string> losses(const nft::Table& compiled, const TablesBefore& before,
                                const Kernels& kernels) {
  std::vector<std::string> lost;
  for (const LiveTable& other : before.others) {
    size_t elements = 0;
    for (const std::string& set : set_names(other.listing.value_or(""))) {
      elements += count_elements(kernels, other.family, other.name, set);
    }
    lost.push_back("table " + other.ref() +
                   (elements ? " with " + plural(elements, "set element", "set elements") : ""));
  }
  if (before.target) {
    for (const std::string& name : set_names(*before.target)) {
      bool kept = std::any_of(compiled.sets.begin(), compiled.sets.end(),
                              [&](const nft::Set& set) { return set.name == name; });
      if (kept) continue;
      size_t elements = count_elements(kernels, compiled.family, compiled.name, name);
      if (elements > 0) {
        lost.push_back("set " + name + " (not in the policy) with " +
                       plural(elements, "element", "elements"));
      }
    }
  }
  return lost;
}

// The sysctl record after a load of `plan`: the recorded values of keys the
// plan still sets, and the current value of each key it sets for the first
// time and changes. Keys it no longer sets drop out (they are put back).
SysctlValues next_record(const route::Plan& plan, const SysctlValues& recorded,
                         route::RoutingKernel& kernel) {
  SysctlValues next;
  for (const route::Sysctl& sysctl : plan.sysctls) {
    auto found = recorded.find(sysctl.key);
    if (found != recorded.end()) {
      next[sysctl.key] = found->second;
      continue;
    }
    std::string current;
    if (kernel.read_sysctl(sysctl.key, &current)) continue;  // the check reports it
    if (!sysctl_values_equal(current, sysctl.value)) next[sysctl.key] = current;
  }
  return next;
}

bool device_present(route::RoutingKernel& kernel, const std::string& key) {
  std::optional<std::string> device = sysctl_interface(key);
  return !device || kernel.device_exists(*device);
}

}  // namespace

std::optional<SysctlValues> recorded_sysctls(const Kernels& kernels, std::string* error) {
  if (!kernels.sysctl_state) return SysctlValues{};
  return kernels.sysctl_state->read(error);
}

std::optional<ReloadDefinitions> reload_definitions(const nft::Table& compiled,
                                                    nft::NftKernel& kernel,
                                                    const std::string& listing,
                                                    const nft::DefinitionsMemo* memo) {
  ReloadDefinitions definitions;
  nft::Table declared = compiled;  // the policy without its managed sets' elements
  for (nft::Set& set : declared.sets) {
    if (!set.managed) continue;
    definitions.managed.insert(set.name);
    set.elements.clear();
  }
  std::string error;
  std::optional<nft::TableDefinitions> live = nft::read_definitions(
      kernel, listing, compiled.family, compiled.name, definitions.managed, &error);
  if (!live || !live->found || live->find("chain", kMemberRoutesPending)) return std::nullopt;
  const std::string declared_text = nft::emit_text(declared).text;
  std::optional<nft::TableDefinitions> wanted;
  if (memo) {
    definitions.declared_key = nft::declared_key(declared_text, definitions.managed);
    std::optional<nft::TableDefinitions> recorded = memo->find(definitions.declared_key);
    if (recorded && nft::same_objects(*recorded, *live)) {
      wanted = std::move(recorded);
      definitions.wanted_from_memo = true;
    }
  }
  if (!wanted) {
    wanted = nft::scratch_definitions(declared_text, compiled.family, compiled.name,
                                      definitions.managed, &error);
  }
  if (!wanted) return std::nullopt;
  std::optional<nft::Increment> increment = nft::plan_increment(
      compiled.family, compiled.name, *live, *wanted, definitions.managed, nullptr);
  if (!increment) return std::nullopt;
  definitions.live = std::move(*live);
  definitions.wanted = std::move(*wanted);
  definitions.increment = std::move(*increment);
  return definitions;
}

namespace {

// A re-load that changes only what differs (nft_increment.h), or nullopt
// when it cannot (no table yet, another ztc table, a managed set's
// definition or its member routes changed, a kernel that cannot list
// definitions): then the whole table is replaced as on a first load.
std::optional<ApplyReport> load_increment(const nft::Table& compiled, const route::Plan& plan,
                                          const Kernels& kernels, bool dry_run,
                                          bool* definitions_listed) {
  if (!kernels.sets) return std::nullopt;
  std::optional<std::string> listing = kernels.nft.list_definitions();
  if (!listing) return std::nullopt;
  *definitions_listed = true;
  const std::string ref = nft::table_spec(compiled.family, compiled.name);
  if (nft::managed_table_refs(*listing) != std::vector<std::string>{ref}) return std::nullopt;
  std::optional<ReloadDefinitions> definitions =
      reload_definitions(compiled, kernels.nft, *listing, kernels.definitions_memo);
  if (!definitions) return std::nullopt;
  const nft::TableDefinitions& live = definitions->live;
  const nft::TableDefinitions& wanted = definitions->wanted;
  const nft::Increment& increment = definitions->increment;
  std::string error;

  ApplyReport report;
  report.incremental = true;
  report.nft_changes = increment.changes;
  // Counter objects the increment leaves in place keep counting: the load
  // record must keep their reset time, as a whole load that carried them.
  for (const nft::NamedCounter& counter : compiled.counters) {
    const nft::Block* kept = live.find("counter", counter.name);
    const nft::Block* policy = wanted.find("counter", counter.name);
    if (kept && policy && kept->text == policy->text)
      report.counters_carried.push_back(counter.name);
  }
  // A `ztc trace` chain is not the policy's: the increment deletes it, and
  // the caller says so, as for a whole load.
  report.trace_chains_dropped = trace::trace_chains(*listing);
  std::string add_elements, remove_elements;
  nft::Table added_members;
  if (!missing_declared_elements(compiled, *kernels.sets, &add_elements, &remove_elements,
                                 &report.nft_changes, &added_members, &error)) {
    report.diagnostics.error(compiled.location, error);
    return report;
  }
  const std::vector<route::Route> new_member_routes = derived_routes(plan, added_members);
  std::optional<SysctlValues> read = recorded_sysctls(kernels, &error);
  if (!read) {
    report.diagnostics.error(compiled.location, error);
    return report;
  }
  const SysctlValues& recorded = *read;
  const route::Plan effective =
      with_sysctl_restores(plan, recorded, kernels.routing, compiled.location);
  // Routing checked first, member routes left out: their template is the
  // one recorded on the unchanged managed sets.
  route::ReconcileResult check =
      route::reconcile_keeping_members(kernels.routing, effective, new_member_routes, true);
  // Member routes an older ztc wrote: a whole load re-tags them.
  if (check.untagged_member_routes) return std::nullopt;
  if (!check.ok) {
    report.diagnostics.append(check.diagnostics);
    report.routing = std::move(check);
    return report;
  }
  std::set<std::string> asked;
  for (const route::Route& route : plan.routes) {
    if (!asked.insert(route::describe(route)).second) continue;
    if (route::KernelError refused = kernels.routing.check_route_addresses(route)) {
      report.diagnostics.error(
          route.location, "the kernel would refuse " + route::describe(route) + ": " + *refused);
    }
  }
  if (report.diagnostics.has_errors()) return report;
  const SysctlValues record = next_record(plan, recorded, kernels.routing);

  report.nft_buffer = increment.buffer + add_elements;
  const std::string rollback = remove_elements + increment.rollback;
  const bool record_changes = !dry_run && kernels.sysctl_state && record != recorded;
  if (!dry_run) kernels.hold_signals();
  if (record_changes && !kernels.sysctl_state->write(record, &error)) {
    report.diagnostics.error(compiled.location, error);
    return report;
  }
  auto restore_record = [&] {
    if (record_changes && !kernels.sysctl_state->write(recorded, &error)) {
      report.diagnostics.warning(compiled.location, error);
    }
  };
  if (!report.nft_buffer.empty()) {
    nft::ApplyResult result = kernels.nft.run(report.nft_buffer, dry_run);
    if (!result.success) {
      restore_record();
      report.diagnostics.error(compiled.location, "nft: " + result.error);
      return report;
    }
  }
  if (dry_run) {
    report.routing = std::move(check);
    report.ok = true;
    return report;
  }
  report.nft_committed = !report.nft_buffer.empty();
  // The check's plan, written: the lock is held, nothing changed since
  // (one route listing instead of two).
  report.routing = std::move(check);
  route::apply_planned(kernels.routing, &report.routing);
  if (!report.routing.ok) {
    if (report.routing.applied.empty()) restore_record();
    report.diagnostics.append(report.routing.diagnostics);
    Location where = first_error_location(report.routing.diagnostics, compiled.location);
    bool routing_undone = report.routing.applied.empty();
    bool restored = true;
    if (!rollback.empty()) {
      nft::ApplyResult back = kernels.nft.run(rollback, false);
      restored = back.success;
      if (!restored) {
        report.diagnostics.error(where, "could not restore the previous nft table: " + back.error);
      }
    }
    if (restored) {
      report.diagnostics.note(where, std::string("the previous nft table was restored") +
                                         (routing_undone ? "; nothing changed" : ""));
    }
    report.node_unchanged = restored && routing_undone;
    report.nft_committed = false;
    return report;
  }
  // The table now lists what the scratch namespace did: the next re-load of
  // this policy needs none. A record that cannot be written costs only time.
  if (kernels.definitions_memo && !definitions->wanted_from_memo) {
    std::string ignored;
    kernels.definitions_memo->write(definitions->declared_key, wanted, &ignored);
  }
  report.ok = true;
  return report;
}

}  // namespace

bool missing_declared_elements(const nft::Table& compiled, nft::SetReader& sets, std::string* add,
                               std::string* undo, std::vector<std::string>* changes,
                               nft::Table* added_members, std::string* error) {
  added_members->family = compiled.family;
  added_members->name = compiled.name;
  const std::string ref = nft::table_spec(compiled.family, compiled.name);
  for (const nft::Set& set : compiled.sets) {
    if (!set.managed || set.elements.empty()) continue;
    std::vector<std::string> values;
    for (const nft::Element& element : set.elements) values.push_back(element.value);
    std::vector<std::optional<nft::Element>> found;
    // Few declared elements are asked one by one; many, with one listing.
    constexpr size_t kFindAtMost = 4096;
    if (values.size() <= kFindAtMost) {
      if (nft::ReadError failed =
              sets.find(compiled.family, compiled.name, set.name, values, &found)) {
        *error = "cannot read set '" + set.name + "': " + *failed;
        return false;
      }
    } else {
      std::vector<nft::Element> live;
      if (nft::ReadError failed = sets.list(compiled.family, compiled.name, set.name, &live)) {
        *error = "cannot read set '" + set.name + "': " + *failed;
        return false;
      }
      std::set<std::string> present;
      for (const nft::Element& e : live) present.insert(e.value);
      for (const std::string& value : values) {
        found.push_back(present.count(value) ? std::optional<nft::Element>(nft::Element{value, {}})
                                             : std::nullopt);
      }
    }
    std::string added, values_added;
    nft::Set& fresh = added_members->sets.emplace_back();
    fresh.name = set.name;
    for (size_t i = 0; i < set.elements.size(); ++i) {
      if (found[i]) continue;
      const nft::Element& element = set.elements[i];
      fresh.elements.push_back(element);
      std::string text = element.value;
      if (!element.comment.empty()) text += " comment " + nft::quoted_string(element.comment);
      added += (added.empty() ? "" : ", ") + text;
      values_added += (values_added.empty() ? "" : ", ") + element.value;
      changes->push_back("+ element " + set.name + " " + element.value);
    }
    if (added.empty()) continue;
    *add += "add element " + ref + " " + set.name + " { " + added + " }\n";
    *undo += "delete element " + ref + " " + set.name + " { " + values_added + " }\n";
  }
  return true;
}

route::Plan with_sysctl_restores(const route::Plan& plan, const SysctlValues& recorded,
                                 route::RoutingKernel& kernel, const Location& where) {
  route::Plan out = plan;
  std::set<std::string> set_by_plan;
  for (const route::Sysctl& sysctl : plan.sysctls) set_by_plan.insert(sysctl.key);
  for (const auto& [key, value] : recorded) {
    if (set_by_plan.count(key) || !device_present(kernel, key)) continue;
    out.sysctls.push_back({key, value, where});
  }
  return out;
}

std::string LiveTable::ref() const { return nft::table_spec(family, name); }

bool managed_by_ztc(const std::string& listing) {
  const std::string wanted = std::string("\tcomment \"") + nft::kOwnerComment + "\"";
  std::istringstream lines(listing);
  bool in_table = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("table ", 0) == 0) {
      in_table = true;
      continue;
    }
    // The table's own attributes come first, one tab in; the first set,
    // chain or closing brace ends them.
    if (in_table) return line == wanted;
  }
  return false;
}

std::optional<std::vector<LiveTable>> live_tables(nft::NftKernel& kernel, std::string* error) {
  // One `list ruleset`, split per table: nft 1.0.6 fetches every set's
  // elements for any listing (even `list tables`: ~1 s with 100k members),
  // so one listing for all tables costs what one for a single table does.
  // A check-mode run: it lists all the same and can change nothing.
  nft::ApplyResult listed = kernel.run("list ruleset", /*dry_run=*/true);
  if (!listed.success) {
    if (error) *error = "cannot list the nft ruleset: " + listed.error;
    return std::nullopt;
  }
  std::vector<LiveTable> tables;
  bool keep = false;  // inside an ip, ip6 or inet table
  size_t begin = 0;
  const std::string& text = listed.output;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    end = end == std::string::npos ? text.size() : end + 1;
    std::string_view line(text.data() + begin, end - begin);
    if (line.substr(0, 6) == "table ") {
      // "table FAMILY NAME {"
      std::istringstream words{std::string(line)};
      std::string keyword, family_text, name;
      words >> keyword >> family_text >> name;
      std::optional<nft::Family> family = family_from_name(family_text);
      keep = family.has_value();  // arp, bridge, netdev: never ztc's
      if (keep) {
        LiveTable table;
        table.family = *family;
        table.name = name;
        table.listing = std::string();
        tables.push_back(std::move(table));
      }
    }
    if (keep) *tables.back().listing += line;
    if (line == "}\n" || line == "}") keep = false;
    begin = end;
  }
  for (LiveTable& table : tables) table.managed = managed_by_ztc(*table.listing);
  return tables;
}

std::optional<nft::Table> with_live_members(const nft::Table& table, const Kernels& kernels,
                                            size_t* carried, std::string* error) {
  nft::Table out = table;
  size_t count = 0;
  for (nft::Set& set : out.sets) {
    if (!set.managed) continue;
    std::vector<nft::Element> live;
    if (kernels.sets) {
      nft::SetDescription description;
      nft::ReadError failed =
          kernels.sets->describe(table.family, table.name, set.name, &description);
      if (!failed && description.set_exists) {
        if (description.type.rfind("type ", 0) == 0) {
          // A key type the reader does not decode: libnftables can.
          live = kernels.nft.list_set_elements(table.family, table.name, set.name);
        } else {
          failed = kernels.sets->list(table.family, table.name, set.name, &live);
        }
      }
      if (failed) {
        if (error) *error = "cannot read the members of set '" + set.name + "': " + *failed;
        return std::nullopt;
      }
    } else {
      live = kernels.nft.list_set_elements(table.family, table.name, set.name);
    }
    std::set<std::string> present;
    for (const nft::Element& e : set.elements) present.insert(e.value);
    std::vector<nft::Element> added;
    for (nft::Element& member : live) {
      if (present.insert(member.value).second) added.push_back(std::move(member));
    }
    sort_members(&added);
    count += added.size();
    set.elements.insert(set.elements.end(), std::make_move_iterator(added.begin()),
                        std::make_move_iterator(added.end()));
  }
  if (carried) *carried = count;
  return out;
}

std::vector<route::Route> derived_routes(const route::Plan& plan, const nft::Table& table) {
  std::vector<route::Route> out;
  for (const route::DerivedRoutes& derived : plan.derived) {
    for (const nft::Set& set : table.sets) {
      if (set.name != derived.set) continue;
      for (const nft::Element& element : set.elements) {
        for (route::Route& route : route::member_routes({derived}, set.name, element.value)) {
          out.push_back(std::move(route));
        }
      }
    }
  }
  return out;
}

ApplyReport load(const nft::Table& compiled, const route::Plan& plan, Kernels kernels, bool dry_run,
                 bool replace) {
  // A dry run checks the whole table, as a first load would, and reports
  // every routing change (members' included).
  bool definitions_listed = false;
  if (!dry_run) {
    if (std::optional<ApplyReport> done =
            load_increment(compiled, plan, kernels, dry_run, &definitions_listed)) {
      return std::move(*done);
    }
  }
  ApplyReport report;
  TablesBefore before;
  std::string error;
  if (!read_tables_before(kernels.nft, compiled.family, compiled.name, &before, &error)) {
    report.diagnostics.error(compiled.location, error);
    return report;
  }
  if (before.target_exists && !before.target_managed) {
    report.diagnostics.error(compiled.location,
                             "table " + nft::table_spec(compiled.family, compiled.name) +
                                 " exists and is not managed by ztc (no comment \"" +
                                 nft::kOwnerComment + "\"); refusing to replace it");
    return report;
  }
  std::optional<nft::Table> merged =
      with_live_members(compiled, kernels, &report.members_carried, &error);
  if (!merged) {
    report.diagnostics.error(compiled.location, error);
    return report;
  }
  nft::Table table = std::move(*merged);
  // Counters of unchanged rules keep counting across the replace.
  if (before.target_managed) {
    report.counters_carried = nft::carry_counters(&table, nft::counters_in_listing(*before.target));
    report.trace_chains_dropped = trace::trace_chains(*before.target);
  }
  std::vector<route::Route> member_routes = derived_routes(plan, table);
  std::optional<SysctlValues> read = recorded_sysctls(kernels, &error);
  if (!read) {
    report.diagnostics.error(compiled.location, error);
    return report;
  }
  const SysctlValues& recorded = *read;
  const route::Plan effective =
      with_sysctl_restores(plan, recorded, kernels.routing, compiled.location);

  // 1. Routing checked against the kernel (devices exist, no collisions)
  //    before anything is written: bad input never reaches the kernel.
  route::ReconcileResult check = route::reconcile(kernels.routing, effective, member_routes, true);
  if (!check.ok) {
    report.diagnostics.append(check.diagnostics);
    report.routing = std::move(check);
    return report;
  }
  // What the kernel checks of a route's addresses only when it adds it,
  // asked now (one question per template: 100k member routes share one).
  std::set<std::string> asked;
  auto check_addresses = [&](const route::Route& route, const Location& where) {
    if (!asked.insert(route::describe(route)).second) return;
    if (route::KernelError refused = kernels.routing.check_route_addresses(route)) {
      report.diagnostics.error(
          where, "the kernel would refuse " + route::describe(route) + ": " + *refused);
    }
  };
  for (const route::Route& route : plan.routes) check_addresses(route, route.location);
  for (const route::DerivedRoutes& derived : plan.derived) {
    route::Route sample = derived.route;
    sample.destination = IpPrefix{};
    sample.destination.family = sample.family;
    check_addresses(sample, derived.location);
  }
  if (report.diagnostics.has_errors()) return report;
  if (!replace) {
    std::vector<std::string> lost = losses(compiled, before, kernels);
    if (!lost.empty()) {
      std::string text =
          "loading table " + nft::table_spec(compiled.family, compiled.name) + " would remove ";
      for (size_t i = 0; i < lost.size(); ++i) text += (i ? ", " : "") + lost[i];
      size_t routes = routes_deleted(check);
      if (routes) text += " and delete " + plural(routes, "ztc route", "ztc routes");
      report.diagnostics.error(compiled.location,
                               text + "; nothing was changed (--replace to do it)");
      return report;
    }
  }
  const SysctlValues record = next_record(plan, recorded, kernels.routing);

  // 2. The whole table in one transaction (a dry run asks the kernel too),
  //    with the removal of any other table ztc manages.
  nft::TextOutput text = nft::emit_text(table);
  report.nft_buffer = text.text;
  std::vector<Location> line_origin = text.line_origin;
  for (const LiveTable& other : before.others) {
    report.nft_buffer += "delete table " + other.ref() + "\n";
    report.tables_removed.push_back(other.ref());
  }
  line_origin.resize(
      static_cast<size_t>(std::count(report.nft_buffer.begin(), report.nft_buffer.end(), '\n')) + 1,
      compiled.location);
  // Where re-loads are incremental, they trust the member routes to be
  // complete: the mark says otherwise until this load has written them.
  const bool mark_pending = definitions_listed && !dry_run && !plan.derived.empty();
  const std::string pending_chain =
      "chain " + nft::table_spec(compiled.family, compiled.name) + " " + kMemberRoutesPending;
  std::string buffer = report.nft_buffer;
  if (mark_pending) buffer += "add " + pending_chain + "\n";
  // From the first write on, signals wait (held_signals.h). The sysctl
  // record comes first: a load killed after it changed a sysctl still knows
  // the value to put back.
  const bool record_changes = !dry_run && kernels.sysctl_state && record != recorded;
  if (!dry_run) kernels.hold_signals();
  if (record_changes && !kernels.sysctl_state->write(record, &error)) {
    report.diagnostics.error(compiled.location, error);
    return report;
  }
  auto restore_record = [&] {
    if (record_changes && !kernels.sysctl_state->write(recorded, &error)) {
      report.diagnostics.warning(compiled.location, error);
    }
  };
  nft::ApplyResult nft_result = kernels.nft.run(buffer, dry_run);
  if (!nft_result.success) {
    restore_record();
    report.diagnostics.append(nft::map_nft_errors(nft_result.error, buffer, line_origin));
    if (!report.diagnostics.has_errors()) {
      report.diagnostics.error(compiled.location, "nft: " + nft_result.error);
    }
    return report;
  }
  if (dry_run) {
    report.routing = std::move(check);
    report.ok = true;
    return report;
  }
  report.nft_committed = true;

  // 3. Routing. The reconciler undoes its own writes on failure; the nft
  //    tables are then put back as they were. The check's diff (one line per
  //    member route) is freed first: two of them at once are the peak memory
  //    of a load at 100k pods.
  check = route::ReconcileResult{};
  report.routing = route::reconcile(kernels.routing, effective, member_routes, false);
  if (!report.routing.ok) {
    if (report.routing.applied.empty()) restore_record();
    report.diagnostics.append(report.routing.diagnostics);
    Location where = first_error_location(report.routing.diagnostics, compiled.location);
    std::vector<Saved> saved{{compiled.family, compiled.name, before.target}};
    for (const LiveTable& other : before.others) {
      saved.push_back({other.family, other.name, other.listing});
    }
    nft::ApplyResult restored = restore_tables(kernels.nft, saved);
    bool routing_undone = report.routing.applied.empty();
    if (restored.success) {
      std::string what =
          before.target ? "the previous nft table was restored" : "the new nft table was removed";
      if (!before.others.empty()) what += " (and the other ztc tables put back)";
      report.diagnostics.note(where, what + (routing_undone ? "; nothing changed" : ""));
    } else {
      report.diagnostics.error(where,
                               "could not restore the previous nft table: " + restored.error);
    }
    report.node_unchanged = restored.success && routing_undone;
    report.nft_committed = false;
    report.tables_removed.clear();
    return report;
  }
  if (mark_pending) {
    nft::ApplyResult cleared = kernels.nft.run("delete " + pending_chain + "\n", false);
    if (!cleared.success) {
      report.diagnostics.warning(compiled.location,
                                 "could not clear the member routes mark (the next load writes "
                                 "every member route again): " +
                                     cleared.error);
    }
  }
  report.ok = true;
  return report;
}

ApplyReport unload(nft::Family family, const std::string& name, Kernels kernels, bool dry_run) {
  ApplyReport report;
  TablesBefore before;
  std::string error;
  if (!read_tables_before(kernels.nft, family, name, &before, &error)) {
    report.diagnostics.error(Location{}, error);
    return report;
  }
  std::vector<Saved> saved;
  if (before.target_managed) saved.push_back({family, name, before.target});
  if (before.target_exists && !before.target_managed) {
    report.diagnostics.warning(Location{}, "table " + nft::table_spec(family, name) +
                                               " is not managed by ztc; left in place");
  }
  for (const LiveTable& other : before.others)
    saved.push_back({other.family, other.name, other.listing});
  for (const Saved& table : saved) {
    report.nft_buffer += "delete table " + nft::table_spec(table.family, table.name) + "\n";
    report.tables_removed.push_back(nft::table_spec(table.family, table.name));
  }
  if (!dry_run) kernels.hold_signals();
  if (!report.nft_buffer.empty()) {
    nft::ApplyResult result = kernels.nft.run(report.nft_buffer, dry_run);
    if (!result.success) {
      report.diagnostics.error(Location{}, "nft: " + result.error);
      report.tables_removed.clear();
      return report;
    }
    report.nft_committed = !dry_run;
  }
  report.routing = route::remove_all(kernels.routing, dry_run);
  SysctlValues recorded;
  std::vector<route::Change> restores;  // sysctls put back, in order
  if (report.routing.ok && kernels.sysctl_state) {
    if (std::optional<SysctlValues> values = kernels.sysctl_state->read(&error)) {
      recorded = std::move(*values);
    } else {
      report.routing.ok = false;
      report.diagnostics.error(Location{}, error);
    }
    for (const auto& [key, value] : recorded) {
      std::string current;
      if (!report.routing.ok || !device_present(kernels.routing, key)) continue;
      if (route::KernelError failed = kernels.routing.read_sysctl(key, &current)) {
        report.diagnostics.error(Location{}, "cannot read sysctl " + key + ": " + *failed);
        report.routing.ok = false;
        continue;
      }
      if (sysctl_values_equal(current, value)) continue;
      route::Change change;
      change.kind = route::Change::Kind::write_sysctl;
      change.subject = route::SysctlWrite{key, current, value};
      if (!dry_run) {
        if (route::KernelError failed = kernels.routing.write_sysctl(key, value)) {
          report.diagnostics.error(
              Location{}, "cannot put back sysctl " + key + " to " + value + ": " + *failed);
          report.routing.ok = false;
          continue;
        }
      }
      report.sysctls_restored.push_back(
          {'~', "sysctl " + key + " " + current + " -> " + value, Location{}});
      restores.push_back(std::move(change));
    }
    if (!report.routing.ok) {
      // Undo the restores, then the routing removals; the tables follow below.
      Diagnostics undone = route::undo(kernels.routing, restores);
      undone.append(route::undo(kernels.routing, report.routing.applied));
      if (undone.has_errors()) report.node_unchanged = false;
      report.diagnostics.append(undone);
      report.routing.applied.clear();
      report.sysctls_restored.clear();
    } else if (!dry_run && !kernels.sysctl_state->write({}, &error)) {
      report.diagnostics.warning(Location{}, error);
    }
  }
  if (!report.routing.ok) {
    report.diagnostics.append(report.routing.diagnostics);
    bool routing_undone = report.routing.applied.empty();
    report.node_unchanged = report.node_unchanged && routing_undone;
    if (report.nft_committed) {
      nft::ApplyResult restored = restore_tables(kernels.nft, saved);
      if (!restored.success) {
        report.diagnostics.error(Location{}, "could not restore the nft tables: " + restored.error);
        report.node_unchanged = false;
      }
      report.nft_committed = false;
    }
    report.tables_removed.clear();
    return report;
  }
  if (!dry_run && kernels.definitions_memo && !kernels.definitions_memo->remove(&error)) {
    report.diagnostics.warning(Location{}, error);
  }
  report.ok = true;
  return report;
}

}  // namespace ztc
