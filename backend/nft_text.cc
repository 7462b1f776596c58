#include "backend/nft_text.h"

#include <cstdio>
#include <type_traits>
#include <utility>
#include <variant>

namespace ztc::nft {

namespace {

// Marks and masks print the way `nft list` prints them: 0x plus 8 digits.
std::string hex32(uint32_t value) {
  char buf[11];
  std::snprintf(buf, sizeof buf, "0x%08x", value);
  return buf;
}

const char* field_text(Field field) {
  switch (field) {
    case Field::iifname: return "iifname";
    case Field::oifname: return "oifname";
    case Field::l4proto: return "meta l4proto";
    case Field::nfproto: return "meta nfproto";
    case Field::ip_saddr: return "ip saddr";
    case Field::ip_daddr: return "ip daddr";
    case Field::ip6_saddr: return "ip6 saddr";
    case Field::ip6_daddr: return "ip6 daddr";
    case Field::th_sport: return "th sport";
    case Field::th_dport: return "th dport";
    case Field::meta_mark: return "meta mark";
    case Field::ct_mark: return "ct mark";
  }
  return "?";
}

std::string expr_text(const Expr& expr);

std::string list_text(const std::vector<ExprPtr>& items, const char* separator) {
  std::string text;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) text += separator;
    text += expr_text(*items[i]);
  }
  return text;
}

std::string expr_text(const Expr& expr) {
  return std::visit(
      [](const auto& e) -> std::string {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, FieldRef>) {
          return field_text(e.field);
        } else if constexpr (std::is_same_v<T, Integer>) {
          return e.hex ? hex32(e.value) : std::to_string(e.value);
        } else if constexpr (std::is_same_v<T, String>) {
          return quoted_string(e.value);
        } else if constexpr (std::is_same_v<T, Symbol> || std::is_same_v<T, Address>) {
          return e.value;
        } else if constexpr (std::is_same_v<T, SetRef>) {
          return "@" + e.name;
        } else if constexpr (std::is_same_v<T, AnonSet>) {
          return "{ " + list_text(e.elements, ", ") + " }";
        } else if constexpr (std::is_same_v<T, Concat>) {
          return list_text(e.parts, " . ");
        } else if constexpr (std::is_same_v<T, BitAnd>) {
          return expr_text(*e.left) + " & " + hex32(e.mask);
        } else if constexpr (std::is_same_v<T, Range>) {
          return std::to_string(e.low) + "-" + std::to_string(e.high);
        } else {
          static_assert(std::is_same_v<T, BitOr>);
          return expr_text(*e.left) + " | " + hex32(e.bits);
        }
      },
      expr.value);
}

bool is_set(const Expr& expr) {
  return std::holds_alternative<AnonSet>(expr.value) || std::holds_alternative<SetRef>(expr.value);
}

bool is_bitwise(const Expr& expr) {
  return std::holds_alternative<BitAnd>(expr.value) || std::holds_alternative<BitOr>(expr.value);
}

std::string match_text(const Match& match) {
  std::string text = expr_text(*match.left) + " ";
  if (match.op == MatchOp::ne) {
    text += "!= ";
  } else if (!is_set(*match.right) && is_bitwise(*match.left)) {
    // Without `==`, `meta mark & 0x200 0x200` would not parse; nft's own
    // listing prints `==` exactly in this case.
    text += "== ";
  }
  return text + expr_text(*match.right);
}

std::string verdict_text(const Verdict& verdict) {
  switch (verdict.kind) {
    case VerdictKind::accept: return "accept";
    case VerdictKind::drop: return "drop";
    case VerdictKind::return_: return "return";
    case VerdictKind::jump: return "jump " + verdict.chain;
    case VerdictKind::goto_: return "goto " + verdict.chain;
  }
  return "?";
}

std::string verdict_map_text(const VerdictMap& map) {
  std::string text = expr_text(*map.key) + " vmap { ";
  for (size_t i = 0; i < map.entries.size(); ++i) {
    if (i > 0) text += ", ";
    text += expr_text(*map.entries[i].first) + " : " + verdict_text(map.entries[i].second);
  }
  return text + " }";
}

std::string nat_text(Family table_family, const Nat& nat) {
  std::string text = nat.kind == NatKind::dnat ? "dnat " : "snat ";
  // nft 1.0.6 requires the family in inet tables and accepts it in ip/ip6
  // tables, where its listing leaves it out; print it where nft does.
  if (table_family == Family::inet) text += std::string(family_name(nat.family)) + " ";
  text += "to ";
  std::string address = expr_text(*nat.address);
  if (nat.port && nat.family == Family::ip6 &&
      std::holds_alternative<Address>(nat.address->value)) {
    address = "[" + address + "]";  // fd00::10:53 would be read as one address
  }
  text += address;
  if (nat.port) text += ":" + std::to_string(*nat.port);
  return text;
}

std::string statement_text(Family table_family, const Statement& statement) {
  return std::visit(
      [table_family](const auto& s) -> std::string {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, Match>) {
          return match_text(s);
        } else if constexpr (std::is_same_v<T, Mangle>) {
          return std::string(field_text(s.target)) + " set " + expr_text(*s.value);
        } else if constexpr (std::is_same_v<T, Counter>) {
          return s.name.empty() ? "counter" : "counter name " + quoted_string(s.name);
        } else if constexpr (std::is_same_v<T, Verdict>) {
          return verdict_text(s);
        } else if constexpr (std::is_same_v<T, VerdictMap>) {
          return verdict_map_text(s);
        } else {
          static_assert(std::is_same_v<T, Nat>);
          return nat_text(table_family, s);
        }
      },
      statement);
}

