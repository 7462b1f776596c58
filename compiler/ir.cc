#include "compiler/ir.h"

namespace ztc::ir {

namespace {
struct TypeEntry {
  ValueType type;
  const char* name;
};
constexpr TypeEntry kTypes[] = {
    {ValueType::ifname, "ifname"},   {ValueType::ipv4, "ipv4"},   {ValueType::ipv6, "ipv6"},
    {ValueType::ipv4net, "ipv4net"}, {ValueType::ipv6net, "ipv6net"},
    {ValueType::port, "port"},       {ValueType::u32, "u32"},
};
}  // namespace

const char* type_name(ValueType type) {
  for (const TypeEntry& entry : kTypes) {
    if (entry.type == type) return entry.name;
  }
  return "?";
}

std::optional<ValueType> parse_type_name(const std::string& name) {
  for (const TypeEntry& entry : kTypes) {
    if (name == entry.name) return entry.type;
  }
  return std::nullopt;
}

}  // namespace ztc::ir
