#include "backend/nft_json.h"

#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>
#include <type_traits>
#include <variant>

namespace ztc::nft {
namespace {

// ordered_json keeps keys in the order written (family, table, name, ...),
// like `nft -j list`, which makes golden files readable.
using json = nlohmann::ordered_json;

json meta(const char* key) { return {{"meta", {{"key", key}}}}; }
json payload(const char* protocol, const char* field) {
  return {{"payload", {{"protocol", protocol}, {"field", field}}}};
}

json field_json(Field field) {
  switch (field) {
    case Field::iifname: return meta("iifname");
    case Field::oifname: return meta("oifname");
    case Field::l4proto: return meta("l4proto");
    case Field::nfproto: return meta("nfproto");
    case Field::ip_saddr: return payload("ip", "saddr");
    case Field::ip_daddr: return payload("ip", "daddr");
    case Field::ip6_saddr: return payload("ip6", "saddr");
    case Field::ip6_daddr: return payload("ip6", "daddr");
    case Field::th_sport: return payload("th", "sport");
    case Field::th_dport: return payload("th", "dport");
    case Field::meta_mark: return meta("mark");
    case Field::ct_mark: return {{"ct", {{"key", "mark"}}}};
  }
  return nullptr;
}

// "10.0.0.0/8" becomes a prefix object, the form `nft -j list` prints.
json address_json(const std::string& text) {
  size_t slash = text.find('/');
  if (slash == std::string::npos) return text;
  return {
      {"prefix", {{"addr", text.substr(0, slash)}, {"len", std::atoi(text.c_str() + slash + 1)}}}};
}

json expr_json(const Expr& expr);

json list_json(const std::vector<ExprPtr>& items) {
  json list = json::array();
  for (const ExprPtr& item : items) list.push_back(expr_json(*item));
  return list;
}

json expr_json(const Expr& expr) {
  return std::visit(
      [](const auto& e) -> json {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, FieldRef>) {
          return field_json(e.field);
        } else if constexpr (std::is_same_v<T, Integer>) {
          return e.value;
        } else if constexpr (std::is_same_v<T, String> || std::is_same_v<T, Symbol>) {
          return e.value;
        } else if constexpr (std::is_same_v<T, Address>) {
          return address_json(e.value);
        } else if constexpr (std::is_same_v<T, SetRef>) {
          return "@" + e.name;
        } else if constexpr (std::is_same_v<T, AnonSet>) {
          return {{"set", list_json(e.elements)}};
        } else if constexpr (std::is_same_v<T, Concat>) {
          return {{"concat", list_json(e.parts)}};
        } else if constexpr (std::is_same_v<T, BitAnd>) {
          return {{"&", json::array({expr_json(*e.left), e.mask})}};
        } else if constexpr (std::is_same_v<T, Range>) {
          return {{"range", json::array({e.low, e.high})}};
        } else {
          static_assert(std::is_same_v<T, BitOr>);
          return {{"|", json::array({expr_json(*e.left), e.bits})}};
        }
      },
      expr.value);
}

json verdict_json(const Verdict& verdict) {
  switch (verdict.kind) {
    case VerdictKind::accept: return {{"accept", nullptr}};
    case VerdictKind::drop: return {{"drop", nullptr}};
    case VerdictKind::return_: return {{"return", nullptr}};
    case VerdictKind::jump: return {{"jump", {{"target", verdict.chain}}}};
    case VerdictKind::goto_: return {{"goto", {{"target", verdict.chain}}}};
  }
  return nullptr;
}

json statement_json(Family table_family, const Statement& statement) {
  return std::visit(
      [table_family](const auto& s) -> json {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, Match>) {
          return {{"match",
                   {{"op", s.op == MatchOp::eq ? "==" : "!="},
                    {"left", expr_json(*s.left)},
                    {"right", expr_json(*s.right)}}}};
        } else if constexpr (std::is_same_v<T, Mangle>) {
          return {{"mangle", {{"key", field_json(s.target)}, {"value", expr_json(*s.value)}}}};
        } else if constexpr (std::is_same_v<T, Counter>) {
          if (s.name.empty()) return {{"counter", nullptr}};  // anonymous, starting at zero
          return {{"counter", s.name}};
        } else if constexpr (std::is_same_v<T, Verdict>) {
          return verdict_json(s);
        } else if constexpr (std::is_same_v<T, VerdictMap>) {
          json entries = json::array();
          for (const auto& [key, verdict] : s.entries) {
            // json::array, not braces: {"a", x} would become the object {"a": x}.
            entries.push_back(json::array({expr_json(*key), verdict_json(verdict)}));
          }
          return {{"vmap", {{"key", expr_json(*s.key)}, {"data", {{"set", entries}}}}}};
        } else {
          static_assert(std::is_same_v<T, Nat>);
          json nat = {{"addr", expr_json(*s.address)}};
          // Same rule as the text emitter: the family only where nft needs it.
          if (table_family == Family::inet) nat["family"] = family_name(s.family);
          if (s.port) nat["port"] = *s.port;
          return {{s.kind == NatKind::dnat ? "dnat" : "snat", nat}};
        }
      },
      statement);
}

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// One part of an element as nft prints it: "istioin" (quoted) is a string,
// 6081 and 0x200 are numbers, a/8 a prefix, a-b a range, the rest symbols
// and addresses that nft parses by the set's type.
json element_part_json(std::string_view text) {
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    return std::string(text.substr(1, text.size() - 2));
  }
  if (all_digits(text)) return std::stoull(std::string(text));
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    return std::stoull(std::string(text), nullptr, 16);
  }
  if (size_t dash = text.find('-'); dash != std::string_view::npos) {
    return {{"range", json::array({element_part_json(text.substr(0, dash)),
                                   element_part_json(text.substr(dash + 1))})}};
  }
  return address_json(std::string(text));
}

