#include "backend/routing_text.h"

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <utility>

#include "backend/netns.h"
#include "testsupport/test_netns.h"

namespace ztc::route {
namespace {

IpPrefix prefix(const char* text) {
  std::optional<IpPrefix> parsed = parse_ip_prefix(text);
  BOOST_REQUIRE_MESSAGE(parsed, text);
  return *parsed;
}

Rule lookup_rule(uint32_t priority, uint32_t table) {
  Rule rule;
  rule.priority = priority;
  rule.table = table;
  return rule;
}

Rule fwmark_rule(uint32_t priority, uint32_t mark, uint32_t table) {
  Rule rule = lookup_rule(priority, table);
  rule.fwmark = mark;
  rule.fwmask = mark;
  return rule;
}

Rule goto_main_rule(uint32_t priority, uint32_t mark) {
  Rule rule = fwmark_rule(priority, mark, 0);
  rule.action = RuleAction::goto_;
  rule.goto_priority = kMainRulePriority;
  return rule;
}

Route route_to(const char* destination, uint32_t table) {
  Route route;
  route.destination = prefix(destination);
  route.family = route.destination.family;
  route.table = table;
  return route;
}

Route gateway_route(const char* destination, const char* via, const char* device, uint32_t table) {
  Route route = route_to(destination, table);
  route.via = prefix(via);
  route.device = device;
  return route;
}

Route link_route(const char* destination, const char* device, uint32_t table) {
  Route route = route_to(destination, table);
  route.device = device;
  route.scope = Scope::link;
  return route;
}

// The routing of an ambient node (reference/SEMANTICS.md), both families.
Plan ambient_plan() {
  Plan plan;
  plan.rules = {goto_main_rule(100, 0x200), fwmark_rule(101, 0x100, 101),
                fwmark_rule(102, 0x40, 102), lookup_rule(103, 100)};
  plan.routes = {gateway_route("0.0.0.0/0", "192.168.127.2", "istioout", 101),
                 link_route("10.244.1.2", "veth1", 101)};
  Route onlink = gateway_route("0.0.0.0/0", "10.244.1.2", "veth1", 102);
  onlink.onlink = true;
  plan.routes.push_back(onlink);
  DerivedRoutes pods;
  pods.set = "pods";
  pods.route = gateway_route("0.0.0.0/0", "192.168.126.2", "istioin", 100);
  pods.route.source = prefix("10.244.1.1");
  plan.derived.push_back(pods);
  plan.sysctls = {{"net.ipv4.conf.istioin.rp_filter", "0", {}},
                  {"net.ipv6.conf.istioin.accept_ra", "0", {}}};

  Rule rule6 = goto_main_rule(100, 0x200);
  rule6.family = IpFamily::v6;
  plan.rules.push_back(rule6);
  plan.routes.push_back(gateway_route("::/0", "fd00:127::2", "istioout", 101));
  Route metric6 = link_route("fd00:244::2", "veth1", 101);
  metric6.metric = 10;
  plan.routes.push_back(metric6);
  return plan;
}

const char* const kAmbientV4 =
    "# sysctl net.ipv4.conf.istioin.rp_filter=0\n"
    "route add default via 192.168.127.2 dev istioout table 101 proto 122\n"
    "route add 10.244.1.2 dev veth1 table 101 scope link proto 122\n"
    "route add default via 10.244.1.2 dev veth1 table 102 onlink proto 122\n"
    "# for each member of @pods: route add <member> via 192.168.126.2 dev istioin table 100 src "
    "10.244.1.1 proto 123\n"
    "rule add priority 100 fwmark 0x200/0x200 goto 32766 protocol 122\n"
    "rule add priority 101 fwmark 0x100/0x100 lookup 101 protocol 122\n"
    "rule add priority 102 fwmark 0x40/0x40 lookup 102 protocol 122\n"
    "rule add priority 103 lookup 100 protocol 122\n";

const char* const kAmbientV6 =
    "# sysctl net.ipv6.conf.istioin.accept_ra=0\n"
    "route add default via fd00:127::2 dev istioout table 101 proto 122\n"
    "route add fd00:244::2 dev veth1 table 101 scope link metric 10 proto 122\n"
    "rule add priority 100 fwmark 0x200/0x200 goto 32766 protocol 122\n";

// --- kernel helpers: everything runs inside a namespace the test created.

// `ip ARGS` inside the namespace; fails the test unless it succeeds.
std::string ip(const ScopedTestNetns& netns, const std::string& args) {
  CommandResult result = netns.run("ip " + args);
  BOOST_REQUIRE_MESSAGE(result.exit_code == 0, "ip " << args << ": " << result.output);
  return result.output;
}

// `ip FLAGS -batch FILE` inside the namespace, FILE holding `text`.
CommandResult batch(const ScopedTestNetns& netns, const std::string& flags,
                    const std::string& text) {
  char path[] = "/tmp/ztc-emit-route-XXXXXX";
  int fd = mkstemp(path);
  BOOST_REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << text;
  CommandResult result = netns.run("ip " + flags + " -batch " + path);
  std::remove(path);
  return result;
}
// The ambient node's devices: veth pairs (this kernel has no dummy driver)
// named like the node side, with the addresses the gateways need.
void add_ambient_devices(const ScopedTestNetns& netns) {
  const char* const devices[][4] = {
      {"istioin", "192.168.126.1/30", "fd00:126::1/64", "pistioin"},
      {"istioout", "192.168.127.1/30", "fd00:127::1/64", "pistioout"},
      {"veth1", "10.244.1.1/24", "fd00:244::1/64", "pveth1"},
  };
  for (const auto& [device, v4, v6, peer] : devices) {
    ip(netns, std::string("link add ") + device + " type veth peer name " + peer);
    ip(netns, std::string("link set ") + peer + " up");
    ip(netns, std::string("link set ") + device + " up");
    ip(netns, std::string("addr add ") + v4 + " dev " + device);
    ip(netns, std::string("addr add ") + v6 + " dev " + device + " nodad");
  }
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(routing_text)

BOOST_AUTO_TEST_CASE(rule_arguments) {
  BOOST_TEST(rule_args(goto_main_rule(100, 0x200)) ==
             "priority 100 fwmark 0x200/0x200 goto 32766 protocol 122");
  BOOST_TEST(rule_args(fwmark_rule(101, 0x100, 101)) ==
             "priority 101 fwmark 0x100/0x100 lookup 101 protocol 122");
  BOOST_TEST(rule_args(lookup_rule(103, 100)) == "priority 103 lookup 100 protocol 122");

  Rule selectors = lookup_rule(98, kTableMain);
  selectors.from = prefix("10.0.0.0/8");
  selectors.iif = "istioin";
  selectors.fwmark = 0x240;  // no mask: the kernel's default, all bits
  BOOST_TEST(rule_args(selectors) ==
             "priority 98 from 10.0.0.0/8 iif istioin fwmark 0x240 lookup main protocol 122");

  Rule host = lookup_rule(97, kTableLocal);
  host.family = IpFamily::v6;
  host.from = prefix("fd00::1");
  BOOST_TEST(rule_args(host) == "priority 97 from fd00::1 lookup local protocol 122");
  BOOST_TEST(rule_args(lookup_rule(96, kTableDefault)) ==
             "priority 96 lookup default protocol 122");
}

BOOST_AUTO_TEST_CASE(route_arguments) {
  BOOST_TEST(route_args(gateway_route("0.0.0.0/0", "192.168.127.2", "istioout", 101)) ==
             "default via 192.168.127.2 dev istioout table 101 proto 122");
  BOOST_TEST(route_args(link_route("10.244.1.2", "veth1", 101)) ==
             "10.244.1.2 dev veth1 table 101 scope link proto 122");

  Route full = gateway_route("10.0.0.0/8", "10.244.1.2", "veth1", kTableMain);
  full.onlink = true;
  full.source = prefix("10.244.1.1");
  full.metric = 7;
  BOOST_TEST(route_args(full) ==
             "10.0.0.0/8 via 10.244.1.2 dev veth1 table main src 10.244.1.1 metric 7 onlink "
             "proto 122");

  // ip would make this scope link; the model says global.
  Route device_only = route_to("10.9.0.0/16", 104);
  device_only.device = "veth1";
  BOOST_TEST(route_args(device_only) == "10.9.0.0/16 dev veth1 table 104 scope global proto 122");
  Route host_scope = link_route("10.9.9.9", "veth1", 104);
  host_scope.scope = Scope::host;
  BOOST_TEST(route_args(host_scope) == "10.9.9.9 dev veth1 table 104 scope host proto 122");

  BOOST_TEST(route_args(gateway_route("::/0", "fd00::2", "istioout", 101)) ==
             "default via fd00::2 dev istioout table 101 proto 122");
  Route device_only6 = route_to("fd00:9::/64", 104);
  device_only6.device = "veth1";
  BOOST_TEST(route_args(device_only6) == "fd00:9::/64 dev veth1 table 104 proto 122");
}

BOOST_AUTO_TEST_CASE(batch_of_one_family) {
  BOOST_TEST(emit_batch(ambient_plan(), IpFamily::v4) == kAmbientV4);
  BOOST_TEST(emit_batch(ambient_plan(), IpFamily::v6) == kAmbientV6);
}

BOOST_AUTO_TEST_CASE(batch_of_both_families) {
  BOOST_TEST(emit_batch(ambient_plan()) ==
             std::string("# ip -4 -batch -\n") + kAmbientV4 + "# ip -6 -batch -\n" + kAmbientV6);
  Plan v6_only;
  v6_only.rules.push_back(ambient_plan().rules.back());
  BOOST_TEST(
      emit_batch(v6_only) ==
      "# ip -6 -batch -\nrule add priority 100 fwmark 0x200/0x200 goto 32766 protocol 122\n");
  BOOST_TEST(emit_batch(Plan{}) == "");
}

BOOST_AUTO_TEST_CASE(batches_apply_in_a_namespace, *boost::unit_test::label("kernel")) {
  ScopedTestNetns netns("ztc-emit-route");
  add_ambient_devices(netns);
  Plan plan = ambient_plan();
  Route device_only = route_to("10.9.0.0/16", 104);
  device_only.device = "veth1";
  plan.routes.push_back(device_only);

  CommandResult v4 = batch(netns, "-4", emit_batch(plan, IpFamily::v4));
  BOOST_REQUIRE_MESSAGE(v4.exit_code == 0, v4.output);
  CommandResult v6 = batch(netns, "-6", emit_batch(plan, IpFamily::v6));
  BOOST_REQUIRE_MESSAGE(v6.exit_code == 0, v6.output);

  std::string rules4 = ip(netns, "-4 rule show");
  BOOST_TEST(contains(rules4, "100:\tfrom all fwmark 0x200/0x200 goto 32766 proto 122\n"), rules4);
  BOOST_TEST(contains(rules4, "101:\tfrom all fwmark 0x100/0x100 lookup 101 proto 122\n"), rules4);
  BOOST_TEST(contains(rules4, "102:\tfrom all fwmark 0x40/0x40 lookup 102 proto 122\n"), rules4);
  BOOST_TEST(contains(rules4, "103:\tfrom all lookup 100 proto 122\n"), rules4);
  std::string rules6 = ip(netns, "-6 rule show");
  BOOST_TEST(contains(rules6, "100:\tfrom all fwmark 0x200/0x200 goto 32766 proto 122\n"), rules6);

  std::string table101 = ip(netns, "-4 route show table 101");
  BOOST_TEST(contains(table101, "default via 192.168.127.2 dev istioout proto 122 \n"), table101);
  BOOST_TEST(contains(table101, "10.244.1.2 dev veth1 proto 122 scope link \n"), table101);
  std::string table102 = ip(netns, "-4 route show table 102");
  BOOST_TEST(contains(table102, "default via 10.244.1.2 dev veth1 proto 122 onlink \n"), table102);
  // No `scope link` in the listing: the route is scope global, as modelled.
  std::string table104 = ip(netns, "-4 route show table 104");
  BOOST_TEST(contains(table104, "10.9.0.0/16 dev veth1 proto 122 \n"), table104);
  std::string table101v6 = ip(netns, "-6 route show table 101");
  BOOST_TEST(contains(table101v6, "fd00:244::2 dev veth1 proto 122 metric 10 "), table101v6);
  BOOST_TEST(contains(table101v6, "default via fd00:127::2 dev istioout proto 122 "), table101v6);

  // The derived-route comment is a usable template: fill in a member.
  std::string v4_text = emit_batch(plan, IpFamily::v4);
  const std::string marker = "# for each member of @pods: ";
  size_t begin = v4_text.find(marker);
  BOOST_REQUIRE(begin != std::string::npos);
  begin += marker.size();
  std::string command = v4_text.substr(begin, v4_text.find('\n', begin) - begin);
  command.replace(command.find("<member>"), 8, "10.244.1.5");
  CommandResult derived = batch(netns, "-4", command + "\n");
  BOOST_REQUIRE_MESSAGE(derived.exit_code == 0, derived.output);
  std::string table100 = ip(netns, "-4 route show table 100");
  BOOST_TEST(
      contains(table100, "10.244.1.5 via 192.168.126.2 dev istioin proto 123 src 10.244.1.1 \n"),
      table100);
}

// A plan without IPv6 entries is one batch that plain `ip -batch` takes,
// header and comment lines included.
BOOST_AUTO_TEST_CASE(ipv4_plan_is_one_plain_batch, *boost::unit_test::label("kernel")) {
  ScopedTestNetns netns("ztc-emit-route");
  add_ambient_devices(netns);
  Plan plan = ambient_plan();
  plan.rules.pop_back();
  plan.routes.resize(3);
  plan.sysctls.pop_back();
  std::string text = emit_batch(plan);
  BOOST_REQUIRE(text.find("# ip -6") == std::string::npos);
  CommandResult applied = batch(netns, "", text);
  BOOST_REQUIRE_MESSAGE(applied.exit_code == 0, applied.output);
  std::string rules = ip(netns, "-4 rule show");
  BOOST_TEST(contains(rules, "103:\tfrom all lookup 100 proto 122\n"), rules);
  // `rule add` and `route add` refuse what exists (EEXIST): applying the
  // batch again, past every error, duplicates nothing.
  BOOST_TEST(batch(netns, "-force", text).exit_code != 0);
  std::string again = ip(netns, "-4 rule show");
  BOOST_TEST(again == rules);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc::route
