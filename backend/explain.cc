// The packet path: base chains hook by hook in priority order, rules in
// order, with nft's verdict semantics (return, accept, drop, jump, goto,
// verdict maps; a NAT statement ends its chain), then the routing decision
// (explain_routing.cc) and the hooks after it.
#include "backend/explain.h"

#include <algorithm>
#include <cctype>
#include <variant>

#include "backend/nft_text.h"

namespace ztc::explain {
namespace {

using nft::Field;

// The kernel refuses deeper jump stacks (NFT_JUMP_STACK_SIZE); a model that
// loops is not one the kernel would have loaded.
constexpr int kMaxJumpDepth = 16;

// A value a rule reads. `absent`: the packet has no such header (ports of an
// ICMP packet, `ip saddr` of an IPv6 packet): nft's match fails, with != too.
// `unknown`: the packet has it but the caller did not say (or, offline, the
// output device of a main-table route): taken as not matching, with a note.
struct Value {
  enum class Kind { absent, unknown, number, text, address, tuple } kind = Kind::absent;
  uint32_t number = 0;
  bool hex = false;
  std::string text;
  IpPrefix address;
  std::vector<Value> parts;
  std::string missing;  // what is absent or unknown, for the explanation
};

Value number(uint32_t n, bool hex_form = false) {
  Value v;
  v.kind = Value::Kind::number;
  v.number = n;
  v.hex = hex_form;
  return v;
}
Value text(std::string t) {
  Value v;
  v.kind = Value::Kind::text;
  v.text = std::move(t);
  return v;
}
Value address(const IpPrefix& a) {
  Value v;
  v.kind = Value::Kind::address;
  v.address = a;
  return v;
}
Value missing(Value::Kind kind, std::string what) {
  Value v;
  v.kind = kind;
  v.missing = std::move(what);
  return v;
}

std::string value_text(const Value& v, bool quote) {
  switch (v.kind) {
    case Value::Kind::number: return v.hex ? hex(v.number) : std::to_string(v.number);
    case Value::Kind::text: return quote ? "\"" + v.text + "\"" : v.text;
    case Value::Kind::address: return v.address.address_str();
    case Value::Kind::tuple: {
      std::string out;
      for (size_t i = 0; i < v.parts.size(); ++i) {
        out += (i ? " . " : "") + value_text(v.parts[i], quote);
      }
      return out;
    }
    default: return v.missing;
  }
}

// nft's text, as a policy reader knows it: `mark`, not `meta mark`; 0x220,
// not 0x00000220.
std::string readable(std::string text) {
  for (const char* meta : {"meta mark", "meta l4proto", "meta nfproto"}) {
    for (size_t at; (at = text.find(meta)) != std::string::npos;) text.erase(at, 5);
  }
  for (size_t at = 0; (at = text.find("0x", at)) != std::string::npos; at += 2) {
    size_t digits = at + 2;
    while (digits + 1 < text.size() && text[digits] == '0' && std::isxdigit(text[digits + 1])) {
      text.erase(digits, 1);
    }
  }
  return text;
}

bool is_name_field(const nft::Expr& expr) {
  auto* f = std::get_if<nft::FieldRef>(&expr.value);
  return f && (f->field == Field::iifname || f->field == Field::oifname);
}

// Where the packet is and what it carries, as the rules read it.
struct PacketState {
  Packet packet;
  std::string iifname;                 // "" where the kernel has no input device
  std::optional<std::string> oifname;  // nullopt: not known (offline main table)
  std::string hook;
  int priority = 0;  // of the base chain being run
};

struct RuleOutcome {
  enum Kind { next, return_, accept, drop } kind = next;
};

class Interpreter {
 public:
  Interpreter(const nft::Table& table, const route::Plan& plan, const NodeFacts& facts)
      : table_(table), plan_(plan), facts_(facts) {
    for (const nft::Set& set : table.sets) {
      std::vector<std::string>& members = members_[set.name];
      for (const nft::Element& e : set.elements) members.push_back(e.value);
      auto extra = facts.members.find(set.name);
      if (extra != facts.members.end()) {
        for (const std::string& m : extra->second) {
          members.push_back(set.type == "ifname" ? "\"" + m + "\"" : m);
        }
      }
    }
    // Derived routes want bare addresses.
    for (const route::DerivedRoutes& d : plan.derived) {
      for (const std::string& m : members_[d.set]) route_members_[d.set].push_back(m);
    }
  }

