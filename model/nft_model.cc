#include "model/nft_model.h"

#include <utility>

namespace ztc::nft {

const char* family_name(Family family) {
  switch (family) {
    case Family::ip: return "ip";
    case Family::ip6: return "ip6";
    case Family::inet: return "inet";
  }
  return "ip";
}

std::string table_spec(Family family, const std::string& table) {
  return std::string(family_name(family)) + " " + table;
}

std::string object_spec(Family family, const std::string& table, const std::string& object) {
  return table_spec(family, table) + " " + object;
}

const char* hook_name(Hook hook) {
  switch (hook) {
    case Hook::prerouting: return "prerouting";
    case Hook::input: return "input";
    case Hook::forward: return "forward";
    case Hook::output: return "output";
    case Hook::postrouting: return "postrouting";
  }
  return "prerouting";
}

const char* chain_type_name(ChainType type) {
  switch (type) {
    case ChainType::filter: return "filter";
    case ChainType::route: return "route";
    case ChainType::nat: return "nat";
  }
  return "filter";
}

namespace {
ExprPtr make(decltype(Expr::value) value) {
  return std::make_shared<const Expr>(Expr{std::move(value)});
}
}  // namespace

ExprPtr field(Field f) { return make(FieldRef{f}); }
ExprPtr integer(uint32_t value, bool hex) { return make(Integer{value, hex}); }
ExprPtr string(std::string value) { return make(String{std::move(value)}); }
ExprPtr symbol(std::string value) { return make(Symbol{std::move(value)}); }
ExprPtr address(std::string value) { return make(Address{std::move(value)}); }
ExprPtr set_ref(std::string name) { return make(SetRef{std::move(name)}); }
ExprPtr anon_set(std::vector<ExprPtr> elements) { return make(AnonSet{std::move(elements)}); }
ExprPtr concat(std::vector<ExprPtr> parts) { return make(Concat{std::move(parts)}); }
ExprPtr bit_and(ExprPtr left, uint32_t mask) { return make(BitAnd{std::move(left), mask}); }
ExprPtr bit_or(ExprPtr left, uint32_t bits) { return make(BitOr{std::move(left), bits}); }
ExprPtr range(uint32_t low, uint32_t high) { return make(Range{low, high}); }

std::string quoted_string(const std::string& text) { return "\"" + text + "\""; }

}  // namespace ztc::nft