// Concatenations print as "tcp . 6081".
json element_value_json(std::string_view text) {
  constexpr std::string_view kDot = " . ";
  if (text.find(kDot) == std::string_view::npos) return element_part_json(text);
  json parts = json::array();
  size_t begin = 0;
  while (true) {
    size_t dot = text.find(kDot, begin);
    parts.push_back(element_part_json(text.substr(begin, dot - begin)));
    if (dot == std::string_view::npos) break;
    begin = dot + kDot.size();
  }
  return {{"concat", parts}};
}

json element_json(const Element& element) {
  json value = element_value_json(element.value);
  if (element.comment.empty()) return value;
  return {{"elem", {{"val", value}, {"comment", element.comment}}}};
}

// "ipv4_addr . inet_service" is a concatenated type: a list in JSON.
json set_type_json(const std::string& type) {
  constexpr std::string_view kDot = " . ";
  if (type.find(kDot) == std::string::npos) return type;
  json parts = json::array();
  size_t begin = 0;
  while (true) {
    size_t dot = type.find(kDot, begin);
    parts.push_back(type.substr(begin, dot - begin));
    if (dot == std::string::npos) break;
    begin = dot + kDot.size();
  }
  return parts;
}

}  // namespace

std::string emit_json(const Table& table) {
  const char* family = family_name(table.family);
  json table_id = {{"family", family}, {"name", table.name}};
  json commands = json::array();
  commands.push_back({{"metainfo", {{"json_schema_version", 1}}}});
  // Add-then-delete makes the delete succeed whether or not the table
  // existed; the whole list is one transaction.
  commands.push_back({{"add", {{"table", table_id}}}});
  commands.push_back({{"delete", {{"table", table_id}}}});
  // No owner comment and no set comments: nft 1.0.6 ignores them in JSON.
  commands.push_back({{"add", {{"table", table_id}}}});

  for (const NamedCounter& counter : table.counters) {
    commands.push_back({{"add",
                         {{"counter",
                           {{"family", family},
                            {"table", table.name},
                            {"name", counter.name},
                            {"packets", counter.packets},
                            {"bytes", counter.bytes}}}}}});
  }
  for (const Set& set : table.sets) {
    json object = {{"family", family},
                   {"table", table.name},
                   {"name", set.name},
                   {"type", set_type_json(set.type)}};
    if (set.interval) object["flags"] = json::array({"interval"});
    if (!set.elements.empty()) {
      json elements = json::array();
      for (const Element& element : set.elements) elements.push_back(element_json(element));
      object["elem"] = std::move(elements);
    }
    commands.push_back({{"add", {{"set", std::move(object)}}}});
  }
  // Every chain before any rule: rules may jump to chains printed later.
  for (const Chain& chain : table.chains) {
    json object = {{"family", family}, {"table", table.name}, {"name", chain.name}};
    if (chain.base) {
      object["type"] = chain_type_name(chain.base->type);
      object["hook"] = hook_name(chain.base->hook);
      object["prio"] = chain.base->priority;
      object["policy"] = "accept";
    }
    commands.push_back({{"add", {{"chain", std::move(object)}}}});
  }
  for (const Chain& chain : table.chains) {
    for (const Rule& rule : chain.rules) {
      json expressions = json::array();
      for (const Statement& statement : rule.statements) {
        expressions.push_back(statement_json(table.family, statement));
      }
      commands.push_back({{"add",
                           {{"rule",
                             {{"family", family},
                              {"table", table.name},
                              {"chain", chain.name},
                              {"expr", std::move(expressions)}}}}}});
    }
  }
  return json{{"nftables", std::move(commands)}}.dump(2) + "\n";
}

}  // namespace ztc::nft