  Explanation run(const Packet& packet) {
    out_.packet = packet;
    out_.table = nft::table_spec(table_.family, table_.name);
    state_.packet = packet;
    bool applies = table_.family == nft::Family::inet ||
                   (table_.family == nft::Family::ip) == (packet.family() == IpFamily::v4);
    if (!applies) {
      note("table " + out_.table + " does not see " + family_name(packet.family()) +
           " packets: no rule applies");
    }
    applies_ = applies;
    if (!packet.local()) {
      arrive(*packet.iif);
    } else {
      send();
    }
    out_.mark = state_.packet.mark;
    out_.ct_mark = state_.packet.ct_mark;
    return std::move(out_);
  }

 private:
  void note(const std::string& text) {
    if (std::find(out_.notes.begin(), out_.notes.end(), text) == out_.notes.end()) {
      out_.notes.push_back(text);
    }
  }

  RouteChoice route(const std::string& iif) {
    RouteQuery query;
    query.daddr = state_.packet.daddr;
    query.saddr = state_.packet.saddr;
    query.mark = state_.packet.mark;
    query.iif = iif;
    return decide_route(plan_, facts_, route_members_, query, out_.steps, out_.notes);
  }

  // A packet that arrives on `iif`: prerouting, routing, input or forward +
  // postrouting.
  void arrive(const std::string& iif) {
    state_.iifname = iif;
    state_.oifname = "";
    if (!run_hook(nft::Hook::prerouting)) return finish(Verdict::drop);
    out_.route = route(iif);
    if (out_.route.local) {
      state_.oifname = "";
      if (!run_hook(nft::Hook::input)) return finish(Verdict::drop);
      return finish(Verdict::local);
    }
    if (!out_.route.reachable) return finish(Verdict::unreachable);
    state_.oifname = out_.route.dev;
    if (!run_hook(nft::Hook::forward)) return finish(Verdict::drop);
    if (!run_hook(nft::Hook::postrouting)) return finish(Verdict::drop);
    finish(Verdict::egress);
  }

  // A packet a process on the node sends: routing with the socket's mark,
  // output (rerouted when a route chain changes the mark or an address),
  // postrouting; to a local address it then loops back through lo.
  void send() {
    state_.iifname = "";
    out_.route = route("lo");
    if (!out_.route.reachable) return finish(Verdict::unreachable);
    set_output_device();
    if (!run_hook(nft::Hook::output)) return finish(Verdict::drop);
    if (!run_hook(nft::Hook::postrouting)) return finish(Verdict::drop);
    if (!out_.route.local) return finish(Verdict::egress);
    // The looped-back packet keeps its route (and its mark): prerouting on
    // lo and input, no second lookup.
    state_.iifname = "lo";
    state_.oifname = "";
    if (!run_hook(nft::Hook::prerouting)) return finish(Verdict::drop);
    state_.oifname = "";
    if (!run_hook(nft::Hook::input)) return finish(Verdict::drop);
    finish(Verdict::local);
  }

  void set_output_device() {
    state_.oifname = out_.route.local ? std::optional<std::string>("lo") : out_.route.dev;
  }

  void finish(Verdict verdict) { out_.verdict = verdict; }

