#include "model/ip_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <tuple>

namespace ztc {

const char* family_name(IpFamily family) { return family == IpFamily::v4 ? "ipv4" : "ipv6"; }

bool IpPrefix::is_network() const {
  int total = max_length();
  for (int bit = length; bit < total; ++bit) {
    if (bytes[bit / 8] & (0x80 >> (bit % 8))) return false;
  }
  return true;
}

std::string IpPrefix::address_str() const {
  if (family == IpFamily::v4) {
    // By hand: glibc's inet_ntop formats IPv4 with sprintf, a third of the
    // checker's time for a set of 100k addresses.
    char buf[16];
    char* out = buf;
    for (int i = 0; i < 4; ++i) {
      unsigned octet = bytes[i];
      if (i > 0) *out++ = '.';
      if (octet >= 100) *out++ = static_cast<char>('0' + octet / 100);
      if (octet >= 10) *out++ = static_cast<char>('0' + octet / 10 % 10);
      *out++ = static_cast<char>('0' + octet % 10);
    }
    return std::string(buf, out);
  }
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

std::string IpPrefix::str() const {
  if (is_host()) return address_str();
  return address_str() + "/" + std::to_string(length);
}

bool operator<(const IpPrefix& a, const IpPrefix& b) {
  return std::tie(a.family, a.bytes, a.length) < std::tie(b.family, b.bytes, b.length);
}

std::optional<IpPrefix> parse_ip_prefix(std::string_view text) {
  std::string_view address = text;
  std::optional<int> length;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    address = text.substr(0, slash);
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    int value = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + (c - '0');
    }
    length = value;
  }
  if (address.empty() || address.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  // inet_pton stops at a NUL: "10.0.0.1\0junk" must not pass as 10.0.0.1.
  if (address.find('\0') != std::string_view::npos) return std::nullopt;
  std::string copy(address);
  IpPrefix prefix;
  if (inet_pton(AF_INET, copy.c_str(), prefix.bytes.data()) == 1) {
    prefix.family = IpFamily::v4;
  } else if (inet_pton(AF_INET6, copy.c_str(), prefix.bytes.data()) == 1) {
    prefix.family = IpFamily::v6;
  } else {
    return std::nullopt;
  }
  prefix.length = length.value_or(prefix.max_length());
  if (prefix.length > prefix.max_length()) return std::nullopt;
  return prefix;
}

std::optional<std::string> non_pod_address_class(const IpPrefix& address) {
  const auto& b = address.bytes;
  if (address.family == IpFamily::v4) {
    if (b[0] == 0) return "an unspecified address";
    if (b[0] == 127) return "a loopback address";
    if (b[0] == 169 && b[1] == 254) return "a link-local address";
    if ((b[0] & 0xf0) == 224) return "a multicast address";
    if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255) return "the broadcast address";
    return std::nullopt;
  }
  bool zero_to_14 = std::all_of(b.begin(), b.begin() + 15, [](uint8_t byte) { return byte == 0; });
  if (zero_to_14 && b[15] == 0) return "an unspecified address";
  if (zero_to_14 && b[15] == 1) return "a loopback address";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "a link-local address";
  if (b[0] == 0xff) return "a multicast address";
  return std::nullopt;
}

}  // namespace ztc
