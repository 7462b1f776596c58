// Check stage, capture and nat blocks: hooks, matches, actions, and the
// reachability of rules in each chain.
#include <algorithm>
#include <map>
#include <set>

#include "compiler/checker.h"

namespace ztc {
namespace {

std::optional<nft::Hook> parse_hook(const std::string& name) {
  static const std::pair<const char*, nft::Hook> kHooks[] = {
      {"prerouting", nft::Hook::prerouting}, {"input", nft::Hook::input},
      {"forward", nft::Hook::forward},       {"output", nft::Hook::output},
      {"postrouting", nft::Hook::postrouting},
  };
  for (const auto& [text, hook] : kHooks) {
    if (name == text) return hook;
  }
  return std::nullopt;
}

bool is_terminal(const ir::Action& action) {
  return std::holds_alternative<ir::Verdict>(action) || std::holds_alternative<ir::NoNat>(action) ||
         std::holds_alternative<ir::Dnat>(action);
}

const char* action_name(const ast::Action& action) {
  switch (action.index()) {
    case 0: return "mark";
    case 1: return "ct save/restore";
    case 2: return "verdict";
    case 3: return "no nat";
    case 4: return "dnat";
    default: return "counter";
  }
}

Location action_location(const ast::Action& action) {
  return std::visit([](const auto& a) { return a.location; }, action);
}

Location match_location(const ast::Match& match) {
  return std::visit([](const auto& m) { return m.location; }, match);
}

}  // namespace

void Checker::check_capture(const ast::CaptureBlock& block) {
  std::set<nft::Hook> seen;
  for (const ast::Name& hook_name : block.hooks) {
    auto hook = parse_hook(hook_name.text);
    if (!hook) {
      diagnostics_.error(hook_name.location,
                         "unknown hook '" + hook_name.text +
                             "': expected prerouting, input, forward, output or postrouting");
      continue;
    }
    if (block.nat && *hook == nft::Hook::forward) {
      diagnostics_.error(hook_name.location, "nat has no forward hook");
      continue;
    }
    if (!seen.insert(*hook).second) {
      diagnostics_.error(hook_name.location, "hook '" + hook_name.text + "' is listed twice");
      continue;
    }
    ir::Chain* chain = nullptr;
    for (ir::Chain& existing : out_.chains) {
      if (existing.nat == block.nat && existing.hook == *hook) chain = &existing;
    }
    if (!chain) {
      out_.chains.push_back(ir::Chain{block.nat, *hook, {}, block.location});
      chain = &out_.chains.back();
    }
    // A rule shared by several hooks is checked once per hook; Diagnostics
    // drops the repeated errors.
    for (const ast::CaptureRule& rule : block.rules) {
      if (auto checked = check_rule(rule, block.nat, *hook)) chain->rules.push_back(*checked);
    }
  }
}

std::optional<ir::Rule> Checker::check_rule(const ast::CaptureRule& rule, bool nat,
                                            nft::Hook hook) {
  ir::Rule out;
  out.location = rule.location;
  bool ok = true;
  std::optional<IpFamily> rule_family;
  for (const ast::Match& match : rule.matches) {
    auto checked = check_match(match, hook);
    if (!checked) {
      ok = false;
      continue;
    }
    if (auto* address = std::get_if<ir::AddressMatch>(&*checked)) {
      if (rule_family && *rule_family != address->family) {
        diagnostics_.error(match_location(match),
                           "IPv4 and IPv6 addresses in one rule: a packet has one address "
                           "family, so the rule could never match; write one rule per family");
        ok = false;
        continue;
      }
      rule_family = address->family;
    }
    out.matches.push_back(std::move(*checked));
  }
  bool ended = false;
  for (const ast::Action& action : rule.actions) {
    if (ended) {
      diagnostics_.error(action_location(action),
                         std::string("this ") + action_name(action) +
                             " action never runs: an earlier action ends the rule");
      ok = false;
      break;
    }
    if (auto checked = check_action(action, nat, hook, out.matches, out.actions)) {
      ended = is_terminal(*checked);
      out.actions.push_back(*checked);
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<ir::Match> Checker::check_match(const ast::Match& match, nft::Hook hook) {
  if (auto* m = std::get_if<ast::InterfaceMatch>(&match)) {
    if (m->output && hook == nft::Hook::prerouting) {
      diagnostics_.error(m->location,
                         "oif is not known at hook prerouting: the packet is not routed yet");
      return std::nullopt;
    }
    if (m->output && hook == nft::Hook::input) {
      diagnostics_.error(m->location,
                         "oif is always empty at hook input (packets delivered to this host)");
      return std::nullopt;
    }
    if (!m->output && hook == nft::Hook::output) {
      diagnostics_.error(m->location,
                         "iif is always empty at hook output (locally generated packets)");
      return std::nullopt;
    }
    ir::InterfaceMatch out{m->output, m->negated, {}, ""};
    bool ok = true;
    for (const ast::Value& value : m->interfaces) {
      auto it = symbols_.find(value.text);
      if (value.kind == ast::Value::Kind::name && it != symbols_.end() &&
          it->second.kind == SymbolKind::group) {
        if (m->interfaces.size() > 1) {
          diagnostics_.error(value.location, "group '" + value.text +
                                                 "' must stand alone in an interface match");
          ok = false;
          continue;
        }
        out.set = groups_[it->second.index].set;
        continue;
      }
      if (auto ifname = resolve_ifname(value)) {
        out.names.push_back(*ifname);
      } else {
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return out;
  }
  if (auto* m = std::get_if<ast::AddressMatch>(&match)) {
    ir::AddressMatch out{m->destination, m->negated, IpFamily::v4, {}, ""};
    bool ok = true;
    std::optional<IpFamily> family;
    for (const ast::Value& value : m->addresses) {
      if (value.kind == ast::Value::Kind::set_ref) {
        if (m->addresses.size() > 1) {
          diagnostics_.error(value.location, "set '@" + value.text +
                                                 "' must stand alone in an address match");
          ok = false;
          continue;
        }
        const Symbol* symbol = lookup(value, "set");
        if (!symbol) {
          ok = false;
          continue;
        }
        if (symbol->kind != SymbolKind::set) {
          diagnostics_.error(value.location, "'" + value.text + "' is not a set");
          ok = false;
          continue;
        }
        const ir::Set& set = out_.sets[symbol->index];
        if (set.type == ir::ValueType::ipv4 || set.type == ir::ValueType::ipv4net) {
          family = IpFamily::v4;
        } else if (set.type == ir::ValueType::ipv6 || set.type == ir::ValueType::ipv6net) {
          family = IpFamily::v6;
        } else {
          diagnostics_.error(value.location, "set '" + value.text + "' holds " +
                                                 ir::type_name(set.type) + ", not addresses");
          ok = false;
          continue;
        }
        out.set = set.name;
        continue;
      }
      auto prefix = resolve_address(value, /*allow_prefix=*/true);
      if (!prefix) {
        ok = false;
        continue;
      }
      if (!family_allows(prefix->family)) {
        require_family(prefix->family, value.location);
        ok = false;
        continue;
      }
      if (family && *family != prefix->family) {
        diagnostics_.error(value.location,
                           "IPv4 and IPv6 addresses in one match: a packet has "
                           "one address family; write one rule per family");
        ok = false;
        continue;
      }
      family = prefix->family;
      out.prefixes.push_back(*prefix);
    }
    if (!ok || !family) return std::nullopt;
    out.family = *family;
    return out;
  }
  if (auto* m = std::get_if<ast::ProtocolMatch>(&match)) {
    ir::ProtocolMatch out{m->protocol, m->has_ports, m->destination_port, m->negated, {}};
    if (m->has_ports) {
      auto ports = resolve_ports(m->ports);
      if (!ports) return std::nullopt;
      out.ports = *ports;
    }
    return out;
  }
  if (auto* m = std::get_if<ast::BypassMatch>(&match)) {
    if (out_.bypass.empty()) {
      diagnostics_.error(m->location, "no bypass ports are declared (e.g. `bypass udp 6081`)");
      return std::nullopt;
    }
    return ir::BypassMatch{out_.bypass};
  }
  const auto& m = std::get<ast::MarkMatch>(match);
  auto bits = resolve_mark(m.value);
  if (!bits) return std::nullopt;
  ir::MarkMatch out{m.conntrack, m.op, bits->value, bits->mask};
  if (m.op == ast::MarkOp::equal || m.op == ast::MarkOp::not_equal) out.mask = 0xffffffff;
  if (out.mask == 0) {
    diagnostics_.error(m.value.location,
                       std::string("testing no bits is ") +
                           (m.op == ast::MarkOp::has ? "always true" : "never true") +
                           "; to test for an empty mark write `mark == 0`");
    return std::nullopt;
  }
  return out;
}

std::optional<ir::Action> Checker::check_action(const ast::Action& action, bool nat,
                                                nft::Hook hook,
                                                const std::vector<ir::Match>& matches,
                                                const std::vector<ir::Action>& earlier) {
  if (auto* a = std::get_if<ast::MarkAction>(&action)) {
    if (nat) {
      diagnostics_.error(a->location,
                         "marks cannot be set in a nat block: it sees only the "
                         "first packet of each connection; set them in a capture "
                         "block");
      return std::nullopt;
    }
    auto bits = resolve_mark(a->value);
    if (!bits) return std::nullopt;
    if (a->op != ast::MarkAssign::set_whole && bits->mask == 0) {
      diagnostics_.error(a->value.location, "this mark action changes no bit");
      return std::nullopt;
    }
    ir::MarkAction out{a->conntrack, a->op, bits->value, bits->mask};
    return out;
  }
  if (auto* a = std::get_if<ast::CtCopyAction>(&action)) {
    if (nat) {
      diagnostics_.error(a->location,
                         "ct save/restore cannot run in a nat block: it sees only "
                         "the first packet of each connection; use a capture block");
      return std::nullopt;
    }
    auto bits = resolve_mark(a->bits);
    if (!bits) return std::nullopt;
    ir::CtCopy out{a->save, bits->mask, false};
    // The copy is a plain OR when the rule itself tests that the source has
    // every copied bit set (as every CONNMARK save in the reference does) and
    // no earlier action of the rule has written the source since.
    bool source_is_ct = !a->save;
    for (const ir::Match& match : matches) {
      auto* m = std::get_if<ir::MarkMatch>(&match);
      if (m && m->op == ast::MarkOp::has && m->conntrack == source_is_ct &&
          (m->mask & out.mask) == out.mask && (m->value & out.mask) == out.mask) {
        out.source_bits_set = true;
      }
    }
    for (const ir::Action& previous : earlier) {
      auto* mark = std::get_if<ir::MarkAction>(&previous);
      auto* copy = std::get_if<ir::CtCopy>(&previous);
      bool writes_ct = (mark && mark->conntrack) || (copy && copy->save);
      bool writes_meta = (mark && !mark->conntrack) || (copy && !copy->save);
      if (source_is_ct ? writes_ct : writes_meta) out.source_bits_set = false;
    }
    return out;
  }
  if (auto* a = std::get_if<ast::VerdictAction>(&action)) return ir::Verdict{a->verdict};
  if (auto* a = std::get_if<ast::NoNatAction>(&action)) {
    if (!nat) {
      diagnostics_.error(a->location, "'no nat' belongs in a nat block");
      return std::nullopt;
    }
    return ir::NoNat{};
  }
  if (auto* a = std::get_if<ast::DnatAction>(&action)) {
    if (!nat || (hook != nft::Hook::prerouting && hook != nft::Hook::output)) {
      diagnostics_.error(a->location, "dnat belongs in a nat prerouting or nat output block");
      return std::nullopt;
    }
    auto address = resolve_address(a->address, /*allow_prefix=*/false);
    if (!address) return std::nullopt;
    if (!family_allows(address->family)) {
      require_family(address->family, a->address.location);
      return std::nullopt;
    }
    for (const ir::Match& match : matches) {
      auto* m = std::get_if<ir::AddressMatch>(&match);
      if (m && m->family != address->family) {
        diagnostics_.error(a->address.location, std::string("dnat to an ") +
                                                    family_name(address->family) +
                                                    " address in a rule that matches " +
                                                    family_name(m->family) + " addresses");
        return std::nullopt;
      }
    }
    ir::Dnat out{*address, std::nullopt};
    bool has_protocol = std::any_of(matches.begin(), matches.end(), [](const ir::Match& m) {
      return std::holds_alternative<ir::ProtocolMatch>(m) ||
             std::holds_alternative<ir::BypassMatch>(m);
    });
    if (a->port && !has_protocol) {
      diagnostics_.error(a->location,
                         "dnat to a port needs tcp, udp or bypass in the same rule "
                         "(a port belongs to a protocol)");
      return std::nullopt;
    }
    if (a->port) {
      auto port = resolve_port(*a->port);
      if (!port) return std::nullopt;
      out.port = *port;
    }
    return out;
  }
  return ir::Counter{};
}

// A rule without matches that ends the chain ends it for every packet of the
// families it acts on: a `dnat to` an address of one family is passed by the
// other family's packets (nft adds the family to the rule), so in an inet
// table the next rule stays reachable for them, as the kernel runs it.
void Checker::check_reachability() {
  std::vector<IpFamily> table_families;
  for (IpFamily family : {IpFamily::v4, IpFamily::v6}) {
    if (family_allows(family)) table_families.push_back(family);
  }
  for (const ir::Chain& chain : out_.chains) {
    std::map<IpFamily, const ir::Rule*> ended_by;
    for (const ir::Rule& rule : chain.rules) {
      if (ended_by.size() == table_families.size()) {
        // Rules of one chain live in one vector: their addresses are in chain order.
        const ir::Rule* first = ended_by.begin()->second;
        const ir::Rule* last = ended_by.rbegin()->second;
        std::string message = "unreachable rule: the rule at line " +
                              std::to_string(first->location.line) +
                              " matches every packet and ends the chain";
        if (first != last) {
          bool v4_first = ended_by[IpFamily::v4] < ended_by[IpFamily::v6];
          if (!v4_first) std::swap(first, last);
          message = "unreachable rule: the rules at lines " + std::to_string(first->location.line) +
                    (v4_first ? " (IPv4)" : " (IPv6)") + " and " +
                    std::to_string(last->location.line) + (v4_first ? " (IPv6)" : " (IPv4)") +
                    " end the chain for every packet";
        }
        diagnostics_.error(rule.location, message);
        break;
      }
      if (!rule.matches.empty() || rule.actions.empty() || !is_terminal(rule.actions.back())) {
        continue;
      }
      if (auto* dnat = std::get_if<ir::Dnat>(&rule.actions.back())) {
        ended_by.emplace(dnat->address.family, &rule);
        continue;
      }
      for (IpFamily family : table_families) ended_by.emplace(family, &rule);
    }
  }
}

}  // namespace ztc