  // Every base chain of the hook, by priority. False when the packet was dropped.
  bool run_hook(nft::Hook hook) {
    if (!applies_) return true;
    state_.hook = nft::hook_name(hook);
    std::vector<const nft::Chain*> chains;
    for (const nft::Chain& chain : table_.chains) {
      if (chain.base && chain.base->hook == hook) chains.push_back(&chain);
    }
    std::stable_sort(chains.begin(), chains.end(), [](const nft::Chain* a, const nft::Chain* b) {
      return a->base->priority < b->base->priority;
    });
    for (const nft::Chain* chain : chains) {
      bool nat = chain->base->type == nft::ChainType::nat;
      if (nat) {
        note(
            "nat chains run for the first packet of a connection only; this explanation runs "
            "them as for a first packet");
      }
      uint32_t mark_before = state_.packet.mark;
      IpPrefix daddr_before = state_.packet.daddr;
      std::optional<IpPrefix> saddr_before = state_.packet.saddr;
      state_.priority = chain->base->priority;
      RuleOutcome::Kind outcome = run_chain(*chain, 0);
      if (outcome == RuleOutcome::drop) return false;
      bool changed = state_.packet.mark != mark_before || !(state_.packet.daddr == daddr_before) ||
                     !(state_.packet.saddr == saddr_before);
      bool reroutes =
          hook == nft::Hook::output && (chain->base->type == nft::ChainType::route ||
                                        (nat && !(state_.packet.daddr == daddr_before)));
      if (reroutes && changed) {
        Step step;
        step.hook = state_.hook;
        step.chain = chain->name;
        step.location = chain->location;
        step.matched = true;
        step.priority = chain->base->priority;
        step.effect = "the " + std::string(nat ? "destination" : "mark or an address") +
                      " changed in a " + nft::chain_type_name(chain->base->type) +
                      " chain: the kernel routes the packet again";
        out_.steps.push_back(step);
        out_.route = route("lo");
        if (!out_.route.reachable) {
          finish(Verdict::unreachable);
          return false;
        }
        set_output_device();
      }
    }
    return true;
  }

  const nft::Chain* find_chain(const std::string& name) const {
    for (const nft::Chain& chain : table_.chains) {
      if (chain.name == name) return &chain;
    }
    return nullptr;
  }

  RuleOutcome::Kind run_chain(const nft::Chain& chain, int depth) {
    for (const nft::Rule& rule : chain.rules) {
      RuleOutcome::Kind kind = run_rule(chain, rule, depth);
      if (kind == RuleOutcome::next) continue;
      if (kind == RuleOutcome::return_) return RuleOutcome::next;
      return kind;
    }
    return RuleOutcome::next;
  }

  // Enters `target` by jump or goto. Returns what the calling rule does next.
  RuleOutcome::Kind enter(const nft::Verdict& verdict, int depth) {
    const nft::Chain* target = find_chain(verdict.chain);
    if (!target || depth + 1 >= kMaxJumpDepth) {
      note("chain '" + verdict.chain + "' " + (target ? "nested too deep" : "does not exist") +
           ": the kernel would not have loaded this table; taken as drop");
      return RuleOutcome::drop;
    }
    RuleOutcome::Kind kind = run_chain(*target, depth + 1);
    if (kind == RuleOutcome::accept || kind == RuleOutcome::drop) return kind;
    // The end of a goto'd chain returns from the chain that went there.
    return verdict.kind == nft::VerdictKind::goto_ ? RuleOutcome::return_ : RuleOutcome::next;
  }

  RuleOutcome::Kind run_rule(const nft::Chain& chain, const nft::Rule& rule, int depth) {
    Step step;
    step.hook = state_.hook;
    step.chain = chain.name;
    step.location = rule.location.known() ? rule.location : chain.location;
    step.depth = depth;
    step.priority = state_.priority;
    std::vector<std::string> effects;
    auto record = [&](bool matched, std::string effect) {
      step.matched = matched;
      step.effect = std::move(effect);
      out_.steps.push_back(step);
    };
    auto joined = [&]() {
      std::string all;
      for (const std::string& e : effects) all += (all.empty() ? "" : "; ") + e;
      return all;
    };
    for (const nft::Statement& statement : rule.statements) {
      if (auto* match = std::get_if<nft::Match>(&statement)) {
        std::string why;
        if (!matches(*match, &why)) {
          record(false, why);
          return RuleOutcome::next;
        }
      } else if (auto* mangle = std::get_if<nft::Mangle>(&statement)) {
        Value v = eval(*mangle->value);
        uint32_t& target =
            mangle->target == Field::meta_mark ? state_.packet.mark : state_.packet.ct_mark;
        std::string name = mangle->target == Field::meta_mark ? "mark" : "ct mark";
        effects.push_back(name + " " + hex(target) + " -> " + hex(v.number));
        target = v.number;
      } else if (auto* counter = std::get_if<nft::Counter>(&statement)) {
        // The policy's `counter` action; the counter every rule has for
        // `ztc stats` says nothing about the packet.
        if (counter->name.empty()) effects.push_back("counted");
      } else if (auto* verdict = std::get_if<nft::Verdict>(&statement)) {
        return apply_verdict(*verdict, effects, record, joined, depth);
      } else if (auto* map = std::get_if<nft::VerdictMap>(&statement)) {
        Value key = eval(*map->key);
        for (const auto& [entry, verdict] : map->entries) {
          if (key.kind == Value::Kind::tuple || key.kind == Value::Kind::text ||
              key.kind == Value::Kind::number || key.kind == Value::Kind::address) {
            if (compare(key, *entry)) {
              effects.push_back(nft::format_statement(
                  table_.family, nft::Match{map->key, nft::MatchOp::eq, entry}));
              return apply_verdict(verdict, effects, record, joined, depth);
            }
          }
        }
        std::string left = nft::format_statement(
            table_.family, nft::Match{map->key, nft::MatchOp::eq, nft::integer(0)});
        left = readable(left.substr(0, left.rfind(' ')));
        if (key.kind == Value::Kind::unknown) note_unknown(key);
        record(false, left + " is " + value_text(key, true) + ": not in the verdict map");
        return RuleOutcome::next;
      } else if (auto* nat = std::get_if<nft::Nat>(&statement)) {
        effects.push_back(apply_nat(*nat));
        record(true, joined() + "; the connection is bound, which ends the chain (accept)");
        return RuleOutcome::accept;
      }
    }
    record(true, effects.empty() ? "no effect" : joined());
    return RuleOutcome::next;
  }

