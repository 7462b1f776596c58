#include "compiler/lower.h"

#include <algorithm>
#include <map>
#include <set>

#include "compiler/rule_counter_name.h"

namespace ztc {
namespace {

using nft::ExprPtr;
using nft::Field;

std::string hex_suffix(uint32_t value) {
  char buf[16];
  snprintf(buf, sizeof buf, "%x", value);
  return buf;
}

const char* set_type(ir::ValueType type) {
  switch (type) {
    case ir::ValueType::ipv4:
    case ir::ValueType::ipv4net: return "ipv4_addr";
    case ir::ValueType::ipv6:
    case ir::ValueType::ipv6net: return "ipv6_addr";
    case ir::ValueType::ifname: return "ifname";
    case ir::ValueType::port: return "inet_service";
    case ir::ValueType::u32: return "mark";
  }
  return "ipv4_addr";
}

ExprPtr port_expr(const ir::PortRange& range) {
  if (range.first == range.second) return nft::integer(range.first);
  return nft::range(range.first, range.second);
}

// Overlapping ranges joined (then sorted); the set of ports is the same.
// Ranges that do not overlap keep their order.
std::vector<ir::PortRange> merged(std::vector<ir::PortRange> ranges) {
  std::vector<ir::PortRange> sorted = ranges;
  std::sort(sorted.begin(), sorted.end());
  bool overlap = false;
  for (size_t i = 1; i < sorted.size(); ++i) overlap |= sorted[i].first <= sorted[i - 1].second;
  if (!overlap) return ranges;
  std::vector<ir::PortRange> out;
  for (const ir::PortRange& range : sorted) {
    if (!out.empty() && range.first <= out.back().second) {
      out.back().second = std::max(out.back().second, range.second);
    } else {
      out.push_back(range);
    }
  }
  return out;
}

ExprPtr one_or_set(std::vector<ExprPtr> items) {
  if (items.size() == 1) return items[0];
  return nft::anon_set(std::move(items));
}

nft::MatchOp op(bool negated) { return negated ? nft::MatchOp::ne : nft::MatchOp::eq; }

// A helper chain is named after the rule it serves. Two files can have a rule
// at the same line and column, so a rule outside the top file also names its
// file (by the order files are read: stable for goldens, unlike a path).
std::string helper_chain_name(const std::string& base, const char* kind, const Location& rule) {
  std::string file =
      rule.file && rule.file->ordinal() > 0 ? "f" + std::to_string(rule.file->ordinal()) + "_" : "";
  return base + "_" + kind + "_" + file + std::to_string(rule.line) + "_" +
         std::to_string(rule.column);
}

class Lowerer {
 public:
  explicit Lowerer(const ir::Policy& policy) : policy_(policy) {}

  nft::Table run() {
    table_.family = policy_.family;
    table_.name = policy_.table;
    table_.location = policy_.table_location;
    for (const ir::Set& set : policy_.sets) lower_set(set);
    for (const ir::Chain& chain : policy_.chains) lower_chain(chain);
    for (nft::Chain& helper : helpers_) table_.chains.push_back(std::move(helper));
    require_unique_chain_names(table_);
    return std::move(table_);
  }

 private:
  void lower_set(const ir::Set& set) {
    nft::Set out;
    out.name = set.name;
    out.type = set_type(set.type);
    out.interval = set.type == ir::ValueType::ipv4net || set.type == ir::ValueType::ipv6net;
    out.managed = set.managed;
    out.any_address = set.any_address;
    out.elements = set.elements;
    out.location = set.location;
    table_.sets.push_back(std::move(out));
  }

