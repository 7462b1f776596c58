// IPv4/IPv6 addresses and prefixes: strict parsing, canonical printing (the
// way nft and iproute2 print them, so dumps compare), and is_network.
#include "model/ip_address.h"

#include <arpa/inet.h>

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

namespace ztc {
namespace {

BOOST_AUTO_TEST_SUITE(ip_address)

struct GoodCase {
  std::string text;
  IpFamily family;
  std::string str;      // canonical, with /len unless a host
  std::string address;  // canonical, never with /len
  int length;
  bool network;
  bool host;
};

BOOST_AUTO_TEST_CASE(parses_and_prints_canonically) {
  using F = IpFamily;
  const std::vector<GoodCase> cases = {
      {"10.0.0.1", F::v4, "10.0.0.1", "10.0.0.1", 32, true, true},
      {"10.0.0.0/8", F::v4, "10.0.0.0/8", "10.0.0.0", 8, true, false},
      {"10.0.0.1/8", F::v4, "10.0.0.1/8", "10.0.0.1", 8, false, false},
      {"10.0.0.0/32", F::v4, "10.0.0.0", "10.0.0.0", 32, true, true},
      {"0.0.0.0/0", F::v4, "0.0.0.0/0", "0.0.0.0", 0, true, false},
      {"10.0.0.0/0", F::v4, "10.0.0.0/0", "10.0.0.0", 0, false, false},
      {"255.255.255.255", F::v4, "255.255.255.255", "255.255.255.255", 32, true, true},
      {"192.168.126.0/30", F::v4, "192.168.126.0/30", "192.168.126.0", 30, true, false},
      {"fd00::1", F::v6, "fd00::1", "fd00::1", 128, true, true},
      {"FD00:0:0::1", F::v6, "fd00::1", "fd00::1", 128, true, true},
      {"0:0:0:0:0:0:0:1", F::v6, "::1", "::1", 128, true, true},
      {"fd00::/64", F::v6, "fd00::/64", "fd00::", 64, true, false},
      {"fd00::1/64", F::v6, "fd00::1/64", "fd00::1", 64, false, false},
      {"fd00::/128", F::v6, "fd00::", "fd00::", 128, true, true},
      {"::/0", F::v6, "::/0", "::", 0, true, false},
      {"::", F::v6, "::", "::", 128, true, true},
      {"::ffff:10.0.0.1", F::v6, "::ffff:10.0.0.1", "::ffff:10.0.0.1", 128, true, true},
      // RFC 5952: the first of two equal runs of zeros is the one shortened.
      {"2001:db8:0:0:1:0:0:1", F::v6, "2001:db8::1:0:0:1", "2001:db8::1:0:0:1", 128, true, true},
      {"fd00:10:244:1::2", F::v6, "fd00:10:244:1::2", "fd00:10:244:1::2", 128, true, true},
  };
  for (const GoodCase& c : cases) {
    BOOST_TEST_CONTEXT(c.text) {
      auto prefix = parse_ip_prefix(c.text);
      BOOST_REQUIRE(prefix.has_value());
      BOOST_TEST(static_cast<int>(prefix->family) == static_cast<int>(c.family));
      BOOST_TEST(prefix->str() == c.str);
      BOOST_TEST(prefix->address_str() == c.address);
      BOOST_TEST(prefix->length == c.length);
      BOOST_TEST(prefix->is_network() == c.network);
      BOOST_TEST(prefix->is_host() == c.host);
      BOOST_TEST(prefix->max_length() == (c.family == F::v4 ? 32 : 128));
      // Printing and parsing again gives the same value.
      auto again = parse_ip_prefix(prefix->str());
      BOOST_REQUIRE(again.has_value());
      BOOST_TEST((*again == *prefix));
    }
  }
}

BOOST_AUTO_TEST_CASE(rejects) {
  const std::vector<std::string> cases = {
      "",
      "10.0.0.256",
      "256.0.0.1",
      "10.0.0.0/33",
      "fd00::/129",
      "1.2.3",
      "1.2.3.4.5",
      "10.0.0.1/",
      "/8",
      "/",
      "10.0.0.1/a",
      "10.0.0.1/-1",
      "10.0.0.0/+8",
      "10.0.0.1/1000",
      "10.0.0.1/8/8",
      "10.0.0.0 /8",
      "010.0.0.1",  // leading zeros: octal to some parsers
      " 10.0.0.1",
      "10.0.0.1 ",
      "fd00:::1",
      "1:2:3:4:5:6:7:8:9",
      "fd00::1%eth0",
      "fd00::g",
      "10.0.0.1:53",
      "eth0",
      "localhost",
      "0x0a000001",
      std::string(200, '1'),
  };
  for (const std::string& text : cases) {
    BOOST_TEST_CONTEXT("'" << text << "'") { BOOST_TEST(!parse_ip_prefix(text).has_value()); }
  }
}

// A string literal can hold any byte; what follows a NUL must not be ignored.
BOOST_AUTO_TEST_CASE(rejects_embedded_nul) {
  BOOST_TEST(!parse_ip_prefix(std::string_view("10.0.0.1\0evil", 13)).has_value());
  BOOST_TEST(!parse_ip_prefix(std::string_view("fd00::1\0", 8)).has_value());
  BOOST_TEST(!parse_ip_prefix(std::string_view("10.0.0.0/8\0", 11)).has_value());
}

struct NetworkCase {
  std::string text;
  bool network;
};

// No bit set past the prefix length, checked at odd bit boundaries.
BOOST_AUTO_TEST_CASE(is_network_at_bit_boundaries) {
  const std::vector<NetworkCase> cases = {
      {"10.0.0.0/7", true},     {"11.0.0.0/7", false},     {"10.0.0.128/25", true},
      {"10.0.0.129/25", false}, {"10.0.0.64/25", false},   {"10.0.0.2/31", true},
      {"10.0.0.1/31", false},   {"10.0.0.1/32", true},     {"128.0.0.0/1", true},
      {"192.0.0.0/1", false},   {"fd00::8000:0/97", true}, {"fd00::4000:0/97", false},
      {"fd00::/8", true},       {"fd01::/15", false},      {"fd00::1/127", false},
      {"fd00::2/127", true},    {"::1/0", false},          {"::/1", true},
  };
  for (const NetworkCase& c : cases) {
    BOOST_TEST_CONTEXT(c.text) {
      auto prefix = parse_ip_prefix(c.text);
      BOOST_REQUIRE(prefix.has_value());
      BOOST_TEST(prefix->is_network() == c.network);
    }
  }
}

BOOST_AUTO_TEST_CASE(equality_and_order) {
  auto p = [](const char* text) { return *parse_ip_prefix(text); };
  BOOST_TEST((p("10.0.0.1") == p("10.0.0.1/32")));
  BOOST_TEST(!(p("10.0.0.0/8") == p("10.0.0.0/16")));
  BOOST_TEST(!(p("10.0.0.1") == p("10.0.0.2")));
  BOOST_TEST((p("fd00::1") == p("FD00:0::1")));
  // An IPv4 address and its IPv4-mapped IPv6 form differ.
  BOOST_TEST(!(p("10.0.0.1") == p("::ffff:10.0.0.1")));
  // Order: IPv4 before IPv6, then by address bytes, then by length.
  BOOST_TEST((p("255.255.255.255") < p("::")));
  BOOST_TEST(!(p("::") < p("255.255.255.255")));
  BOOST_TEST((p("9.0.0.0") < p("10.0.0.0")));
  BOOST_TEST((p("10.0.0.0/8") < p("10.0.0.0/16")));
  BOOST_TEST(!(p("10.0.0.1") < p("10.0.0.1")));
}

BOOST_AUTO_TEST_CASE(ipv4_text_is_inet_ntops) {
  // address_str formats IPv4 by hand: every octet value in every position.
  for (int position = 0; position < 4; ++position) {
    for (int value = 0; value < 256; ++value) {
      IpPrefix prefix;
      prefix.family = IpFamily::v4;
      prefix.length = 32;
      prefix.bytes[position] = static_cast<uint8_t>(value);
      prefix.bytes[3 - position] = static_cast<uint8_t>(255 - value);
      char expected[INET_ADDRSTRLEN] = {};
      inet_ntop(AF_INET, prefix.bytes.data(), expected, sizeof expected);
      BOOST_TEST(prefix.address_str() == expected);
    }
  }
  BOOST_TEST(parse_ip_prefix("10.128.0.0/9")->str() == "10.128.0.0/9");
}

BOOST_AUTO_TEST_CASE(family_names) {
  BOOST_TEST(std::string(family_name(IpFamily::v4)) == "ipv4");
  BOOST_TEST(std::string(family_name(IpFamily::v6)) == "ipv6");
}

BOOST_AUTO_TEST_CASE(addresses_no_pod_can_have_are_classified_to_the_boundary) {
  auto what = [](const char* text) {
    std::optional<IpPrefix> address = parse_ip_prefix(text);
    BOOST_REQUIRE_MESSAGE(address, text);
    return non_pod_address_class(*address).value_or("a pod's");
  };
  const std::vector<std::pair<const char*, const char*>> cases = {
      {"0.0.0.0", "an unspecified address"},
      {"0.255.255.255", "an unspecified address"},
      {"1.0.0.0", "a pod's"},
      {"126.255.255.255", "a pod's"},
      {"127.0.0.1", "a loopback address"},
      {"127.255.255.254", "a loopback address"},
      {"128.0.0.1", "a pod's"},
      {"169.253.255.255", "a pod's"},
      {"169.254.0.1", "a link-local address"},
      {"169.255.0.1", "a pod's"},
      {"223.255.255.255", "a pod's"},
      {"224.0.0.0", "a multicast address"},
      {"239.255.255.255", "a multicast address"},
      {"240.0.0.1", "a pod's"},
      {"255.255.255.254", "a pod's"},
      {"255.255.255.255", "the broadcast address"},
      {"::", "an unspecified address"},
      {"::1", "a loopback address"},
      {"::2", "a pod's"},
      {"fe7f::1", "a pod's"},
      {"fe80::1", "a link-local address"},
      {"febf:ffff::1", "a link-local address"},
      {"fec0::1", "a pod's"},
      {"fd00::1", "a pod's"},
      {"ff00::", "a multicast address"},
      {"ff02::1", "a multicast address"},
      {"feff::1", "a pod's"},
      {"1::", "a pod's"},
  };
  for (const auto& [text, expected] : cases) BOOST_TEST(what(text) == expected, text);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc
