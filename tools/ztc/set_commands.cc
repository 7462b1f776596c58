// ztc set add / del / list / sync.
#include "tools/ztc/set_commands.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <ostream>
#include <sstream>

#include "backend/apply_lock.h"
#include "backend/member_state.h"
#include "backend/nft_set_reader.h"
#include "model/ip_address.h"
#include "tools/ztc/node_access.h"
#include "tools/ztc/policy_input.h"
#include "tools/ztc/wording.h"

namespace ztc {
namespace {

constexpr size_t kMaxMemberFileBytes = size_t{256} << 20;

// Every address of the current network namespace, canonical -> device.
bool read_node_addresses(std::map<std::string, std::string>* addresses, std::string* error) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    *error = std::string("cannot read the node's addresses: ") + std::strerror(errno);
    return false;
  }
  for (const ifaddrs* entry = list; entry; entry = entry->ifa_next) {
    const sockaddr* address = entry->ifa_addr;
    if (!address || (address->sa_family != AF_INET && address->sa_family != AF_INET6)) continue;
    char text[INET6_ADDRSTRLEN] = {};
    const void* bytes =
        address->sa_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(address)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr);
    if (!inet_ntop(address->sa_family, bytes, text, sizeof text)) continue;
    std::optional<IpPrefix> parsed = parse_ip_prefix(text);
    if (parsed) addresses->emplace(parsed->address_str(), entry->ifa_name);
  }
  freeifaddrs(list);
  return true;
}

// Diagnostics with no policy or file position are the command's own: they
// read `ztc: error: ...` like the CLI's other messages.
void print_diagnostics(const Diagnostics& diagnostics, std::ostream& err) {
  for (const Diagnostic& d : diagnostics.all()) {
    if (!d.location.file) err << "ztc: ";
    err << render(d);
  }
}

// What every `set` command does first: compile, find the set, open the node,
// lock the table, open the set reader.
struct Prepared {
  CompiledPolicy compiled;
  SetTarget target;
  NodeAccess node;
  std::unique_ptr<ApplyLock> lock;
  std::unique_ptr<nft::NetlinkSetReader> reader;
};

std::unique_ptr<Prepared> prepare(const SetOptions& options, const std::string& command,
                                  const std::vector<MemberInput>* members, std::ostream& err) {
  auto prepared = std::make_unique<Prepared>();
  Diagnostics diagnostics;
  auto compiled = compile_from_options(options.policy, diagnostics);
  if (!compiled) {
    print_diagnostics(diagnostics, err);
    return nullptr;
  }
  prepared->compiled = std::move(*compiled);
  auto target = find_managed_set(prepared->compiled.table, prepared->compiled.routing, options.set,
                                 diagnostics);
  // Elements that are not of the set's type are reported before anything
  // else is opened or locked; whether they can be pods is checked with the
  // node's addresses (add_members, sync_members), so all of it is said at once.
  if (target && members) check_members(*target, *members, diagnostics, MemberUse::remove);
  print_diagnostics(diagnostics, err);
  if (!target || diagnostics.has_errors()) return nullptr;
  prepared->target = std::move(*target);

  std::string error;
  auto node = open_node(options.node, command, &error);
  if (!node) {
    err << "ztc: error: " << error << "\n";
    return nullptr;
  }
  prepared->node = std::move(*node);
  // Inside the namespace now: its addresses are the node's.
  if (!read_node_addresses(&prepared->target.node_addresses, &error)) {
    err << "ztc: error: " << error << "\n";
    return nullptr;
  }
  const nft::Table& table = prepared->compiled.table;
  prepared->lock = std::make_unique<ApplyLock>(
      table.family, table.name, options.node.lock_timeout_ms, options.node.netns,
      [&err](const std::string& line) { err << line << std::endl; });
  if (!prepared->lock->ok()) {
    err << "ztc: error: " << prepared->lock->error() << "\n";
    return nullptr;
  }
  prepared->reader = nft::NetlinkSetReader::open(&error);
  if (!prepared->reader) {
    err << "ztc: error: " << error << "\n";
    return nullptr;
  }
  return prepared;
}

}  // namespace

std::string summary_line(const std::string& set, const EnrollResult& result,
                         const UnchangedWording& unchanged) {
  size_t routes_added = 0, routes_removed = 0;
  for (const route::DiffLine& line : result.routes)
    (line.sign == '+' ? routes_added : routes_removed)++;
  std::vector<std::string> parts;
  if (!result.added.empty()) parts.push_back(std::to_string(result.added.size()) + " added");
  if (!result.removed.empty()) parts.push_back(std::to_string(result.removed.size()) + " removed");
  if (!result.recommented.empty()) {
    parts.push_back(plural(result.recommented.size(), "comment", "comments") + " changed");
  }
  if (result.unchanged > 0) {
    parts.push_back(plural(result.unchanged, unchanged.one, unchanged.many));
  }
  if (parts.empty()) parts.push_back("nothing to change");
  std::string line = "set " + set + ": ";
  for (size_t i = 0; i < parts.size(); ++i) line += (i ? ", " : "") + parts[i];
  if (routes_added || routes_removed) {
    line += "; routes: ";
    if (routes_added) line += std::to_string(routes_added) + " added";
    if (routes_added && routes_removed) line += ", ";
    if (routes_removed) line += std::to_string(routes_removed) + " removed";
  }
  return line + "\n";
}

