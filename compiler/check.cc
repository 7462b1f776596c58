// Check stage, declarations: params (with -D overrides), the table, marks,
// interfaces, groups, addresses, sets, bypass ports, sysctls; and the typed
// resolution of values shared by the other check_*.cc files.
#include <algorithm>
#include <cstring>

#include "compiler/checker.h"
#include "compiler/overloaded.h"
#include "model/ip_address.h"
#include "model/values.h"

namespace ztc {
namespace {

const char* kind_name(ast::Value::Kind kind) {
  switch (kind) {
    case ast::Value::Kind::string: return "a string";
    case ast::Value::Kind::number: return "a number";
    case ast::Value::Kind::ipv4: return "an IPv4 address";
    case ast::Value::Kind::ipv6: return "an IPv6 address";
    case ast::Value::Kind::name: return "a name";
    case ast::Value::Kind::set_ref: return "a set";
    case ast::Value::Kind::default_route: return "'default'";
    case ast::Value::Kind::member: return "'member'";
  }
  return "a value";
}

}  // namespace

ir::Policy check(const ast::Policy& policy, const Overrides& overrides, Diagnostics& diagnostics) {
  return Checker(overrides, diagnostics).run(policy);
}

ir::Policy Checker::run(const ast::Policy& policy) {
  // Pass 1: parameters and the table, so that any declaration may use them.
  for (const ast::Statement& statement : policy.statements) {
    if (auto* p = std::get_if<ast::Param>(&statement)) declare_param(*p);
    if (auto* t = std::get_if<ast::TableDecl>(&statement)) declare_table(*t);
  }
  check_unused_overrides(policy.file);
  // Pass 2: named things, in order (a mark may use marks declared above it).
  for (const ast::Statement& statement : policy.statements) {
    std::visit(Overloaded{
                   [&](const ast::MarkDecl& s) { declare_mark(s); },
                   [&](const ast::IfaceDecl& s) { declare_iface(s); },
                   [&](const ast::GroupDecl& s) { declare_group(s); },
                   [&](const ast::AddrDecl& s) { declare_addr(s); },
                   [&](const ast::SetDecl& s) { declare_set(s); },
                   [&](const ast::BypassDecl& s) { declare_bypass(s); },
                   [&](const ast::RouteBlock& s) { declare_route_table(s); },
                   [&](const auto&) {},
               },
               statement);
  }
  // Pass 3: everything that uses names.
  for (const ast::Statement& statement : policy.statements) {
    std::visit(Overloaded{
                   [&](const ast::CaptureBlock& s) { check_capture(s); },
                   [&](const ast::RuleDecl& s) { check_rule_decl(s); },
                   [&](const ast::RouteBlock& s) { check_route_block(s); },
                   [&](const ast::SysctlBlock& s) { check_sysctl(s); },
                   [&](const auto&) {},
               },
               statement);
  }
  check_reachability();
  check_rule_targets();
  if (!have_table_) {
    diagnostics_.error(Location{policy.file},
                       "the policy declares no table: add e.g. `table ip ztunnel`");
  }
  return std::move(out_);
}

void Checker::declare(const std::string& name, SymbolKind kind, size_t index,
                      const Location& where) {
  auto [it, inserted] = symbols_.emplace(name, Symbol{kind, index, where});
  if (inserted) return;
  // Parameters are declared in a first pass: report at whichever declaration
  // comes second in the source.
  const Location& first = it->second.location;
  bool new_is_earlier =
      first.file == where.file &&
      (where.line < first.line || (where.line == first.line && where.column < first.column));
  if (!new_is_earlier) {
    diagnostics_.error(where, "'" + name + "' is already declared at " + first.str());
    return;
  }
  diagnostics_.error(first, "'" + name + "' is already declared at " + where.str());
  // Later duplicates are then reported against the first declaration.
  it->second = Symbol{kind, index, where};
}

const Checker::Symbol* Checker::lookup(const ast::Value& name, const char* wanted) {
  auto it = symbols_.find(name.text);
  if (it == symbols_.end()) {
    diagnostics_.error(name.location, std::string("undefined ") + wanted + " '" + name.text + "'");
    return nullptr;
  }
  if (it->second.kind == SymbolKind::poisoned) return nullptr;  // already reported
  return &it->second;
}

// --- parameters

void Checker::declare_param(const ast::Param& param) {
  // Mark the -D as used first: a parameter with a bad type still exists.
  for (const auto& [name, value] : overrides_) {
    if (name == param.name.text) used_overrides_.insert(name);
  }
  auto type = ir::parse_type_name(param.type.text);
  if (!type) {
    poison(param.name);
    diagnostics_.error(param.type.location,
                       "unknown type '" + param.type.text +
                           "': expected ifname, ipv4, ipv6, ipv4net, ipv6net, port or u32");
    return;
  }
  ir::Param out{param.name.text, *type, "", false, param.location};
  const std::string* given = nullptr;
  for (const auto& [name, value] : overrides_) {
    if (name == param.name.text) given = &value;  // the last -D wins
  }
  std::string error;
  if (given) {
    used_overrides_.insert(param.name.text);
    auto value = canonical_value(*type, *given, &error);
    if (!value) {
      diagnostics_.error(param.location, "-D " + param.name.text + "=" + *given + ": " + error +
                                             " (parameter is " + ir::type_name(*type) + ")");
      poison(param.name);
      return;
    }
    out.value = *value;
    out.from_command_line = true;
  } else if (param.default_value) {
    const ast::Value& v = *param.default_value;
    if (v.kind == ast::Value::Kind::name) {
      diagnostics_.error(v.location,
                         "a parameter's default must be a literal, not the name '" + v.text + "'");
      poison(param.name);
      return;
    }
    auto value = canonical_value(*type, v.text, &error);
    if (!value) {
      diagnostics_.error(v.location, "default of '" + param.name.text + "': " + error);
      poison(param.name);
      return;
    }
    out.value = *value;
  } else {
    diagnostics_.error(param.location, "parameter '" + param.name.text +
                                           "' has no default: pass -D " + param.name.text +
                                           "=VALUE");
    poison(param.name);
    return;
  }
  declare(param.name.text, SymbolKind::param, out_.params.size(), param.name.location);
  out_.params.push_back(std::move(out));
}

void Checker::check_unused_overrides(const SourceFilePtr& policy_file) {
  for (const auto& [name, value] : overrides_) {
    if (used_overrides_.count(name) == 0 && symbols_.count(name) == 0) {
      diagnostics_.error(Location{policy_file}, "-D " + name + "=" + value +
                                                    ": the policy has no parameter '" + name + "'");
    }
  }
}

void Checker::declare_table(const ast::TableDecl& table) {
  if (have_table_) {
    diagnostics_.error(table.location, "a policy owns one table; '" + out_.table +
                                           "' is declared at " + out_.table_location.str());
    return;
  }
  have_table_ = true;
  out_.family = table.family == "ip"    ? nft::Family::ip
                : table.family == "ip6" ? nft::Family::ip6
                                        : nft::Family::inet;
  out_.table = table.name.text;
  out_.table_location = table.location;
}

bool Checker::family_allows(IpFamily family) const {
  switch (out_.family) {
    case nft::Family::ip: return family == IpFamily::v4;
    case nft::Family::ip6: return family == IpFamily::v6;
    case nft::Family::inet: return true;
  }
  return true;
}

void Checker::require_family(IpFamily family, const Location& where) {
  if (!family_allows(family)) {
    diagnostics_.error(where, std::string(family == IpFamily::v4 ? "IPv4" : "IPv6") +
                                  " address in table family '" + nft::family_name(out_.family) +
                                  "'");
  }
}

// --- values

std::optional<uint32_t> Checker::resolve_number(const ast::Value& value, const char* what) {
  if (value.kind == ast::Value::Kind::number) {
    if (value.overflow) {
      diagnostics_.error(value.location, value.text.substr(0, 24) +
                                             (value.text.size() > 24 ? "..." : "") +
                                             " does not fit in 32 bits");
      return std::nullopt;
    }
    return static_cast<uint32_t>(value.number);
  }
  if (value.kind == ast::Value::Kind::name) {
    auto it = symbols_.find(value.text);
    if (it != symbols_.end() && it->second.kind == SymbolKind::poisoned) return std::nullopt;
    if (it != symbols_.end() && it->second.kind == SymbolKind::param) {
      const ir::Param& param = out_.params[it->second.index];
      if (param.type == ir::ValueType::u32 || param.type == ir::ValueType::port) {
        return static_cast<uint32_t>(std::stoul(param.value));
      }
    }
  }
  diagnostics_.error(value.location, std::string("expected ") + what + ", got " +
                                         kind_name(value.kind) + " '" + value.text + "'");
  return std::nullopt;
}

std::optional<std::string> Checker::resolve_ifname(const ast::Value& value) {
  if (value.kind == ast::Value::Kind::string) {
    if (!valid_ifname(value.text)) {
      diagnostics_.error(value.location,
                         "'" + value.text +
                             "' is not an interface name (1 to 15 characters; no '/', ':', '\"', "
                             "'#', '*', '\\' or spaces)");
      return std::nullopt;
    }
    return value.text;
  }
  if (value.kind != ast::Value::Kind::name) {
    diagnostics_.error(value.location, std::string("expected an interface, got ") +
                                           kind_name(value.kind) + " '" + value.text + "'");
    return std::nullopt;
  }
  const Symbol* symbol = lookup(value, "interface");
  if (!symbol) return std::nullopt;
  if (symbol->kind == SymbolKind::iface) return ifaces_[symbol->index].ifname;
  if (symbol->kind == SymbolKind::param &&
      out_.params[symbol->index].type == ir::ValueType::ifname) {
    return out_.params[symbol->index].value;
  }
  diagnostics_.error(value.location, "'" + value.text + "' is not an interface");
  return std::nullopt;
}

std::optional<IpPrefix> Checker::resolve_address(const ast::Value& value, bool allow_prefix) {
  std::optional<IpPrefix> prefix;
  switch (value.kind) {
    case ast::Value::Kind::ipv4:
    case ast::Value::Kind::ipv6:
      prefix = parse_ip_prefix(value.text);
      if (!prefix) {
        diagnostics_.error(value.location, "'" + value.text + "' is not a valid address");
        return std::nullopt;
      }
      break;
    case ast::Value::Kind::name: {
      const Symbol* symbol = lookup(value, "address");
      if (!symbol) return std::nullopt;
      if (symbol->kind == SymbolKind::addr) {
        prefix = addrs_[symbol->index].prefix;
      } else if (symbol->kind == SymbolKind::param) {
        const ir::Param& param = out_.params[symbol->index];
        if (param.type == ir::ValueType::ifname || param.type == ir::ValueType::port ||
            param.type == ir::ValueType::u32) {
          diagnostics_.error(value.location, "'" + value.text + "' is a parameter of type " +
                                                 ir::type_name(param.type) + ", not an address");
          return std::nullopt;
        }
        prefix = parse_ip_prefix(param.value);
      } else {
        diagnostics_.error(value.location, "'" + value.text + "' is not an address");
        return std::nullopt;
      }
      break;
    }
    default:
      diagnostics_.error(value.location, std::string("expected an address, got ") +
                                             kind_name(value.kind) + " '" + value.text + "'");
      return std::nullopt;
  }
  if (!prefix) return std::nullopt;
  if (!allow_prefix && !prefix->is_host()) {
    diagnostics_.error(value.location,
                       "'" + prefix->str() + "' is a prefix; an address is required here");
    return std::nullopt;
  }
  if (!prefix->is_network()) {
    diagnostics_.error(value.location,
                       "'" + value.text + "' has bits set beyond its prefix length");
    return std::nullopt;
  }
  return prefix;
}

std::optional<uint16_t> Checker::resolve_port(const ast::Value& value) {
  auto number = resolve_number(value, "a port");
  if (!number) return std::nullopt;
  if (*number == 0 || *number > 65535) {
    diagnostics_.error(value.location,
                       "port " + std::to_string(*number) + " is out of range (1 to 65535)");
    return std::nullopt;
  }
  return static_cast<uint16_t>(*number);
}

std::optional<std::vector<ir::PortRange>> Checker::resolve_ports(
    const std::vector<ast::PortRange>& ports) {
  std::vector<ir::PortRange> out;
  bool ok = true;
  for (const ast::PortRange& range : ports) {
    auto first = resolve_port(range.first);
    auto last = range.last ? resolve_port(*range.last) : first;
    if (!first || !last) {
      ok = false;
      continue;
    }
    if (*last < *first) {
      diagnostics_.error(range.first.location, "port range " + std::to_string(*first) + "-" +
                                                   std::to_string(*last) + " is empty");
      ok = false;
      continue;
    }
    out.emplace_back(*first, *last);
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<Checker::MarkBits> Checker::resolve_mark(const ast::MarkExpr& expr) {
  MarkBits bits;
  bool ok = true;
  for (const ast::Value& term : expr.terms) {
    if (term.kind == ast::Value::Kind::number) {
      auto number = resolve_number(term, "a mark");
      if (!number) {
        ok = false;
        continue;
      }
      bits.value |= *number;
      bits.mask |= *number;
      continue;
    }
    const Symbol* symbol = lookup(term, "mark");
    if (!symbol) {
      ok = false;
      continue;
    }
    if (symbol->kind != SymbolKind::mark) {
      diagnostics_.error(term.location, "'" + term.text + "' is not a mark");
      ok = false;
      continue;
    }
    const ir::Mark& mark = out_.marks[symbol->index];
    bits.value |= mark.value;
    bits.mask |= mark.mask;
  }
  if (!ok) return std::nullopt;
  return bits;
}

// --- declarations

void Checker::declare_mark(const ast::MarkDecl& mark) {
  auto bits = resolve_mark(mark.value);
  if (!bits) {
    poison(mark.name);
    return;
  }
  ir::Mark out{mark.name.text, bits->value, bits->mask, mark.location};
  if (mark.mask) {
    auto mask = resolve_mark(*mark.mask);
    if (!mask) {
      poison(mark.name);
      return;
    }
    out.mask = mask->value;
    if ((out.value & ~out.mask) != 0) {
      diagnostics_.error(mark.mask->location, "mark '" + out.name + "' value " + hex(out.value) +
                                                  " has bits outside its mask " + hex(out.mask));
      poison(mark.name);
      return;
    }
  }
  if (out.mask == 0) {
    diagnostics_.error(mark.value.location,
                       "mark '" + out.name + "' is zero: it can never be tested or set");
    poison(mark.name);
    return;
  }
  for (const ir::Mark& other : out_.marks) {
    if (other.value == out.value && other.mask == out.mask) {
      diagnostics_.error(mark.value.location, "mark '" + out.name + "' has the same bits (" +
                                                  hex(out.value) + ") as '" + other.name + "'");
      poison(mark.name);
      return;
    }
  }
  declare(out.name, SymbolKind::mark, out_.marks.size(), mark.name.location);
  out_.marks.push_back(std::move(out));
}

void Checker::declare_iface(const ast::IfaceDecl& iface) {
  auto ifname = resolve_ifname(iface.value);
  if (!ifname) {
    poison(iface.name);
    return;
  }
  declare(iface.name.text, SymbolKind::iface, ifaces_.size(), iface.name.location);
  ifaces_.push_back(Iface{*ifname});
}

void Checker::declare_group(const ast::GroupDecl& group) {
  Group out;
  ir::Set set;
  set.name = group.name.text;
  set.type = ir::ValueType::ifname;
  set.from_group = true;
  set.location = group.location;
  std::set<std::string> seen;
  for (const ast::Value& member : group.members) {
    auto ifname = resolve_ifname(member);
    if (!ifname) continue;
    if (!seen.insert(*ifname).second) {
      diagnostics_.error(member.location,
                         "interface '" + *ifname + "' is twice in group '" + group.name.text + "'");
      continue;
    }
    out.ifnames.push_back(*ifname);
    set.elements.push_back(nft::Element{nft::quoted_string(*ifname), ""});
  }
  out.set = set.name;
  declare(group.name.text, SymbolKind::group, groups_.size(), group.name.location);
  groups_.push_back(std::move(out));
  out_.sets.push_back(std::move(set));
}

void Checker::declare_addr(const ast::AddrDecl& addr) {
  auto prefix = resolve_address(addr.value, /*allow_prefix=*/true);
  if (!prefix) {
    poison(addr.name);
    return;
  }
  require_family(prefix->family, addr.value.location);
  declare(addr.name.text, SymbolKind::addr, addrs_.size(), addr.name.location);
  addrs_.push_back(Addr{*prefix});
}

namespace {

bool prefix_contains(const IpPrefix& outer, const IpPrefix& inner) {
  if (outer.family != inner.family || outer.length > inner.length) return false;
  for (int bit = 0; bit < outer.length; ++bit) {
    uint8_t mask = static_cast<uint8_t>(0x80 >> (bit % 8));
    if ((outer.bytes[bit / 8] & mask) != (inner.bytes[bit / 8] & mask)) return false;
  }
  return true;
}

}  // namespace

// nft refuses a named interval set with one prefix inside another
// ("conflicting intervals specified") at load time: refuse it here, at the
// inner element. Two prefixes are nested or disjoint, so after sorting by
// address (shorter first) an element is nested iff the innermost open prefix
// before it contains it.
void Checker::refuse_nested_prefixes(const std::string& set_name,
                                     std::vector<std::pair<IpPrefix, Location>> prefixes) {
  std::stable_sort(prefixes.begin(), prefixes.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<const std::pair<IpPrefix, Location>*> open;
  for (const auto& element : prefixes) {
    while (!open.empty() && !prefix_contains(open.back()->first, element.first)) open.pop_back();
    if (!open.empty()) {
      const auto& outer = *open.back();
      diagnostics_.error(element.second,
                         "element '" + element.first.str() + "' of set '" + set_name +
                             "' is inside '" + outer.first.str() + "' (line " +
                             std::to_string(outer.second.line) +
                             "): nft cannot load nested prefixes in one set; keep the wider one");
      continue;
    }
    open.push_back(&element);
  }
}

void Checker::declare_set(const ast::SetDecl& set) {
  auto type = ir::parse_type_name(set.type.text);
  if (!type || *type == ir::ValueType::u32) {
    diagnostics_.error(set.type.location,
                       "sets hold ipv4, ipv6, ipv4net, ipv6net, ifname or "
                       "port, not '" +
                           set.type.text + "'");
    poison(set.name);
    return;
  }
  if (*type == ir::ValueType::ipv4 || *type == ir::ValueType::ipv4net) {
    require_family(IpFamily::v4, set.type.location);
  } else if (*type == ir::ValueType::ipv6 || *type == ir::ValueType::ipv6net) {
    require_family(IpFamily::v6, set.type.location);
  }
  if (set.managed && (*type == ir::ValueType::ipv4net || *type == ir::ValueType::ipv6net)) {
    // Interval sets make one-element updates ~200x slower (nft 1.0.6).
    diagnostics_.error(set.type.location,
                       "a managed set holds single addresses (ipv4 or "
                       "ipv6), not prefixes: interval sets are slow to update");
    poison(set.name);
    return;
  }
  ir::Set out{set.name.text, *type, set.managed, false, {}, set.location, set.any_address};
  // Members of a managed address set are pods: an address no pod can have
  // would be routed to the proxy (the node's own addresses are checked when
  // members are enrolled: they depend on the node).
  const bool pods_only = set.managed && !set.any_address &&
                         (*type == ir::ValueType::ipv4 || *type == ir::ValueType::ipv6);
  out.elements.reserve(set.elements.size());
  // Duplicates: open addressing over indices into `seen` (two allocations in
  // all, not a node per element: a set can hold 100k members).
  std::vector<std::string> seen;
  seen.reserve(set.elements.size());
  size_t slot_mask = 15;
  while (slot_mask < 2 * set.elements.size()) slot_mask = slot_mask * 2 + 1;
  constexpr uint32_t kFree = UINT32_MAX;
  std::vector<uint32_t> slots(slot_mask + 1, kFree);
  auto first_time = [&](const std::string& key) {
    for (size_t i = std::hash<std::string>{}(key)&slot_mask;; i = (i + 1) & slot_mask) {
      if (slots[i] == kFree) {
        slots[i] = static_cast<uint32_t>(seen.size());
        seen.push_back(key);
        return true;
      }
      if (seen[slots[i]] == key) return false;
    }
  };
  std::vector<std::pair<IpPrefix, Location>> prefixes;  // of an interval set
  for (const ast::SetElement& element : set.elements) {
    const ast::Value& v = element.value;
    std::string text = v.text;
    if (v.kind == ast::Value::Kind::name) {
      // A parameter or named address is allowed as an element.
      auto it = symbols_.find(v.text);
      if (it != symbols_.end() && it->second.kind == SymbolKind::poisoned) continue;
      if (it != symbols_.end() && it->second.kind == SymbolKind::param) {
        const ir::Param& param = out_.params[it->second.index];
        bool fits = param.type == *type ||
                    (param.type == ir::ValueType::ipv4 && *type == ir::ValueType::ipv4net) ||
                    (param.type == ir::ValueType::ipv6 && *type == ir::ValueType::ipv6net);
        if (!fits) {
          diagnostics_.error(v.location, "parameter '" + v.text + "' is " +
                                             ir::type_name(param.type) + ", but set '" +
                                             set.name.text + "' holds " + ir::type_name(*type));
          continue;
        }
        text = param.value;
      } else if (it != symbols_.end() && it->second.kind == SymbolKind::addr) {
        text = addrs_[it->second.index].prefix.str();
      } else if (it != symbols_.end() && it->second.kind == SymbolKind::iface) {
        text = ifaces_[it->second.index].ifname;
      } else if (*type != ir::ValueType::ifname) {
        diagnostics_.error(v.location,
                           "undefined name '" + v.text + "' in set '" + set.name.text + "'");
        continue;
      }
    }
    std::string error;
    auto canonical = canonical_value(*type, text, &error);
    if (!canonical) {
      diagnostics_.error(v.location, "element '" + v.text + "' of set '" + set.name.text + "' (" +
                                         ir::type_name(*type) + "): " + error);
      continue;
    }
    if (pods_only) {
      if (auto what = non_pod_address_class(*parse_ip_prefix(*canonical))) {
        diagnostics_.error(v.location, "element '" + *canonical + "' of set '" + set.name.text +
                                           "': " + *what + " cannot be a pod (a set declared " +
                                           "`managed any_address` may hold it)");
        continue;
      }
    }
    if (!first_time(*canonical)) {
      diagnostics_.error(v.location,
                         "element '" + *canonical + "' is twice in set '" + set.name.text + "'");
      continue;
    }
    if (element.comment && !valid_comment(*element.comment)) {
      diagnostics_.error(v.location, "comment of element '" + *canonical +
                                         "' must be at most 128 printable characters without '\"'");
      continue;
    }
    if (*type == ir::ValueType::ifname) *canonical = nft::quoted_string(*canonical);
    if (*type == ir::ValueType::ipv4net || *type == ir::ValueType::ipv6net) {
      if (auto prefix = parse_ip_prefix(*canonical)) prefixes.emplace_back(*prefix, v.location);
    }
    out.elements.push_back(nft::Element{*canonical, element.comment.value_or("")});
  }
  if (!prefixes.empty()) refuse_nested_prefixes(out.name, std::move(prefixes));
  declare(out.name, SymbolKind::set, out_.sets.size(), set.name.location);
  out_.sets.push_back(std::move(out));
}

void Checker::declare_bypass(const ast::BypassDecl& bypass) {
  auto ports = resolve_ports(bypass.ports);
  if (!ports) return;
  out_.bypass.push_back(ir::Bypass{bypass.protocol, *ports, bypass.location});
}

void Checker::check_sysctl(const ast::SysctlBlock& block) {
  struct Known {
    const char* key;
    uint32_t max;
  };
  static constexpr Known kKnown[] = {
      {"rp_filter", 2},      {"accept_local", 1},   {"forwarding", 1},
      {"route_localnet", 1}, {"src_valid_mark", 1}, {"proxy_arp", 1},
  };
  std::vector<std::string> targets;
  for (const ast::Value& target : block.targets) {
    if (target.kind == ast::Value::Kind::string &&
        (target.text == "all" || target.text == "default")) {
      targets.push_back(target.text);
    } else if (auto ifname = resolve_ifname(target)) {
      targets.push_back(*ifname);
    }
  }
  for (const ast::SysctlSetting& setting : block.settings) {
    const Known* known = nullptr;
    for (const Known& k : kKnown) {
      if (setting.key.text == k.key) known = &k;
    }
    if (!known) {
      diagnostics_.error(setting.key.location,
                         "unknown sysctl '" + setting.key.text +
                             "': expected rp_filter, accept_local, forwarding, route_localnet, "
                             "src_valid_mark or proxy_arp");
      continue;
    }
    auto value = resolve_number(setting.value, "a number");
    if (!value) continue;
    if (*value > known->max) {
      diagnostics_.error(setting.value.location, setting.key.text + " takes 0 to " +
                                                     std::to_string(known->max) + ", not " +
                                                     std::to_string(*value));
      continue;
    }
    for (const std::string& target : targets) {
      std::string key = "net.ipv4.conf." + target + "." + setting.key.text;
      for (route::Sysctl& existing : out_.routing.sysctls) {
        if (existing.key == key) {
          diagnostics_.error(setting.key.location,
                             key + " is already set at " + existing.location.str());
        }
      }
      out_.routing.sysctls.push_back(
          route::Sysctl{key, std::to_string(*value), setting.key.location});
    }
  }
}

}  // namespace ztc