  void lower_chain(const ir::Chain& chain) {
    nft::Chain out;
    out.location = chain.location;
    nft::BaseChain base;
    base.hook = chain.hook;
    if (chain.nat) {
      out.name = std::string("nat_") + nft::hook_name(chain.hook);
      base.type = nft::ChainType::nat;
      bool destination = chain.hook == nft::Hook::prerouting || chain.hook == nft::Hook::output;
      base.priority = destination ? kNatDestinationPriority : kNatSourcePriority;
      out.comment = destination ? "nat: before dstnat (-100), so its bindings win over other tables"
                                : "nat: before srcnat (100), so its bindings win over other tables";
    } else {
      out.name = nft::hook_name(chain.hook);
      // Marks set on locally generated packets must re-route them, as
      // iptables' mangle OUTPUT does: only a `route` chain does that.
      base.type = chain.hook == nft::Hook::output ? nft::ChainType::route : nft::ChainType::filter;
      base.priority = kCapturePriority;
      out.comment = "capture: mangle priority, after conntrack (-200) so ct mark works";
    }
    out.base = base;
    current_hook_ = chain.hook;
    current_nat_ = chain.nat;
    const auto& rules = chain.rules;
    for (size_t i = 0; i < rules.size();) {
      size_t end = interface_dispatch_run(rules, i);
      if (end - i >= 2) {
        lower_interface_dispatch(rules, i, end, out);
        i = end;
      } else {
        lower_rule(rules[i], out, count_rule(out.name, rules[i], {}));
        ++i;
      }
    }
    table_.chains.push_back(std::move(out));
  }

  // --- dispatch on the input interface: a run of rules, each matching only
  // `iif <names>` and ending in a verdict, is one lookup.
  static const ir::InterfaceMatch* sole_interface_match(const ir::Rule& rule) {
    if (rule.matches.size() != 1 || rule.actions.empty()) return nullptr;
    if (!std::holds_alternative<ir::Verdict>(rule.actions.back())) return nullptr;
    auto* m = std::get_if<ir::InterfaceMatch>(&rule.matches[0]);
    if (!m || m->output || m->negated || !m->set.empty()) return nullptr;
    return m;
  }

  static size_t interface_dispatch_run(const std::vector<ir::Rule>& rules, size_t begin) {
    size_t end = begin;
    while (end < rules.size() && sole_interface_match(rules[end])) ++end;
    return end;
  }

  void lower_interface_dispatch(const std::vector<ir::Rule>& rules, size_t begin, size_t end,
                                nft::Chain& out) {
    // Rules with the same actions share one target; the first rule naming an
    // interface wins, as it would in sequence.
    std::vector<std::pair<std::string, size_t>> keys;  // ifname -> rule index
    std::set<std::string> seen;
    std::vector<size_t> distinct;  // first rule index of each distinct action list
    std::map<size_t, size_t> target_of;
    for (size_t i = begin; i < end; ++i) {
      size_t target = i;
      for (size_t d : distinct) {
        if (same_actions(rules[d], rules[i])) target = d;
      }
      if (target == i) distinct.push_back(i);
      target_of[i] = target;
      for (const std::string& name : sole_interface_match(rules[i])->names) {
        if (seen.insert(name).second) keys.emplace_back(name, target);
      }
    }
    if (distinct.size() == 1) {
      // One action list: a set match on the union of the names.
      ir::Rule merged = rules[begin];
      auto& names = std::get<ir::InterfaceMatch>(merged.matches[0]).names;
      names.clear();
      for (const auto& [name, target] : keys) names.push_back(name);
      std::vector<Location> also;
      for (size_t i = begin + 1; i < end; ++i) also.push_back(rules[i].location);
      lower_rule(merged, out, count_rule(out.name, rules[begin], std::move(also)));
      return;
    }
    nft::VerdictMap vmap;
    vmap.key = nft::field(Field::iifname);
    std::map<size_t, std::string> chain_of;
    for (size_t d : distinct) {
      nft::Chain target;
      target.name = helper_chain_name(out.name, "iif", rules[d].location);
      target.comment = "actions of the rule at " + rules[d].location.str();
      target.location = rules[d].location;
      ir::Rule body = rules[d];
      body.matches.clear();
      // A goto'd chain that ends returns from the base chain: the same as
      // `return` there.
      if (std::get<ir::Verdict>(body.actions.back()).verdict == ast::Verdict::return_) {
        body.actions.pop_back();
      }
      // The target chain counts its rules: the map itself is one rule for all.
      std::vector<Location> also;
      for (const auto& [rule, rule_target] : target_of) {
        if (rule_target == d && rule != d) also.push_back(rules[rule].location);
      }
      std::string counter = count_rule(out.name, rules[d], std::move(also));
      if (!body.actions.empty()) {
        lower_rule(body, target, counter);
      } else {
        nft::Rule count_only;
        count_only.location = rules[d].location;
        count_only.statements.push_back(nft::Counter{counter});
        target.rules.push_back(std::move(count_only));
      }
      chain_of[d] = target.name;
      helpers_.push_back(std::move(target));
    }
    for (const auto& [name, target] : keys) {
      vmap.entries.emplace_back(nft::string(name),
                                nft::Verdict{nft::VerdictKind::goto_, chain_of[target]});
    }
    nft::Rule rule;
    rule.location = rules[begin].location;
    rule.statements.push_back(std::move(vmap));
    out.rules.push_back(std::move(rule));
  }