namespace {

void print_result(const std::string& set, const EnrollResult& result,
                  const UnchangedWording& unchanged, bool verbose, std::ostream& out) {
  out << summary_line(set, result, unchanged);
  if (!verbose) return;
  for (const nft::Element& e : result.added) out << "+ " << member_line(e) << "\n";
  for (const nft::Element& e : result.recommented) out << "~ " << member_line(e) << "\n";
  for (const nft::Element& e : result.removed) out << "- " << member_line(e) << "\n";
  for (const route::DiffLine& line : result.routes) out << line.sign << " " << line.text << "\n";
}

using Operation = std::function<EnrollResult(const SetTarget&, const std::vector<MemberInput>&,
                                             Kernels, nft::SetReader&)>;

int change_members(const SetOptions& options, const std::string& command,
                   const std::vector<MemberInput>& members, Operation operation,
                   const UnchangedWording& unchanged, std::ostream& out, std::ostream& err) {
  auto prepared = prepare(options, command, &members, err);
  if (!prepared) return kExitFailure;
  HeldSignals held;  // from the first write until the set and its routes agree
  Kernels kernels{*prepared->node.nft, *prepared->node.routing, nullptr, &held};
  EnrollResult result = operation(prepared->target, members, kernels, *prepared->reader);
  NodeState state = node_state(result.ok, result.node_unchanged);
  print_diagnostics(result.diagnostics, err);
  if (!result.ok) return exit_after_held_signals(held, command, state, kExitFailure, err);
  print_result(options.set, result, unchanged, options.verbose, out);
  keep_member_state(member_state_dir(!options.node.netns.empty()), prepared->target,
                    *prepared->reader, result.changed(), err);
  out.flush();
  return exit_after_held_signals(held, command, state, kExitOk, err);
}

bool read_member_file(const std::string& path, std::string* text, std::string* error) {
  std::istream* in = &std::cin;
  std::ifstream file;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) {
      *error = "cannot read " + path;
      return false;
    }
    in = &file;
  }
  char buffer[1 << 16];
  while (in->read(buffer, sizeof buffer) || in->gcount() > 0) {
    text->append(buffer, static_cast<size_t>(in->gcount()));
    if (text->size() > kMaxMemberFileBytes) {
      *error = (path == "-" ? std::string("<stdin>") : path) + ": too large (the limit is " +
               std::to_string(kMaxMemberFileBytes >> 20) + " MiB)";
      return false;
    }
  }
  if (in->bad()) {
    *error = "cannot read " + path;
    return false;
  }
  return true;
}

}  // namespace

bool parse_element_words(const std::vector<std::string>& words, std::vector<MemberInput>* members,
                         std::string* error) {
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i] != "comment") {
      members->push_back({words[i], std::nullopt, Location{}});
      continue;
    }
    if (members->empty() || members->back().comment) {
      *error = "`comment` must follow an element: ELEMENT comment TEXT";
      return false;
    }
    if (i + 1 >= words.size()) {
      *error =
          "`comment` after '" + members->back().value + "' needs its text: ELEMENT comment TEXT";
      return false;
    }
    members->back().comment = words[++i];
  }
  return true;
}

int run_set_add(const SetOptions& options, std::ostream& out, std::ostream& err) {
  std::vector<MemberInput> members;
  std::string error;
  if (!parse_element_words(options.elements, &members, &error)) {
    err << "ztc: error: " << error << "\n";
    return kExitUsage;
  }
  return change_members(options, "set add", members, add_members, kAlreadyMembers, out, err);
}

int run_set_del(const SetOptions& options, std::ostream& out, std::ostream& err) {
  std::vector<MemberInput> members;
  std::string error;
  if (!parse_element_words(options.elements, &members, &error)) {
    err << "ztc: error: " << error << "\n";
    return kExitUsage;
  }
  return change_members(options, "set del", members, remove_members, kNotMembers, out, err);
}

int run_set_sync(const SetOptions& options, std::ostream& out, std::ostream& err) {
  if (options.from == "-" && options.policy.file == "-") {
    err << "ztc: error: the policy and --from cannot both be read from stdin\n";
    return kExitUsage;
  }
  std::string text, error;
  if (!read_member_file(options.from, &text, &error)) {
    err << "ztc: error: " << error << "\n";
    return kExitFailure;
  }
  auto file =
      std::make_shared<SourceFile>(options.from == "-" ? "<stdin>" : options.from, std::move(text));
  Diagnostics diagnostics;
  std::vector<MemberInput> members = parse_member_lines(file, diagnostics);
  if (diagnostics.has_errors()) {
    print_diagnostics(diagnostics, err);
    return kExitFailure;
  }
  SyncOptions sync;
  sync.allow_empty = options.allow_empty;
  auto operation = [sync](const SetTarget& target, const std::vector<MemberInput>& wanted,
                          Kernels kernels, nft::SetReader& reader) {
    return sync_members(target, wanted, kernels, reader, sync);
  };
  return change_members(options, "set sync", members, operation, kUnchanged, out, err);
}

int run_set_list(const SetOptions& options, std::ostream& out, std::ostream& err) {
  auto prepared = prepare(options, "set list", nullptr, err);
  if (!prepared) return kExitFailure;
  Diagnostics diagnostics;
  auto members = list_members(prepared->target, *prepared->reader, diagnostics);
  print_diagnostics(diagnostics, err);
  if (!members) return kExitFailure;
  std::string text;
  for (const nft::Element& member : *members) text += member_line(member) + "\n";
  out << text;
  return kExitOk;
}

}  // namespace ztc
