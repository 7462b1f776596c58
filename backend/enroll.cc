#include "backend/enroll.h"

#include <algorithm>
#include <map>
#include <memory>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "backend/nft_text.h"
#include "model/enroll_fingerprint.h"
#include "model/ip_address.h"
#include "model/values.h"

namespace ztc {
namespace {

std::optional<ValueType> element_type(const std::string& nft_type) {
  if (nft_type == "ipv4_addr") return ValueType::ipv4;
  if (nft_type == "ipv6_addr") return ValueType::ipv6;
  if (nft_type == "ifname") return ValueType::ifname;
  if (nft_type == "inet_service") return ValueType::port;
  return std::nullopt;
}

// Why an address cannot be a pod's, or nullopt: a class no pod address is
// in, or an address of the node itself.
std::optional<std::string> not_a_pod(const SetTarget& target, const std::string& canonical) {
  std::optional<IpPrefix> address = parse_ip_prefix(canonical);
  if (!address) return std::nullopt;  // not an address set
  if (std::optional<std::string> what = non_pod_address_class(*address)) return what;
  auto own = target.node_addresses.find(canonical);
  if (own != target.node_addresses.end()) {
    return "an address of this node (on " + own->second + ")";
  }
  return std::nullopt;
}

enum class Access { read, write };

// The kernel's set is the policy's: the table is loaded, is ztc's, holds the
// set, with the same key type; and, to change it, was loaded with the same
// member routes.
bool check_kernel_set(const SetTarget& target, nft::SetReader& reader, Diagnostics& diagnostics,
                      Access access) {
  const nft::Table& table = *target.table;
  const nft::Set& set = *target.set;
  nft::SetDescription kernel;
  if (nft::ReadError error = reader.describe(table.family, table.name, set.name, &kernel)) {
    diagnostics.error(Location{}, "cannot read set '" + set.name + "' of table " +
                                      nft::table_spec(table.family, table.name) + ": " + *error);
    return false;
  }
  if (!kernel.table_exists) {
    diagnostics.error(Location{}, "table " + nft::table_spec(table.family, table.name) +
                                      " is not loaded: run `ztc load` with this policy first");
    return false;
  }
  if (kernel.table_comment != nft::kOwnerComment) {
    diagnostics.error(Location{}, "table " + nft::table_spec(table.family, table.name) +
                                      " was not loaded by ztc (it lacks the comment \"" +
                                      nft::kOwnerComment + "\"); not changing it");
    return false;
  }
  if (!kernel.set_exists) {
    diagnostics.error(set.location, "set '" + set.name + "' is not in the loaded table " +
                                        nft::table_spec(table.family, table.name) +
                                        ": the policy changed since it was loaded; run `ztc load`");
    return false;
  }
  if (kernel.type != set.type) {
    diagnostics.error(set.location, "set '" + set.name + "' holds " + kernel.type +
                                        " in the kernel but the policy says " + set.type +
                                        ": run `ztc load` with this policy first");
    return false;
  }
  if (access == Access::read) return true;
  std::optional<std::string> mismatch = member_routes_mismatch(
      set.name, nft::table_spec(table.family, table.name), kernel.set_comment, set.comment);
  if (mismatch) {
    Location where = target.derived.empty() ? set.location : target.derived.front().location;
    diagnostics.error(where, *mismatch);
    diagnostics.note(Location{},
                     "give `ztc set` the policy file and -D values that were loaded, or `ztc "
                     "load` this policy first; nothing was changed");
    return false;
  }
  return true;
}

// The member (or nullopt) for each value: one lookup each for a few values,
// one listing for many.
bool current_members(const SetTarget& target, const std::vector<std::string>& values,
                     nft::SetReader& reader, std::vector<std::optional<nft::Element>>* found,
                     Diagnostics& diagnostics) {
  const nft::Table& table = *target.table;
  const std::string& set = target.set->name;
  nft::ReadError error;
  if (values.size() <= kLookupLimit) {
    error = reader.find(table.family, table.name, set, values, found);
  } else {
    std::vector<nft::Element> members;
    error = reader.list(table.family, table.name, set, &members);
    std::unordered_map<std::string, nft::Element> by_value;
    by_value.reserve(members.size());
    for (nft::Element& member : members) {
      std::string value = member.value;
      by_value.emplace(std::move(value), std::move(member));
    }
    found->assign(values.size(), std::nullopt);
    for (size_t i = 0; i < values.size(); ++i) {
      auto at = by_value.find(values[i]);
      if (at != by_value.end()) (*found)[i] = at->second;
    }
  }
  if (error) {
    diagnostics.error(Location{}, "cannot read set '" + set + "': " + *error);
    return false;
  }
  return true;
}

std::vector<route::Route> routes_for(const SetTarget& target, const std::string& value) {
  return route::member_routes(target.derived, target.set->name, value);
}

route::Change route_change(route::Change::Kind kind, const route::Route& route) {
  route::Change change;
  change.kind = kind;
  change.subject = route;
  change.location = route.location;
  return change;
}

// The element transaction and the route changes that go with it.
struct Work {
  std::vector<nft::Element> remove;  // `delete element`: removals, old versions of recommented
  std::vector<nft::Element> add;     // `add element`: additions, new versions of recommented
  std::vector<route::Change> routes;
};

// Runs route changes through the reconciler's executor, tolerant: "File
// exists" for a route ztc already has is success (or, when ztc's route there
// differs, a replace); "No such process" on delete means it is already gone.
// On any other failure, undoes what was done and returns false.
bool run_routes(route::RoutingKernel& kernel, const std::vector<route::Change>& changes,
                route::ListedRoutes& index, EnrollResult* result) {
  route::ReconcileResult run;
  route::execute(kernel, changes, &run, {&index, /*note_rollback=*/false});
  result->routing_writes += run.kernel_writes;
  result->diagnostics.append(run.diagnostics);
  if (!run.ok) {
    if (!run.applied.empty()) {
      result->node_unchanged = false;
      // At the failed change, as its error.
      const Location where =
          run.diagnostics.all().empty() ? Location{} : run.diagnostics.all().front().location;
      result->diagnostics.note(where, "some route changes could not be rolled back");
    }
    return false;
  }
  for (const route::Change& done : run.applied) route::append_diff_lines(done, &result->routes);
  return true;
}

// The element transaction, then the routes; on a route failure the routes are
// rolled back and the transaction reverted.
void commit(const SetTarget& target, Work work, Kernels kernels, EnrollResult* result) {
  const nft::Table& table = *target.table;
  const nft::Set& set = *target.set;
  std::string buffer = nft::emit_set_elements_command(table, set, work.remove, false) +
                       nft::emit_set_elements_command(table, set, work.add, true);
  kernels.hold_signals();  // until the set and its routes are consistent
  if (!buffer.empty()) {
    ++result->nft_transactions;
    nft::ApplyResult applied = kernels.nft.run(buffer, /*dry_run=*/false);
    if (!applied.success) {
      std::string reason = applied.error;
      while (!reason.empty() && reason.back() == '\n') reason.pop_back();
      result->diagnostics.error(Location{}, "nft: " + reason);
      result->diagnostics.note(Location{}, "the set was left as it was");
      return;
    }
    result->nft_buffer = buffer;
  }
  route::ListedRoutes index(kernels.routing);
  if (!run_routes(kernels.routing, work.routes, index, result)) {
    result->routes.clear();
    if (buffer.empty()) return;
    std::string revert = nft::emit_set_elements_command(table, set, work.add, false) +
                         nft::emit_set_elements_command(table, set, work.remove, true);
    ++result->nft_transactions;
    nft::ApplyResult reverted = kernels.nft.run(revert, /*dry_run=*/false);
    if (reverted.success) {
      result->diagnostics.note(Location{}, "the set and its routes were left as they were");
    } else {
      result->node_unchanged = false;
      result->diagnostics.error(Location{}, "could not revert the set: nft: " + reverted.error);
    }
    result->nft_buffer.clear();
    return;
  }
  result->ok = true;
}

// Sort order for listings: addresses numerically, ports as numbers, names as text.
bool member_less(const nft::Element& a, const nft::Element& b) {
  std::optional<IpPrefix> pa = parse_ip_prefix(a.value), pb = parse_ip_prefix(b.value);
  if (pa && pb) return *pa < *pb;
  auto digits = [](const std::string& text) {
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  bool na = digits(a.value), nb = digits(b.value);
  if (na && nb && a.value.size() != b.value.size()) return a.value.size() < b.value.size();
  return a.value < b.value;
}

// What the command was asked, checked: the set's elements, or nullopt.
std::optional<std::vector<nft::Element>> checked(const SetTarget& target,
                                                 const std::vector<MemberInput>& input,
                                                 MemberUse use, EnrollResult* result) {
  std::vector<nft::Element> elements = check_members(target, input, result->diagnostics, use);
  if (result->diagnostics.has_errors()) {
    result->diagnostics.note(Location{}, "nothing was changed");
    return std::nullopt;
  }
  return elements;
}

std::vector<std::string> values_of(const std::vector<nft::Element>& elements) {
  std::vector<std::string> values;
  values.reserve(elements.size());
  for (const nft::Element& e : elements) values.push_back(e.value);
  return values;
}

}  // namespace

std::optional<SetTarget> find_managed_set(const nft::Table& table, const route::Plan& plan,
                                          const std::string& name, Diagnostics& diagnostics) {
  const nft::Set* found = nullptr;
  std::string managed;
  for (const nft::Set& set : table.sets) {
    if (set.name == name) found = &set;
    if (set.managed) managed += (managed.empty() ? "" : ", ") + set.name;
  }
  if (!found) {
    diagnostics.error(Location{}, "the policy has no set '" + name + "' (managed sets: " +
                                      (managed.empty() ? "none" : managed) + ")");
    return std::nullopt;
  }
  if (!found->managed) {
    diagnostics.error(found->location, "set '" + name +
                                           "' is not managed: only sets declared `managed` "
                                           "change at run time (managed sets: " +
                                           (managed.empty() ? "none" : managed) + ")");
    return std::nullopt;
  }
  if (!element_type(found->type)) {
    diagnostics.error(found->location, "set '" + name + "' holds " + found->type +
                                           ", which `ztc set` cannot change");
    return std::nullopt;
  }
  SetTarget target;
  target.table = &table;
  target.set = found;
  for (const route::DerivedRoutes& derived : plan.derived) {
    if (derived.set == name) target.derived.push_back(derived);
  }
  return target;
}

std::vector<nft::Element> check_members(const SetTarget& target,
                                        const std::vector<MemberInput>& input,
                                        Diagnostics& diagnostics, MemberUse use) {
  const nft::Set& set = *target.set;
  std::optional<ValueType> type = element_type(set.type);
  std::vector<nft::Element> out;
  if (!type) {
    diagnostics.error(set.location, "set '" + set.name + "' holds " + set.type +
                                        ", which `ztc set` cannot change");
    return out;
  }
  out.reserve(input.size());
  std::unordered_map<std::string, size_t> seen;
  seen.reserve(input.size());
  for (const MemberInput& member : input) {
    std::string error;
    std::optional<std::string> canonical = canonical_value(*type, member.value, &error);
    if (!canonical) {
      diagnostics.error(member.location, "element '" + member.value + "' of set '" + set.name +
                                             "' (" + type_name(*type) + "): " + error);
      continue;
    }
    if (use == MemberUse::enrol && !set.any_address) {
      if (std::optional<std::string> why = not_a_pod(target, *canonical)) {
        diagnostics.error(member.location, "element '" + *canonical + "' of set '" + set.name +
                                               "': " + *why +
                                               " cannot be a pod (a set declared `managed "
                                               "any_address` may hold it)");
        continue;
      }
    }
    if (*type == ValueType::ifname) *canonical = nft::quoted_string(*canonical);
    std::string comment = member.comment.value_or("");
    if (!valid_comment(comment)) {
      diagnostics.error(member.location, "comment of element '" + member.value +
                                             "' must be at most 128 printable characters "
                                             "without '\"'");
      continue;
    }
    auto [at, inserted] = seen.emplace(*canonical, out.size());
    if (inserted) {
      out.push_back(nft::Element{*canonical, comment});
      continue;
    }
    nft::Element& first = out[at->second];
    if (first.comment.empty()) {
      first.comment = comment;
    } else if (!comment.empty() && comment != first.comment) {
      diagnostics.error(member.location, "element '" + *canonical +
                                             "' is given twice, with "
                                             "comments \"" +
                                             first.comment + "\" and \"" + comment + "\"");
    }
  }
  return out;
}

EnrollResult add_members(const SetTarget& target, const std::vector<MemberInput>& members,
                         Kernels kernels, nft::SetReader& reader) {
  EnrollResult result;
  std::optional<std::vector<nft::Element>> wanted =
      checked(target, members, MemberUse::enrol, &result);
  if (!wanted) return result;
  if (!check_kernel_set(target, reader, result.diagnostics, Access::write)) return result;
  std::vector<std::optional<nft::Element>> present;
  if (!current_members(target, values_of(*wanted), reader, &present, result.diagnostics)) {
    return result;
  }
  Work work;
  for (size_t i = 0; i < wanted->size(); ++i) {
    const nft::Element& element = (*wanted)[i];
    if (!present[i]) {
      work.add.push_back(element);
      result.added.push_back(element);
      for (const route::Route& r : routes_for(target, element.value)) {
        work.routes.push_back(route_change(route::Change::Kind::add_route, r));
      }
    } else if (!element.comment.empty() && element.comment != present[i]->comment) {
      // nft keeps the old comment on `add`: delete and add in one transaction.
      work.remove.push_back(*present[i]);
      work.add.push_back(element);
      result.recommented.push_back(element);
    } else {
      ++result.unchanged;
    }
  }
  if (!result.changed()) {
    result.ok = true;
    return result;
  }
  commit(target, std::move(work), kernels, &result);
  if (!result.ok) {
    result.added.clear();
    result.recommented.clear();
  }
  return result;
}

EnrollResult remove_members(const SetTarget& target, const std::vector<MemberInput>& members,
                            Kernels kernels, nft::SetReader& reader) {
  EnrollResult result;
  std::optional<std::vector<nft::Element>> wanted =
      checked(target, members, MemberUse::remove, &result);
  if (!wanted) return result;
  if (!check_kernel_set(target, reader, result.diagnostics, Access::write)) return result;
  std::vector<std::optional<nft::Element>> present;
  if (!current_members(target, values_of(*wanted), reader, &present, result.diagnostics)) {
    return result;
  }
  Work work;
  for (size_t i = 0; i < wanted->size(); ++i) {
    if (!present[i]) {
      ++result.unchanged;
      continue;
    }
    work.remove.push_back(*present[i]);
    result.removed.push_back(*present[i]);
    for (const route::Route& r : routes_for(target, present[i]->value)) {
      work.routes.push_back(route_change(route::Change::Kind::delete_route, r));
    }
  }
  if (!result.changed()) {
    result.ok = true;
    return result;
  }
  commit(target, std::move(work), kernels, &result);
  if (!result.ok) result.removed.clear();  // nothing was removed in the end
  return result;
}

EnrollResult sync_members(const SetTarget& target, const std::vector<MemberInput>& members,
                          Kernels kernels, nft::SetReader& reader, SyncOptions options) {
  EnrollResult result;
  std::optional<std::vector<nft::Element>> wanted =
      checked(target, members, MemberUse::enrol, &result);
  if (!wanted) return result;
  if (!check_kernel_set(target, reader, result.diagnostics, Access::write)) return result;
  const nft::Table& table = *target.table;
  std::vector<nft::Element> current;
  if (nft::ReadError error = reader.list(table.family, table.name, target.set->name, &current)) {
    result.diagnostics.error(Location{}, "cannot list set '" + target.set->name + "': " + *error);
    return result;
  }
  if (wanted->empty() && !current.empty() && !options.allow_empty) {
    result.diagnostics.error(
        Location{},
        "the member list is empty: syncing set '" + target.set->name + "' to it would remove " +
            (current.size() == 1 ? std::string("its only member")
                                 : "all " + std::to_string(current.size()) + " members") +
            "; pass --allow-empty if that is meant");
    result.diagnostics.note(Location{}, "nothing was changed");
    return result;
  }
  std::unordered_map<std::string, const nft::Element*> now;
  now.reserve(current.size());
  for (const nft::Element& e : current) now.emplace(e.value, &e);
  std::unordered_map<std::string, bool> desired;
  desired.reserve(wanted->size());
  for (const nft::Element& e : *wanted) desired.emplace(e.value, true);

  Work work;
  std::vector<const nft::Element*> gone;
  for (const nft::Element& element : *wanted) {
    auto at = now.find(element.value);
    if (at == now.end()) {
      work.add.push_back(element);
      result.added.push_back(element);
    } else if (at->second->comment != element.comment) {
      work.remove.push_back(*at->second);
      work.add.push_back(element);
      result.recommented.push_back(element);
    } else {
      ++result.unchanged;
    }
  }
  for (const nft::Element& e : current) {
    if (!desired.count(e.value)) {
      work.remove.push_back(e);
      result.removed.push_back(e);
      gone.push_back(&e);
    }
  }

  // Routes: every desired member's, checked against the kernel (this repairs
  // routes that went missing); removed members' routes go.
  if (!target.derived.empty()) {
    route::ListedRoutes index(kernels.routing);
    route::KernelError error;
    auto listing_failed = [&] {
      result.diagnostics.error(Location{}, "cannot list routes: " + *error);
      return result;
    };
    std::vector<route::Change> deletes;
    for (const nft::Element& element : *wanted) {
      for (const route::Route& r : routes_for(target, element.value)) {
        const route::Route* existing = index.find(r, &error);
        if (error) return listing_failed();
        if (!existing) {
          work.routes.push_back(route_change(route::Change::Kind::add_route, r));
        } else if (!route::same_route(*existing, r)) {
          route::Change change = route_change(route::Change::Kind::replace_route, r);
          change.replaced = std::make_shared<const route::Route>(*existing);
          work.routes.push_back(std::move(change));
        }
      }
    }
    for (const nft::Element* element : gone) {
      for (const route::Route& r : routes_for(target, element->value)) {
        const route::Route* existing = index.find(r, &error);
        if (error) return listing_failed();
        if (existing && route::same_route(*existing, r)) {
          deletes.push_back(route_change(route::Change::Kind::delete_route, r));
        }
      }
    }
    for (route::Change& change : deletes) work.routes.push_back(std::move(change));
  }
  if (!result.changed() && work.routes.empty()) {
    result.ok = true;
    return result;
  }
  commit(target, std::move(work), kernels, &result);
  if (!result.ok) {
    result.added.clear();
    result.removed.clear();
    result.recommented.clear();
  }
  return result;
}

std::optional<std::vector<nft::Element>> list_members(const SetTarget& target,
                                                      nft::SetReader& reader,
                                                      Diagnostics& diagnostics) {
  if (!check_kernel_set(target, reader, diagnostics, Access::read)) return std::nullopt;
  std::vector<nft::Element> members;
  const nft::Table& table = *target.table;
  if (nft::ReadError error = reader.list(table.family, table.name, target.set->name, &members)) {
    diagnostics.error(Location{}, "cannot list set '" + target.set->name + "': " + *error);
    return std::nullopt;
  }
  std::sort(members.begin(), members.end(), member_less);
  return members;
}

std::string member_line(const nft::Element& element) {
  if (element.comment.empty()) return element.value;
  return element.value + " comment \"" + element.comment + "\"";
}

std::vector<MemberInput> parse_member_lines(const SourceFilePtr& file, Diagnostics& diagnostics) {
  std::vector<MemberInput> out;
  const std::string& text = file->text();
  int number = 0;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + begin, end - begin);
    begin = end + 1;
    ++number;
    // Words: a double-quoted string is one word (quotes removed); `#` outside
    // quotes ends the line.
    struct Word {
      std::string text;
      int column;
    };
    std::vector<Word> words;
    bool unterminated = false;
    for (size_t at = 0; at < line.size();) {
      char c = line[at];
      if (c == '#') break;
      if (c == ' ' || c == '\t' || c == '\r') {
        ++at;
        continue;
      }
      int column = static_cast<int>(at) + 1;
      if (c == '"') {
        size_t close = line.find('"', at + 1);
        if (close == std::string_view::npos) {
          unterminated = true;
          words.push_back({std::string(line.substr(at + 1)), column});
          break;
        }
        words.push_back({std::string(line.substr(at + 1, close - at - 1)), column});
        at = close + 1;
        continue;
      }
      size_t stop = line.find_first_of(" \t\r#\"", at);
      if (stop == std::string_view::npos) stop = line.size();
      words.push_back({std::string(line.substr(at, stop - at)), column});
      at = stop;
    }
    if (words.empty()) continue;
    Location where{file, number, words[0].column};
    if (unterminated) {
      diagnostics.error(Location{file, number, words.back().column}, "unterminated string");
      continue;
    }
    if (words.size() == 1) {
      out.push_back({words[0].text, std::nullopt, where});
    } else if (words.size() == 3 && words[1].text == "comment") {
      out.push_back({words[0].text, words[2].text, where});
    } else {
      diagnostics.error(Location{file, number, words[1].column},
                        "expected ELEMENT or ELEMENT comment \"TEXT\"");
    }
  }
  return out;
}

}  // namespace ztc
