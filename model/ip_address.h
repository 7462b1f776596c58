// IPv4/IPv6 addresses and prefixes, parsed strictly (inet_pton) and printed
// canonically, so that emitted text, netlink objects and kernel dumps compare.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ztc {

enum class IpFamily { v4, v6 };

const char* family_name(IpFamily family);  // "ipv4" / "ipv6"

struct IpPrefix {
  IpFamily family = IpFamily::v4;
  std::array<uint8_t, 16> bytes{};  // network order; v4 uses the first 4
  int length = 32;                  // prefix length; 32/128 for a host

  int max_length() const { return family == IpFamily::v4 ? 32 : 128; }
  bool is_host() const { return length == max_length(); }
  // True when no bit beyond the prefix length is set (10.0.0.0/8, not 10.0.0.1/8).
  bool is_network() const;
  // Address without length ("10.0.0.1") and with it unless a host ("10.0.0.0/8").
  std::string address_str() const;
  std::string str() const;

  friend bool operator==(const IpPrefix& a, const IpPrefix& b) {
    return a.family == b.family && a.length == b.length && a.bytes == b.bytes;
  }
  friend bool operator<(const IpPrefix& a, const IpPrefix& b);
};

// "10.0.0.1", "10.0.0.0/8", "fd00::1", "fd00::/64". nullopt on anything else.
std::optional<IpPrefix> parse_ip_prefix(std::string_view text);

// What an address that no pod can have is ("a loopback address"): unspecified
// (0.0.0.0/8, ::), loopback (127.0.0.0/8, ::1), link-local (169.254.0.0/16,
// fe80::/10), multicast (224.0.0.0/4, ff00::/8) or the broadcast address.
// nullopt for any other address.
std::optional<std::string> non_pod_address_class(const IpPrefix& address);

}  // namespace ztc