  static std::string signature(const ir::Action& action) {
    if (auto* a = std::get_if<ir::MarkAction>(&action)) {
      return "m" + std::to_string(a->conntrack) + std::to_string(static_cast<int>(a->op)) + ":" +
             std::to_string(a->value) + "/" + std::to_string(a->mask);
    }
    if (auto* a = std::get_if<ir::CtCopy>(&action)) {
      return "c" + std::to_string(a->save) + std::to_string(a->mask) +
             std::to_string(a->source_bits_set);
    }
    if (auto* a = std::get_if<ir::Verdict>(&action)) {
      return "v" + std::to_string(static_cast<int>(a->verdict));
    }
    if (auto* a = std::get_if<ir::Dnat>(&action)) {
      return "d" + a->address.str() + ":" + std::to_string(a->port.value_or(0));
    }
    if (std::holds_alternative<ir::NoNat>(action)) return "n";
    return "counter";
  }

  static bool same_actions(const ir::Rule& a, const ir::Rule& b) {
    if (a.actions.size() != b.actions.size()) return false;
    for (size_t i = 0; i < a.actions.size(); ++i) {
      if (signature(a.actions[i]) != signature(b.actions[i])) return false;
    }
    return true;
  }

  // A counter object for `rule` (and the rules lowered together with it),
  // named by the rule's identity; its name for the rule's `counter name`.
  std::string count_rule(const std::string& chain, const ir::Rule& rule,
                         std::vector<Location> merged) {
    std::string base = rule_counter_name(chain, rule, 1);
    int ordinal = ++counter_ordinals_[base];
    nft::NamedCounter counter;
    counter.name = ordinal == 1 ? base : rule_counter_name(chain, rule, ordinal);
    counter.location = rule.location;
    counter.merged = std::move(merged);
    table_.counters.push_back(counter);
    return counter.name;
  }

  // --- one rule; `counter` names its counter object
  void lower_rule(const ir::Rule& rule, nft::Chain& out, const std::string& counter) {
    std::vector<nft::Statement> matches;
    std::optional<IpFamily> address_family;
    rule_maps_port_ = false;
    for (const ir::Action& action : rule.actions) {
      auto* dnat = std::get_if<ir::Dnat>(&action);
      if (dnat && dnat->port) rule_maps_port_ = true;
    }
    for (const ir::Match& match : rule.matches) lower_match(match, matches, address_family);
    // Identity NAT is per address family: in an inet table a rule without an
    // address match becomes one rule per family.
    bool has_no_nat = false;
    for (const ir::Action& action : rule.actions) {
      if (std::holds_alternative<ir::NoNat>(action)) has_no_nat = true;
    }
    std::vector<IpFamily> families;
    if (address_family) {
      families.push_back(*address_family);
    } else if (policy_.family == nft::Family::ip6) {
      families.push_back(IpFamily::v6);
    } else {
      families.push_back(IpFamily::v4);
      if (policy_.family == nft::Family::inet && has_no_nat) families.push_back(IpFamily::v6);
    }
    if (!has_no_nat) families.resize(1);
    for (IpFamily family : families) {
      nft::Rule out_rule;
      out_rule.location = rule.location;
      out_rule.statements = matches;
      if (families.size() > 1) {
        out_rule.statements.push_back(nft::Match{nft::field(Field::nfproto), nft::MatchOp::eq,
                                                 nft::symbol(family_name(family))});
      }
      out_rule.statements.push_back(nft::Counter{counter});
      std::vector<nft::Statement> actions;
      for (const ir::Action& action : rule.actions) {
        lower_action(action, family, rule.location, actions);
      }
      append_actions(rule, std::move(actions), out_rule, out);
    }
  }

