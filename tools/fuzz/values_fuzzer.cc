// libFuzzer target: typed values given as text, as `-D NAME=VALUE` and as
// set elements take them.
//   1. canonical_value for every ir::ValueType on the whole input; an accepted
//      value is a fixed point (canonicalising it again gives it back).
//   2. The input split at '\n' overrides the parameters of a small fixed
//      policy that uses each of them everywhere it can (sets, routes, rules,
//      ports, marks, dnat); lines past the seventh are raw NAME=VALUE
//      overrides. Then the compiled policy is emitted, as in policy_fuzzer.
//   3. Accepted values become the elements of a managed set of their type,
//      printed as `ztc set add/del` would.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "backend/nft_json.h"
#include "backend/nft_text.h"
#include "backend/routing_text.h"
#include "compiler/compile.h"
#include "model/values.h"

namespace {

using ztc::ir::ValueType;

constexpr ValueType kTypes[] = {ValueType::ifname,  ValueType::ipv4,    ValueType::ipv6,
                                ValueType::ipv4net, ValueType::ipv6net, ValueType::port,
                                ValueType::u32};
const char* const kParams[] = {"p_ifname",  "p_ipv4", "p_ipv6", "p_ipv4net",
                               "p_ipv6net", "p_port", "p_u32"};

const char kPolicy[] =
    "param p_ifname: ifname = \"veth0\"\n"
    "param p_ipv4: ipv4 = 10.0.0.1\n"
    "param p_ipv6: ipv6 = fd00::1\n"
    "param p_ipv4net: ipv4net = 10.1.0.0/16\n"
    "param p_ipv6net: ipv6net = fd01::/64\n"
    "param p_port: port = 8080\n"
    "param p_u32: u32 = 4096\n"
    "table inet fuzz\n"
    "mark m = p_u32\n"
    "iface dev0 = p_ifname\n"
    "group devs = { p_ifname, \"lo\" }\n"
    "addr a4 = p_ipv4\n"
    "addr n6 = p_ipv6net\n"
    "set s4: ipv4 = { p_ipv4, 192.0.2.1 comment \"x\" }\n"
    "set s6: ipv6 = { p_ipv6 }\n"
    "set n4: ipv4net = { p_ipv4net, 198.51.100.0/24 }\n"
    "set n6s: ipv6net = { p_ipv6net }\n"
    "set ports: ipv4 managed\n"
    "bypass tcp p_port, 1-p_port\n"
    "capture prerouting {\n"
    "  iif dev0 saddr a4 => mark |= m, return\n"
    "  iif devs daddr @n4 => counter\n"
    "  saddr p_ipv6, n6 tcp dport p_port => mark = m\n"
    "  saddr @s6 => ct save m\n"
    "  bypass => return\n"
    "}\n"
    "nat prerouting {\n"
    "  udp dport 53 daddr p_ipv4net => dnat to p_ipv4:p_port\n"
    "  tcp dport 53 => dnat to [p_ipv6]:p_port\n"
    "}\n"
    "rule 100 from p_ipv4net iif dev0 fwmark m lookup p_u32\n"
    "rule ipv6 101 from p_ipv6net lookup 100\n"
    "route p_u32 { default via p_ipv4 dev dev0 src p_ipv4 metric 10\n"
    "              p_ipv4net dev dev0 scope link }\n"
    "route ipv6 100 { p_ipv6net via p_ipv6 dev dev0 onlink }\n"
    "route 100 for ports { member via p_ipv4 dev dev0 }\n"
    "sysctl dev0, all { rp_filter = 0 }\n";

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (out.size() < 32) {
    size_t end = text.find('\n', start);
    out.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ztc;
  const std::string input(reinterpret_cast<const char*>(data), size);

  // 1. Every type on the whole input; canonical values are fixed points.
  for (ValueType type : kTypes) {
    std::string error;
    auto value = canonical_value(type, input, &error);
    if (!value) {
      if (error.empty()) __builtin_trap();  // a refusal always says why
      continue;
    }
    std::string again_error;
    auto again = canonical_value(type, *value, &again_error);
    if (!again || *again != *value) __builtin_trap();
  }

  // 2. Overrides of the fixed policy.
  std::vector<std::string> lines = split_lines(input);
  Overrides overrides;
  std::vector<nft::Element> elements[7];
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i < 7) {
      overrides.emplace_back(kParams[i], lines[i]);
      std::string error;
      if (auto value = canonical_value(kTypes[i], lines[i], &error)) {
        // Interface names are nft strings: quoted, as the checker prints them.
        std::string element = kTypes[i] == ValueType::ifname ? "\"" + *value + "\"" : *value;
        elements[i].push_back(nft::Element{element, valid_comment(lines[i]) ? lines[i] : ""});
      }
    } else {
      size_t eq = lines[i].find('=');
      overrides.emplace_back(lines[i].substr(0, eq),
                             eq == std::string::npos ? "" : lines[i].substr(eq + 1));
    }
  }
  MemoryFileSystem files;
  files.add("values.zt", kPolicy);
  Diagnostics diagnostics;
  auto compiled = compile_policy("values.zt", files, overrides, diagnostics);
  std::string out = diagnostics.render();
  if (!compiled) {
    if (!diagnostics.has_errors()) __builtin_trap();
    return 0;
  }
  out += nft::emit_text(compiled->table).text;
  out += nft::emit_json(compiled->table);
  out += route::emit_batch(compiled->routing);

  // 3. Accepted values as managed-set members, as `ztc set add/del` prints them.
  const char* const nft_types[] = {"ifname",    "ipv4_addr",    "ipv6_addr", "ipv4_addr",
                                   "ipv6_addr", "inet_service", "mark"};
  for (size_t i = 0; i < 7; ++i) {
    if (elements[i].empty()) continue;
    nft::Set set{std::string("m_") + kParams[i], nft_types[i], false, true, {}, {}};
    out += nft::emit_set_elements_command(compiled->table, set, elements[i], true);
    out += nft::emit_set_elements_command(compiled->table, set, elements[i], false);
  }
  return 0;
}
