// Typed values given as text: -D parameters, set elements from the policy and
// from `ztc set add/del/sync`. One parser for all of them, so the command
// line accepts exactly what a policy would.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace ztc {

// Types of parameters and set elements.
enum class ValueType { ifname, ipv4, ipv6, ipv4net, ipv6net, port, u32 };
const char* type_name(ValueType type);
std::optional<ValueType> parse_type_name(const std::string& name);

// The value in canonical form (addresses printed by inet_ntop, numbers in
// decimal), or nullopt with a short reason ("not an IPv4 address").
std::optional<std::string> canonical_value(ValueType type, const std::string& text,
                                           std::string* error);

bool valid_ifname(const std::string& name);
bool valid_comment(const std::string& text);

// A mark, mask or bit set as `ip rule` and nft print it: 0x100.
std::string hex(uint32_t value);

// NAME=VALUE (a -D parameter, an environment entry) split at the first '=';
// the value may be empty, the name not. nullopt when there is no name.
std::optional<std::pair<std::string, std::string>> split_name_value(const std::string& text);

}  // namespace ztc
