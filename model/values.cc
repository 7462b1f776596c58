#include "model/values.h"

#include <algorithm>
#include <cstdio>

#include "model/ip_address.h"

namespace ztc {

namespace {
struct TypeEntry {
  ValueType type;
  const char* name;
};
constexpr TypeEntry kTypes[] = {
    {ValueType::ifname, "ifname"},   {ValueType::ipv4, "ipv4"},       {ValueType::ipv6, "ipv6"},
    {ValueType::ipv4net, "ipv4net"}, {ValueType::ipv6net, "ipv6net"}, {ValueType::port, "port"},
    {ValueType::u32, "u32"},
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

// Linux: at most 15 bytes, no '/', ':' or whitespace, not "." or "..". ztc
// also refuses '"' (nft strings have no escape for it), '#' (`ip -batch`
// drops everything after it), and '*' and '\', which nft reads as a prefix
// wildcard and an escape: `iifname "u*"` matches every interface starting
// with u, while routes and sysctls would use the literal name.
bool valid_ifname(const std::string& name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return c == '/' || c == ':' || c == '"' || c == '#' || c == '*' || c == '\\' || byte <= 0x20 ||
           byte >= 0x7f;
  });
}

// Element comments are printed inside nft double quotes, which have no escape.
bool valid_comment(const std::string& text) {
  return text.size() <= 128 && std::none_of(text.begin(), text.end(), [](char c) {
           auto byte = static_cast<unsigned char>(c);
           return c == '"' || byte < 0x20 || byte == 0x7f;
         });
}

std::optional<std::string> canonical_value(ValueType type, const std::string& text,
                                           std::string* error) {
  switch (type) {
    case ValueType::ifname:
      if (!valid_ifname(text)) {
        *error =
            "not an interface name (1 to 15 characters; no '/', ':', '\"', '#', '*', '\\' or "
            "spaces)";
        return std::nullopt;
      }
      return text;
    case ValueType::ipv4:
    case ValueType::ipv6:
    case ValueType::ipv4net:
    case ValueType::ipv6net: {
      bool v4 = type == ValueType::ipv4 || type == ValueType::ipv4net;
      bool net = type == ValueType::ipv4net || type == ValueType::ipv6net;
      auto prefix = parse_ip_prefix(text);
      if (!prefix || (prefix->family == IpFamily::v4) != v4) {
        *error = std::string("not an ") + (v4 ? "IPv4" : "IPv6") + (net ? " prefix" : " address");
        return std::nullopt;
      }
      if (!net && !prefix->is_host()) {
        *error = "a prefix where an address is required";
        return std::nullopt;
      }
      if (!prefix->is_network()) {
        *error = "host bits set beyond the prefix length";
        return std::nullopt;
      }
      return prefix->str();
    }
    case ValueType::port:
    case ValueType::u32: {
      uint64_t number = 0;
      bool ok = !text.empty() && text.size() <= 10;
      for (char c : text) {
        if (c < '0' || c > '9') ok = false;
        if (ok) number = number * 10 + (c - '0');
      }
      uint64_t max = type == ValueType::port ? 65535 : 0xffffffffu;
      if (!ok || number > max || (type == ValueType::port && number == 0)) {
        *error = type == ValueType::port ? "not a port (1 to 65535)" : "not a 32-bit number";
        return std::nullopt;
      }
      return std::to_string(number);
    }
  }
  return std::nullopt;
}

std::string hex(uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%x", value);
  return text;
}

std::optional<std::pair<std::string, std::string>> split_name_value(const std::string& text) {
  size_t equals = text.find('=');
  if (equals == std::string::npos || equals == 0) return std::nullopt;
  return std::make_pair(text.substr(0, equals), text.substr(equals + 1));
}

}  // namespace ztc