  template <typename Record, typename Joined>
  RuleOutcome::Kind apply_verdict(const nft::Verdict& verdict, std::vector<std::string>& effects,
                                  Record& record, Joined& joined, int depth) {
    switch (verdict.kind) {
      case nft::VerdictKind::accept:
        effects.push_back("accept");
        record(true, joined());
        return RuleOutcome::accept;
      case nft::VerdictKind::drop:
        effects.push_back("drop");
        record(true, joined());
        return RuleOutcome::drop;
      case nft::VerdictKind::return_:
        effects.push_back("return");
        record(true, joined());
        return RuleOutcome::return_;
      case nft::VerdictKind::jump:
      case nft::VerdictKind::goto_:
        effects.push_back(std::string(verdict.kind == nft::VerdictKind::jump ? "jump " : "goto ") +
                          verdict.chain);
        record(true, joined());
        return enter(verdict, depth);
    }
    return RuleOutcome::next;
  }

  std::string apply_nat(const nft::Nat& nat) {
    Value to = eval(*nat.address);
    std::string kind = nat.kind == nft::NatKind::dnat ? "dnat" : "snat";
    bool identity = std::holds_alternative<nft::FieldRef>(nat.address->value);
    std::string text;
    if (to.kind == Value::Kind::address) {
      if (nat.kind == nft::NatKind::dnat) {
        state_.packet.daddr = to.address;
      } else {
        state_.packet.saddr = to.address;
      }
      text = kind + " to " + to.address.address_str();
    } else {
      text = kind + " to " + value_text(to, false);
    }
    if (nat.port) {
      (nat.kind == nft::NatKind::dnat ? state_.packet.dport : state_.packet.sport) = *nat.port;
      text += ":" + std::to_string(*nat.port);
    }
    if (identity) text += " (addresses unchanged: no other nat chain rewrites this connection)";
    out_.nat.push_back(text);
    return text;
  }