  static bool is_jump(const nft::Statement& statement) {
    auto* verdict = std::get_if<nft::Verdict>(&statement);
    return verdict && verdict->kind == nft::VerdictKind::jump;
  }

  // nft refuses any statement after a `jump`. When a bit-by-bit copy (a jump)
  // is followed by more actions, the actions move to a chain of their own,
  // split after each jump; the rule reaches it by `goto` when it ends in a
  // verdict (ending a goto'd chain ends the base chain, like `return`) and
  // by `jump` when evaluation continues after it.
  void append_actions(const ir::Rule& rule, std::vector<nft::Statement> actions,
                      nft::Rule& out_rule, nft::Chain& out) {
    bool jump_inside = false;
    for (size_t i = 0; i + 1 < actions.size(); ++i) jump_inside |= is_jump(actions[i]);
    if (!jump_inside) {
      for (nft::Statement& statement : actions) out_rule.statements.push_back(std::move(statement));
      out.rules.push_back(std::move(out_rule));
      return;
    }
    nft::Chain chain;
    chain.name = helper_chain_name(out.name, "actions", rule.location);
    chain.comment = "actions of the rule at " + rule.location.str();
    chain.location = rule.location;
    nft::Rule segment;
    segment.location = rule.location;
    for (nft::Statement& statement : actions) {
      bool split = is_jump(statement);
      segment.statements.push_back(std::move(statement));
      if (split) {
        chain.rules.push_back(std::move(segment));
        segment = nft::Rule{};
        segment.location = rule.location;
      }
    }
    if (!segment.statements.empty()) chain.rules.push_back(std::move(segment));
    bool ends_in_verdict = std::holds_alternative<ir::Verdict>(rule.actions.back());
    out_rule.statements.push_back(
        nft::Verdict{ends_in_verdict ? nft::VerdictKind::goto_ : nft::VerdictKind::jump, chain.name});
    out.rules.push_back(std::move(out_rule));
    helpers_.push_back(std::move(chain));
  }