std::string element_text(const Element& element, bool with_comment) {
  if (!with_comment || element.comment.empty()) return element.value;
  return element.value + " comment " + quoted_string(element.comment);
}

std::string elements_text(const std::vector<Element>& elements, bool with_comments) {
  std::string text = "{ ";
  for (size_t i = 0; i < elements.size(); ++i) {
    if (i > 0) text += ", ";
    text += element_text(elements[i], with_comments);
  }
  return text + " }";
}

// Appends lines and their origins together so the two never drift apart.
class Printer {
 public:
  void line(const std::string& text, const Location& origin) {
    out_.text += text;
    out_.text += '\n';
    out_.line_origin.push_back(origin);
  }
  void blank() { line("", Location{}); }
  TextOutput take() { return std::move(out_); }

 private:
  TextOutput out_;
};

void print_set(Printer& p, const Set& set) {
  p.line("\tset " + set.name + " {", set.location);
  p.line("\t\ttype " + set.type, set.location);
  if (set.interval) p.line("\t\tflags interval", set.location);
  if (!set.comment.empty()) p.line("\t\tcomment " + quoted_string(set.comment), set.location);
  if (!set.elements.empty()) {
    p.line("\t\telements = " + elements_text(set.elements, true), set.location);
  }
  p.line("\t}", Location{});
}

// Values only when a load carries live ones over: a compiled table lists
// every counter at zero, as `nft -s` lists them.
void print_counter(Printer& p, const NamedCounter& counter) {
  p.line("\tcounter " + counter.name + " {", counter.location);
  if (counter.packets || counter.bytes) {
    p.line("\t\tpackets " + std::to_string(counter.packets) + " bytes " +
               std::to_string(counter.bytes),
           counter.location);
  }
  p.line("\t}", Location{});
}

void print_chain(Printer& p, Family family, const Chain& chain) {
  p.line("\tchain " + chain.name + " {", chain.location);
  // One `#` line per comment line: a newline inside the comment would
  // otherwise end the comment and be parsed as a statement.
  size_t begin = 0;
  while (begin < chain.comment.size()) {
    size_t end = chain.comment.find('\n', begin);
    if (end == std::string::npos) end = chain.comment.size();
    std::string text = chain.comment.substr(begin, end - begin);
    p.line(text.empty() ? "\t\t#" : "\t\t# " + text, chain.location);
    begin = end + 1;
  }
  if (chain.base) {
    p.line(std::string("\t\ttype ") + chain_type_name(chain.base->type) + " hook " +
               hook_name(chain.base->hook) + " priority " + std::to_string(chain.base->priority) +
               "; policy accept;",
           chain.location);
  }
  for (const Rule& rule : chain.rules) p.line("\t\t" + format_rule(family, rule), rule.location);
  p.line("\t}", Location{});
}

}  // namespace

std::string format_statement(Family table_family, const Statement& statement) {
  return statement_text(table_family, statement);
}

std::string format_rule(Family table_family, const Rule& rule) {
  std::string text;
  for (const Statement& statement : rule.statements) {
    if (!text.empty()) text += ' ';
    text += statement_text(table_family, statement);
  }
  return text;
}

TextOutput emit_text(const Table& table) {
  Printer p;
  // Creating the table first makes the delete succeed whether or not it
  // existed; all three commands are one transaction, so a failure anywhere
  // in the body leaves the previous table untouched.
  p.line("table " + table_spec(table.family, table.name) + " {}", table.location);
  p.line("delete table " + table_spec(table.family, table.name), table.location);
  p.line("table " + table_spec(table.family, table.name) + " {", table.location);
  p.line(std::string("\tcomment \"") + kOwnerComment + "\"", table.location);
  bool first_block = true;
  auto separate = [&] {
    if (!first_block) p.blank();
    first_block = false;
  };
  // Counters and sets first: rules refer to them by name.
  for (const NamedCounter& counter : table.counters) {
    separate();
    print_counter(p, counter);
  }
  for (const Set& set : table.sets) {
    separate();
    print_set(p, set);
  }
  for (const Chain& chain : table.chains) {
    separate();
    print_chain(p, table.family, chain);
  }
  p.line("}", Location{});
  return p.take();
}

std::string emit_set_elements_command(const Table& table, const Set& set,
                                      const std::vector<Element>& elements, bool add) {
  if (elements.empty()) return "";
  return std::string(add ? "add" : "delete") + " element " +
         object_spec(table.family, table.name, set.name) + " " + elements_text(elements, add) +
         "\n";
}

std::string restore_table_buffer(Family family, const std::string& name,
                                 const std::optional<std::string>& previous) {
  std::string table = table_spec(family, name);
  // `table X {}` first so that `delete table X` cannot fail when X is absent.
  std::string buffer = "table " + table + " {}\ndelete table " + table + "\n";
  if (previous) buffer += *previous;
  return buffer;
}

}  // namespace ztc::nft