  // --- reading fields
  Value field_value(Field field) const {
    const Packet& p = state_.packet;
    bool v4 = p.family() == IpFamily::v4;
    auto port = [&](const std::optional<uint16_t>& value, const char* name) {
      if (!p.protocol) return missing(Value::Kind::unknown, std::string("protocol not given"));
      if (*p.protocol != "tcp" && *p.protocol != "udp") {
        return missing(Value::Kind::absent, *p.protocol + " has no ports");
      }
      if (!value) return missing(Value::Kind::unknown, std::string(name) + " not given");
      return number(*value);
    };
    auto addr = [&](bool want_v4, const std::optional<IpPrefix>& value, const char* name) {
      if (want_v4 != v4) {
        return missing(Value::Kind::absent,
                       std::string("an ") + family_name(p.family()) + " packet has none");
      }
      if (!value) return missing(Value::Kind::unknown, std::string(name) + " not given");
      return address(*value);
    };
    switch (field) {
      case Field::iifname: return text(state_.iifname);
      case Field::oifname:
        if (!state_.oifname) {
          return missing(Value::Kind::unknown,
                         "output device not known (offline main-table route)");
        }
        return text(*state_.oifname);
      case Field::l4proto:
        if (!p.protocol) return missing(Value::Kind::unknown, "protocol not given");
        return text(*p.protocol);
      case Field::nfproto: return text(v4 ? "ipv4" : "ipv6");
      case Field::ip_saddr: return addr(true, p.saddr, "saddr");
      case Field::ip_daddr: return addr(true, p.daddr, "daddr");
      case Field::ip6_saddr: return addr(false, p.saddr, "saddr");
      case Field::ip6_daddr: return addr(false, p.daddr, "daddr");
      case Field::th_sport: return port(p.sport, "sport");
      case Field::th_dport: return port(p.dport, "dport");
      case Field::meta_mark: return number(p.mark, true);
      case Field::ct_mark: return number(p.ct_mark, true);
    }
    return Value{};
  }

  Value eval(const nft::Expr& expr) const {
    if (auto* f = std::get_if<nft::FieldRef>(&expr.value)) return field_value(f->field);
    if (auto* i = std::get_if<nft::Integer>(&expr.value)) return number(i->value, i->hex);
    if (auto* s = std::get_if<nft::String>(&expr.value)) return text(s->value);
    if (auto* s = std::get_if<nft::Symbol>(&expr.value)) return text(s->value);
    if (auto* a = std::get_if<nft::Address>(&expr.value)) {
      auto prefix = parse_ip_prefix(a->value);
      return prefix ? address(*prefix) : missing(Value::Kind::unknown, a->value);
    }
    if (auto* b = std::get_if<nft::BitAnd>(&expr.value)) {
      Value v = eval(*b->left);
      if (v.kind == Value::Kind::number) v.number &= b->mask;
      return v;
    }
    if (auto* b = std::get_if<nft::BitOr>(&expr.value)) {
      Value v = eval(*b->left);
      if (v.kind == Value::Kind::number) v.number |= b->bits;
      return v;
    }
    if (auto* c = std::get_if<nft::Concat>(&expr.value)) {
      Value v;
      v.kind = Value::Kind::tuple;
      for (const nft::ExprPtr& part : c->parts) {
        Value p = eval(*part);
        if (p.kind == Value::Kind::absent || p.kind == Value::Kind::unknown) return p;
        v.parts.push_back(p);
      }
      return v;
    }
    return missing(Value::Kind::unknown, "an expression explain does not read");
  }

  // --- comparing
  static bool name_matches(const std::string& pattern, const std::string& name) {
    // nft: a trailing `*` matches every name with that prefix.
    if (!pattern.empty() && pattern.back() == '*') {
      return name.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
    }
    return pattern == name;
  }

  bool element_matches(const Value& v, const std::string& element, const std::string& type) const {
    if (type == "ifname") {
      std::string name = element;
      if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
        name = name.substr(1, name.size() - 2);
      }
      return v.kind == Value::Kind::text && name_matches(name, v.text);
    }
    if (type == "ipv4_addr" || type == "ipv6_addr") {
      if (v.kind != Value::Kind::address) return false;
      size_t dash = element.find('-');
      if (dash != std::string::npos) {
        auto low = parse_ip_prefix(element.substr(0, dash));
        auto high = parse_ip_prefix(element.substr(dash + 1));
        return low && high && low->family == v.address.family && !(v.address < *low) &&
               !(*high < v.address);
      }
      auto prefix = parse_ip_prefix(element);
      return prefix && prefix_contains(*prefix, v.address);
    }
    if (v.kind != Value::Kind::number) return false;
    size_t dash = element.find('-');
    try {
      if (dash != std::string::npos) {
        return v.number >= std::stoul(element.substr(0, dash), nullptr, 0) &&
               v.number <= std::stoul(element.substr(dash + 1), nullptr, 0);
      }
      return v.number == std::stoul(element, nullptr, 0);
    } catch (const std::exception&) {
      return false;
    }
  }