  void lower_match(const ir::Match& match, std::vector<nft::Statement>& out,
                   std::optional<IpFamily>& address_family) {
    if (auto* m = std::get_if<ir::InterfaceMatch>(&match)) {
      ExprPtr right;
      if (!m->set.empty()) {
        right = nft::set_ref(m->set);
      } else {
        std::vector<ExprPtr> names;
        for (const std::string& name : m->names) names.push_back(nft::string(name));
        right = one_or_set(std::move(names));
      }
      out.push_back(nft::Match{nft::field(m->output ? Field::oifname : Field::iifname),
                               op(m->negated), right});
      return;
    }
    if (auto* m = std::get_if<ir::AddressMatch>(&match)) {
      bool v4 = m->family == IpFamily::v4;
      Field field = m->destination ? (v4 ? Field::ip_daddr : Field::ip6_daddr)
                                   : (v4 ? Field::ip_saddr : Field::ip6_saddr);
      ExprPtr right;
      if (!m->set.empty()) {
        right = nft::set_ref(m->set);
      } else {
        std::vector<ExprPtr> addresses;
        for (const IpPrefix& prefix : m->prefixes) addresses.push_back(nft::address(prefix.str()));
        right = one_or_set(std::move(addresses));
      }
      address_family = m->family;
      out.push_back(nft::Match{nft::field(field), op(m->negated), right});
      return;
    }
    if (auto* m = std::get_if<ir::ProtocolMatch>(&match)) {
      out.push_back(nft::Match{nft::field(Field::l4proto), nft::MatchOp::eq,
                               nft::symbol(m->protocol)});
      if (m->has_ports) {
        std::vector<ExprPtr> ports;
        for (const ir::PortRange& range : m->ports) ports.push_back(port_expr(range));
        out.push_back(nft::Match{nft::field(m->destination_port ? Field::th_dport : Field::th_sport),
                                 op(m->negated), one_or_set(std::move(ports))});
      }
      return;
    }
    if (auto* m = std::get_if<ir::BypassMatch>(&match)) {
      std::set<std::string> protocols;
      for (const ir::Bypass& bypass : m->bypass) protocols.insert(bypass.protocol);
      // Declarations may overlap (`bypass udp 53-100` and `bypass udp 53`):
      // nft refuses overlapping intervals in a concatenated set ("File
      // exists"), so each protocol's ports are merged first.
      std::vector<std::pair<std::string, std::vector<ir::PortRange>>> ports_of;
      for (const ir::Bypass& bypass : m->bypass) {
        auto it = std::find_if(ports_of.begin(), ports_of.end(),
                               [&](const auto& entry) { return entry.first == bypass.protocol; });
        if (it == ports_of.end()) it = ports_of.insert(ports_of.end(), {bypass.protocol, {}});
        it->second.insert(it->second.end(), bypass.ports.begin(), bypass.ports.end());
      }
      for (auto& [protocol, ranges] : ports_of) ranges = merged(std::move(ranges));
      if (protocols.size() == 1) {
        std::vector<ExprPtr> ports;
        for (const ir::PortRange& range : ports_of.begin()->second)
          ports.push_back(port_expr(range));
        out.push_back(nft::Match{nft::field(Field::l4proto), nft::MatchOp::eq,
                                 nft::symbol(*protocols.begin())});
        out.push_back(
            nft::Match{nft::field(Field::th_dport), nft::MatchOp::eq, one_or_set(std::move(ports))});
        return;
      }
      // Several protocols: one lookup on protocol . port.
      std::vector<ExprPtr> pairs;
      for (const auto& [protocol, ranges] : ports_of) {
        for (const ir::PortRange& range : ranges) {
          pairs.push_back(nft::concat({nft::symbol(protocol), port_expr(range)}));
        }
      }
      out.push_back(nft::Match{
          nft::concat({nft::field(Field::l4proto), nft::field(Field::th_dport)}),
          nft::MatchOp::eq, nft::anon_set(std::move(pairs))});
      if (rule_maps_port_) {
        // nft takes a port mapping (`dnat to A:P`) only after a protocol
        // match it can see, and a concatenation is none.
        std::vector<ExprPtr> names;
        for (const std::string& protocol : protocols) names.push_back(nft::symbol(protocol));
        out.push_back(nft::Match{nft::field(Field::l4proto), nft::MatchOp::eq,
                                 nft::anon_set(std::move(names))});
      }
      return;
    }
    const auto& m = std::get<ir::MarkMatch>(match);
    ExprPtr left = nft::field(m.conntrack ? Field::ct_mark : Field::meta_mark);
    if (m.mask != 0xffffffff) left = nft::bit_and(left, m.mask);
    bool negated = m.op == ast::MarkOp::lacks || m.op == ast::MarkOp::not_equal;
    out.push_back(nft::Match{left, op(negated), nft::integer(m.value, true)});
  }

  void lower_action(const ir::Action& action, IpFamily family, const Location& location,
                    std::vector<nft::Statement>& out) {
    if (auto* a = std::get_if<ir::MarkAction>(&action)) {
      Field target = a->conntrack ? Field::ct_mark : Field::meta_mark;
      ExprPtr value;
      switch (a->op) {
        case ast::MarkAssign::or_bits:
          value = a->mask == a->value
                      ? nft::bit_or(nft::field(target), a->value)
                      : nft::bit_or(nft::bit_and(nft::field(target), ~a->mask), a->value);
          break;
        case ast::MarkAssign::set_whole: value = nft::integer(a->value, true); break;
        case ast::MarkAssign::clear_bits: value = nft::bit_and(nft::field(target), ~a->mask); break;
      }
      out.push_back(nft::Mangle{target, value});
      return;
    }
    if (auto* a = std::get_if<ir::CtCopy>(&action)) {
      Field to = a->save ? Field::ct_mark : Field::meta_mark;
      if (a->source_bits_set) {
        out.push_back(nft::Mangle{to, nft::bit_or(nft::field(to), a->mask)});
      } else {
        out.push_back(nft::Verdict{nft::VerdictKind::jump, copy_chain(*a, location)});
      }
      return;
    }
    if (auto* a = std::get_if<ir::Verdict>(&action)) {
      nft::VerdictKind kind = a->verdict == ast::Verdict::return_  ? nft::VerdictKind::return_
                              : a->verdict == ast::Verdict::accept ? nft::VerdictKind::accept
                                                                   : nft::VerdictKind::drop;
      out.push_back(nft::Verdict{kind, ""});
      return;
    }
    if (std::holds_alternative<ir::NoNat>(action)) {
      bool destination =
          current_hook_ == nft::Hook::prerouting || current_hook_ == nft::Hook::output;
      bool v4 = family == IpFamily::v4;
      Field field = destination ? (v4 ? Field::ip_daddr : Field::ip6_daddr)
                                : (v4 ? Field::ip_saddr : Field::ip6_saddr);
      out.push_back(nft::Nat{destination ? nft::NatKind::dnat : nft::NatKind::snat,
                                        v4 ? nft::Family::ip : nft::Family::ip6,
                                        nft::field(field), std::nullopt});
      return;
    }
    if (auto* a = std::get_if<ir::Dnat>(&action)) {
      bool v4 = a->address.family == IpFamily::v4;
      out.push_back(nft::Nat{nft::NatKind::dnat, v4 ? nft::Family::ip : nft::Family::ip6,
                                        nft::address(a->address.str()), a->port});
      return;
    }
    out.push_back(nft::Counter{});
  }