  bool compare(const Value& v, const nft::Expr& right) const {
    if (auto* i = std::get_if<nft::Integer>(&right.value)) {
      return v.kind == Value::Kind::number && v.number == i->value;
    }
    if (auto* s = std::get_if<nft::String>(&right.value)) {
      return v.kind == Value::Kind::text && name_matches(s->value, v.text);
    }
    if (auto* s = std::get_if<nft::Symbol>(&right.value)) {
      return v.kind == Value::Kind::text && v.text == s->value;
    }
    if (auto* a = std::get_if<nft::Address>(&right.value)) {
      auto prefix = parse_ip_prefix(a->value);
      return v.kind == Value::Kind::address && prefix && prefix_contains(*prefix, v.address);
    }
    if (auto* r = std::get_if<nft::Range>(&right.value)) {
      return v.kind == Value::Kind::number && v.number >= r->low && v.number <= r->high;
    }
    if (auto* set = std::get_if<nft::AnonSet>(&right.value)) {
      return std::any_of(set->elements.begin(), set->elements.end(),
                         [&](const nft::ExprPtr& e) { return compare(v, *e); });
    }
    if (auto* ref = std::get_if<nft::SetRef>(&right.value)) {
      const nft::Set* set = nullptr;
      for (const nft::Set& s : table_.sets) {
        if (s.name == ref->name) set = &s;
      }
      if (!set) return false;
      auto members = members_.find(ref->name);
      if (members == members_.end()) return false;
      return std::any_of(members->second.begin(), members->second.end(),
                         [&](const std::string& e) { return element_matches(v, e, set->type); });
    }
    if (auto* c = std::get_if<nft::Concat>(&right.value)) {
      if (v.kind != Value::Kind::tuple || v.parts.size() != c->parts.size()) return false;
      for (size_t i = 0; i < v.parts.size(); ++i) {
        if (!compare(v.parts[i], *c->parts[i])) return false;
      }
      return true;
    }
    return false;
  }

  void note_unknown(const Value& v) {
    note(v.missing + ": rules that test it are taken as not matching");
  }

  bool matches(const nft::Match& match, std::string* why) {
    Value v = eval(*match.left);
    std::string left = nft::format_statement(
        table_.family, nft::Match{match.left, nft::MatchOp::eq, nft::integer(0)});
    left = left.substr(0, left.rfind(' '));
    if (left.size() > 3 && left.compare(left.size() - 3, 3, " ==") == 0) {
      left.resize(left.size() - 3);
    }
    std::string right = nft::format_statement(
        table_.family, nft::Match{nft::integer(0), nft::MatchOp::eq, match.right});
    right = readable(right.substr(right.find(' ') + 1));
    left = readable(left);
    if (v.kind == Value::Kind::absent) {
      *why = left + ": " + v.missing;
      return false;
    }
    if (v.kind == Value::Kind::unknown) {
      note_unknown(v);
      *why = left + ": " + v.missing + " (taken as not matching)";
      return false;
    }
    bool equal = compare(v, *match.right);
    bool is_set = std::holds_alternative<nft::AnonSet>(match.right->value) ||
                  std::holds_alternative<nft::SetRef>(match.right->value);
    bool quote = is_name_field(*match.left);
    if (match.op == nft::MatchOp::eq && !equal) {
      *why = left + " is " + value_text(v, quote) + (is_set ? ", not in " : ", not ") + right;
      return false;
    }
    if (match.op == nft::MatchOp::ne && equal) {
      *why = left + " is " + value_text(v, quote) + (is_set ? ", in " : "") +
             (is_set ? right : "") + " (the rule wants != " + right + ")";
      return false;
    }
    return true;
  }

  const nft::Table& table_;
  const route::Plan& plan_;
  const NodeFacts& facts_;
  std::map<std::string, std::vector<std::string>> members_;
  std::map<std::string, std::vector<std::string>> route_members_;
  PacketState state_;
  Explanation out_;
  bool applies_ = true;
};

}  // namespace

const char* verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::local: return "local";
    case Verdict::egress: return "egress";
    case Verdict::drop: return "drop";
    case Verdict::unreachable: return "unreachable";
  }
  return "egress";
}

Explanation explain(const nft::Table& table, const route::Plan& plan, const Packet& packet,
                    const NodeFacts& facts) {
  return Interpreter(table, plan, facts).run(packet);
}

}  // namespace ztc::explain