  // nft 1.0.6 cannot compute (ct & ~M) | (mark & M) in one expression: copy
  // bit by bit, each bit set or cleared exactly, all other bits untouched.
  // The chain is shared by every rule that copies the same bits; it carries
  // the location of the first, so a kernel error in it points at the policy.
  std::string copy_chain(const ir::CtCopy& copy, const Location& first_use) {
    std::string name = std::string(copy.save ? "ct_save_" : "ct_restore_") + hex_suffix(copy.mask);
    if (!copy_chains_.insert(name).second) return name;
    Field from = copy.save ? Field::meta_mark : Field::ct_mark;
    Field to = copy.save ? Field::ct_mark : Field::meta_mark;
    nft::Chain chain;
    chain.name = name;
    chain.location = first_use;
    chain.comment = std::string("exact ") + (copy.save ? "save" : "restore") + " of bits 0x" +
                    hex_suffix(copy.mask) + (copy.save ? " into the ct mark" : " from the ct mark");
    for (uint32_t bit = 1; bit != 0; bit <<= 1) {
      if ((copy.mask & bit) == 0) continue;
      nft::Rule set_bit;
      set_bit.location = first_use;
      set_bit.statements.push_back(
          nft::Match{nft::bit_and(nft::field(from), bit), nft::MatchOp::eq, nft::integer(bit, true)});
      set_bit.statements.push_back(nft::Mangle{to, nft::bit_or(nft::field(to), bit)});
      nft::Rule clear_bit;
      clear_bit.location = first_use;
      clear_bit.statements.push_back(
          nft::Match{nft::bit_and(nft::field(from), bit), nft::MatchOp::eq, nft::integer(0, true)});
      clear_bit.statements.push_back(nft::Mangle{to, nft::bit_and(nft::field(to), ~bit)});
      chain.rules.push_back(std::move(set_bit));
      chain.rules.push_back(std::move(clear_bit));
    }
    helpers_.push_back(std::move(chain));
    return name;
  }

  const ir::Policy& policy_;
  nft::Table table_;
  std::vector<nft::Chain> helpers_;
  std::set<std::string> copy_chains_;
  std::map<std::string, int> counter_ordinals_;  // counter name -> rules of that content so far
  nft::Hook current_hook_ = nft::Hook::prerouting;
  bool current_nat_ = false;
  bool rule_maps_port_ = false;  // the rule being lowered has `dnat to A:P`
};

}  // namespace

void require_unique_chain_names(const nft::Table& table) {
  std::map<std::string, const nft::Chain*> by_name;
  for (const nft::Chain& chain : table.chains) {
    auto [it, inserted] = by_name.emplace(chain.name, &chain);
    if (inserted) continue;
    throw LoweringError(chain.location, "two chains named '" + chain.name +
                                            "' (the other is from " + it->second->location.str() +
                                            "): nft would merge them and run both rules' actions");
  }
}

nft::Table lower(const ir::Policy& policy) { return Lowerer(policy).run(); }

}  // namespace ztc
