#include "backend/routing_reconciler.h"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <memory>
#include <string>
#include <vector>

#include "backend/netns.h"
#include "backend/routing_kernel.h"
#include "backend/sysctl.h"
#include "testsupport/fake_routing_kernel.h"
#include "testsupport/test_netns.h"

namespace ztc::route {
namespace {

IpPrefix ip(const std::string& text) {
  std::optional<IpPrefix> prefix = parse_ip_prefix(text);
  BOOST_REQUIRE_MESSAGE(prefix, "bad address in test: " << text);
  return *prefix;
}

// A policy file so that diagnostics render with a line and a caret.
struct Policy {
  std::shared_ptr<const SourceFile> file = std::make_shared<SourceFile>(
      "policy.zt",
      "rule 100 fwmark skip goto main\n"                                  // 1
      "rule 101 fwmark outbound lookup 101\n"                             // 2
      "route 101 { default via 192.168.127.2 dev istioout }\n"            // 3
      "route 101 { 10.244.1.2 dev veth1 scope link }\n"                   // 4
      "route 100 for pods { member via 192.168.126.2 dev istioin }\n"     // 5
      "sysctl net.ipv4.conf.istioin.rp_filter = 0\n"                      // 6
      "route 102 { default via 10.244.1.2 dev veth1 onlink }\n");         // 7
  Location at(int line) const { return Location{file, line, 1}; }
};

Rule goto_rule(const Policy& policy) {
  Rule rule;
  rule.priority = 100;
  rule.fwmark = 0x200;
  rule.fwmask = 0x200;
  rule.action = RuleAction::goto_;
  rule.goto_priority = kMainRulePriority;
  rule.location = policy.at(1);
  return rule;
}

Rule lookup_rule(const Policy& policy, uint32_t table = 101) {
  Rule rule;
  rule.priority = 101;
  rule.fwmark = 0x100;
  rule.fwmask = 0x100;
  rule.table = table;
  rule.location = policy.at(2);
  return rule;
}

Route route(const std::string& destination, std::optional<std::string> via, std::string device,
            uint32_t table, Location location) {
  Route r;
  r.table = table;
  r.destination = ip(destination);
  if (via) r.via = ip(*via);
  r.device = device;
  r.location = std::move(location);
  return r;
}

Plan base_plan(const Policy& policy) {
  Plan plan;
  plan.rules = {goto_rule(policy), lookup_rule(policy)};
  plan.routes.push_back(route("0.0.0.0/0", "192.168.127.2", "istioout", 101, policy.at(3)));
  Route link = route("10.244.1.2", std::nullopt, "veth1", 101, policy.at(4));
  link.scope = Scope::link;
  plan.routes.push_back(link);
  plan.sysctls.push_back({"net.ipv4.conf.istioin.rp_filter", "0", policy.at(6)});
  return plan;
}

std::vector<Route> pod_routes(const Policy& policy, const std::vector<std::string>& pods) {
  std::vector<Route> routes;
  for (const std::string& pod : pods) {
    Route r = route(pod, "192.168.126.2", "istioin", 100, policy.at(5));
    r.source = ip("10.244.1.1");
    r.member = true;
    routes.push_back(r);
  }
  return routes;
}

FakeRoutingKernel node() {
  FakeRoutingKernel kernel;
  for (const char* device : {"istioin", "istioout", "veth1", "eth0"}) kernel.add_device(device);
  kernel.set_sysctl("net.ipv4.conf.istioin.rp_filter", "1");
  return kernel;
}

// Everything the fake holds, owner included, in kernel order: for "exactly the
// previous state" comparisons.
std::vector<std::string> snapshot(const FakeRoutingKernel& kernel) {
  std::vector<std::string> state;
  for (const auto& stored : kernel.all_rules()) {
    state.push_back(describe(stored.rule) + " proto " + std::to_string(stored.protocol));
  }
  for (const auto& stored : kernel.all_routes()) {
    state.push_back(describe(stored.route) + " proto " + std::to_string(stored.protocol));
  }
  for (const auto& [key, value] : kernel.sysctls()) state.push_back(key + "=" + value);
  return state;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(routing_reconciler)

BOOST_AUTO_TEST_CASE(sysctl_keys_map_to_paths_with_dotted_interface_names) {
  std::string error;
  BOOST_TEST(sysctl_path("net.ipv4.conf.istioin.rp_filter", &error).value_or("") ==
             "/proc/sys/net/ipv4/conf/istioin/rp_filter");
  BOOST_TEST(sysctl_path("net.ipv4.conf.eth0.100.rp_filter", &error).value_or("") ==
             "/proc/sys/net/ipv4/conf/eth0.100/rp_filter");
  BOOST_TEST(sysctl_path("net.ipv6.conf.veth/1.accept_ra", &error).value_or("") ==
             "/proc/sys/net/ipv6/conf/veth.1/accept_ra");
  BOOST_TEST(sysctl_path("net.ipv4.ip_forward", &error).value_or("") ==
             "/proc/sys/net/ipv4/ip_forward");
  BOOST_TEST(!sysctl_path("kernel.panic", &error));
  BOOST_TEST(error == "sysctl key 'kernel.panic' is not a net.* key");
  BOOST_TEST(!sysctl_path("net.ipv4.conf....rp_filter", &error));
  BOOST_TEST(!sysctl_path("net.ipv4..ip_forward", &error));
  BOOST_TEST(sysctl_interface("net.ipv4.conf.eth0.100.rp_filter").value_or("") == "eth0.100");
  BOOST_TEST(!sysctl_interface("net.ipv4.conf.all.rp_filter"));
  BOOST_TEST(!sysctl_interface("net.ipv4.conf.default.rp_filter"));
  BOOST_TEST(!sysctl_interface("net.ipv4.ip_forward"));
  BOOST_TEST(sysctl_values_equal("4096\t16384  4194304\n", "4096 16384 4194304"));
  BOOST_TEST(!sysctl_values_equal("1", "0"));
}

BOOST_AUTO_TEST_CASE(first_load_writes_everything_and_second_writes_nothing) {
  Policy policy;
  FakeRoutingKernel kernel = node();
  Plan plan = base_plan(policy);
  auto pods = pod_routes(policy, {"10.244.1.5", "10.244.1.6"});

  ReconcileResult first = reconcile(kernel, plan, pods, false);
  BOOST_TEST_REQUIRE(first.ok, first.diagnostics.render());
  BOOST_TEST(kernel.writes() == 7);  // 1 sysctl + 4 routes + 2 rules
  BOOST_TEST(kernel.all_rules().size() == 2u);
  BOOST_TEST(kernel.all_routes().size() == 4u);
  BOOST_TEST(kernel.sysctls().at("net.ipv4.conf.istioin.rp_filter") == "0");
  BOOST_TEST(first.applied.size() == 7u);

  kernel.reset_writes();
  ReconcileResult second = reconcile(kernel, plan, pods, false);
  BOOST_TEST_REQUIRE(second.ok, second.diagnostics.render());
  BOOST_TEST(kernel.writes() == 0);
  BOOST_TEST(second.kernel_writes == 0);
  BOOST_TEST(!second.changed());
  BOOST_TEST(second.diff_text() == "");
}

BOOST_AUTO_TEST_CASE(keeping_members_leaves_member_routes_alone_and_repairs_the_rest) {
  Policy policy;
  FakeRoutingKernel kernel = node();
  Plan plan = base_plan(policy);
  DerivedRoutes members;
  members.set = "pods";
  members.route = pod_routes(policy, {"0.0.0.0"})[0];
  members.location = policy.at(5);
  plan.derived.push_back(members);
  // A static route in the member routes' table, on their device and with
  // their gateway: a static route, not a member's, because the plan says so.
  Route lookalike = pod_routes(policy, {"10.244.9.9"})[0];
  lookalike.member = false;
  plan.routes.push_back(lookalike);
  BOOST_TEST_REQUIRE(
      reconcile(kernel, plan, pod_routes(policy, {"10.244.1.5", "10.244.1.6"}), false).ok);
  // Drift: a member route, a static route and a rule go; a stale static route comes.
  BOOST_TEST_REQUIRE(!kernel.delete_route(pod_routes(policy, {"10.244.1.6"})[0]));
  BOOST_TEST_REQUIRE(!kernel.delete_route(plan.routes[0]));
  BOOST_TEST_REQUIRE(!kernel.delete_route(lookalike));
  BOOST_TEST_REQUIRE(!kernel.delete_rule(plan.rules[1]));
  BOOST_TEST_REQUIRE(!kernel.add_route(route("10.99.0.0/16", std::nullopt, "eth0", 101, {})));
  kernel.reset_writes();

  // Only the new member route (of a declared element the set lacked) is written.
  std::vector<Route> fresh = pod_routes(policy, {"10.244.1.7"});
  ReconcileResult check = reconcile_keeping_members(kernel, plan, fresh, true);
  BOOST_TEST_REQUIRE(check.ok, check.diagnostics.render());
  BOOST_TEST(kernel.writes() == 0);
  BOOST_TEST(check.diff_text() ==
             "+ -4 route default via 192.168.127.2 dev istioout table 101\n"
             "+ -4 route 10.244.9.9 via 192.168.126.2 dev istioin src 10.244.1.1 table 100\n"
             "+ -4 route 10.244.1.7 via 192.168.126.2 dev istioin src 10.244.1.1 table 100\n"
             "+ -4 rule prio 101 fwmark 0x100/0x100 lookup 101\n"
             "- -4 route 10.99.0.0/16 dev eth0 table 101\n");
  apply_planned(kernel, &check);
  BOOST_TEST_REQUIRE(check.ok, check.diagnostics.render());
  BOOST_TEST(kernel.writes() == 5);
  BOOST_TEST(check.applied.size() == 5u);
  // 10.244.1.6's route stays missing: member routes are `set sync`'s to repair.
  // The next re-load: 10.244.1.7 is a member now, so no new member route.
  ReconcileResult again = reconcile_keeping_members(kernel, plan, {}, true);
  BOOST_TEST(!again.changed());
  ReconcileResult all =
      reconcile(kernel, plan, pod_routes(policy, {"10.244.1.5", "10.244.1.6", "10.244.1.7"}), true);
  BOOST_TEST(all.diff_text() ==
             "+ -4 route 10.244.1.6 via 192.168.126.2 dev istioin src 10.244.1.1 table 100\n");
}

// A node an older ztc loaded holds member routes tagged as static routes
// (122): a re-load that keeps members says so and plans nothing; the whole
// reconcile re-tags each in place (replace, no gap); a member's delete finds
// the old tag.
BOOST_AUTO_TEST_CASE(member_routes_an_older_ztc_wrote_are_retagged_by_a_whole_reconcile) {
  Policy policy;
  FakeRoutingKernel kernel = node();
  Plan plan = base_plan(policy);
  DerivedRoutes members;
  members.set = "pods";
  members.route = pod_routes(policy, {"0.0.0.0"})[0];
  members.location = policy.at(5);
  plan.derived.push_back(members);
  BOOST_TEST_REQUIRE(reconcile(kernel, plan, {}, false).ok);
  std::vector<Route> pods = pod_routes(policy, {"10.244.1.5", "10.244.1.6"});
  for (Route old : pods) {
    old.member = false;
    kernel.add_foreign_route(old, kZtcProtocol);
  }
  const size_t logged = kernel.log().size();
  ReconcileResult check = reconcile_keeping_members(kernel, plan, {}, true);
  BOOST_TEST(check.untagged_member_routes);
  BOOST_TEST(check.planned.empty());
  ReconcileResult whole = reconcile(kernel, plan, pods, false);
  BOOST_TEST_REQUIRE(whole.ok, whole.diagnostics.render());
  BOOST_TEST(std::vector<std::string>(kernel.log().begin() + logged, kernel.log().end()) ==
                 (std::vector<std::string>{
                     "replace -4 route 10.244.1.5 via 192.168.126.2 dev istioin src 10.244.1.1 "
                     "table 100",
                     "replace -4 route 10.244.1.6 via 192.168.126.2 dev istioin src 10.244.1.1 "
                     "table 100"}),
             boost::test_tools::per_element());
  // One line each: the text is the same, the protocol is not.
  BOOST_TEST(whole.diff_text() ==
             "~ -4 route 10.244.1.5 via 192.168.126.2 dev istioin src 10.244.1.1 table 100 "
             "proto 122 -> 123\n"
             "~ -4 route 10.244.1.6 via 192.168.126.2 dev istioin src 10.244.1.1 table 100 "
             "proto 122 -> 123\n");
  for (const FakeRoutingKernel::StoredRoute& stored : kernel.all_routes()) {
    if (stored.route.table == 100) BOOST_TEST(stored.protocol == kMemberRouteProtocol);
  }
  BOOST_TEST(!reconcile_keeping_members(kernel, plan, {}, true).untagged_member_routes);

  // One still tagged 122 (a set command's delete on a node not yet re-loaded).
  Route old = pod_routes(policy, {"10.244.1.7"})[0];
  old.member = false;
  kernel.add_foreign_route(old, kZtcProtocol);
  Change remove;
  remove.kind = Change::Kind::delete_route;
  remove.subject = pod_routes(policy, {"10.244.1.7"})[0];
  ReconcileResult removed;
  execute(kernel, {remove}, &removed);
  BOOST_TEST(removed.ok, removed.diagnostics.render());
  BOOST_TEST(kernel.all_routes().size() == 2u + base_plan(policy).routes.size());
}

BOOST_AUTO_TEST_CASE(kernel_defaults_compare_equal) {
  // Read back from a kernel: fwmask filled in, metric 0, `from all` as 0.0.0.0/0.
  Policy policy;
  Rule plain = lookup_rule(policy);
  plain.fwmask.reset();
  Rule read = plain;
  read.fwmask = 0xffffffff;
  read.from = ip("0.0.0.0/0");
  read.location = {};
  BOOST_TEST(same_rule(plain, read));
  Route wanted = route("10.0.0.0/8", "192.168.127.2", "istioout", 101, policy.at(3));
  Route kernel_route = wanted;
  kernel_route.metric = 0;
  BOOST_TEST(same_route(wanted, kernel_route));
  kernel_route.metric = 5;
  BOOST_TEST(!same_route(wanted, kernel_route));
  Route v6 = route("fd00::/64", "fd00::1", "eth0", 101, policy.at(3));
  v6.family = IpFamily::v6;
  v6.scope = Scope::link;  // IPv6 has no route scopes: the kernel reports global
  Route v6_read = v6;
  v6_read.scope = Scope::global;
  v6_read.metric = 1024;
  BOOST_TEST(same_route(v6, v6_read));
}

BOOST_AUTO_TEST_CASE(rule_delete_requests_match_like_the_kernel) {
  Policy policy;
  Rule marked = lookup_rule(policy);  // prio 101 fwmark 0x100/0x100 lookup 101
  Rule plain = marked;
  plain.fwmark.reset();
  plain.fwmask.reset();
  BOOST_TEST(rule_delete_matches(plain, marked));   // no fwmark in the request: any
  BOOST_TEST(!rule_delete_matches(marked, plain));
  Rule other_table = plain;
  other_table.table = 102;
  BOOST_TEST(!rule_delete_matches(other_table, marked));
  Rule goto_other = goto_rule(policy);
  goto_other.goto_priority = 32000;
  BOOST_TEST(rule_delete_matches(goto_other, goto_rule(policy)));  // target not compared
  Rule from = plain;
  from.from = ip("10.0.0.0/8");
  BOOST_TEST(!rule_delete_matches(from, marked));
  BOOST_TEST(rule_delete_matches(plain, from));
}

BOOST_AUTO_TEST_CASE(unchanged_hundred_thousand_pods_make_no_write) {
  // The kernel already holds every route; keyed matching keeps this linear-ish
  // (a quadratic match would take minutes here).
  struct Preloaded : FakeRoutingKernel {
    std::vector<Route> routes;
    KernelError list_routes(std::vector<Route>* out) override {
      *out = routes;
      return std::nullopt;
    }
  } kernel;
  kernel.add_device("istioin");
  Policy policy;
  std::vector<Route> pods;
  for (int i = 0; i < 100000; ++i) {
    std::string pod = "10." + std::to_string(i / 65536 + 100) + "." +
                      std::to_string(i / 256 % 256) + "." + std::to_string(i % 256);
    Route r = route(pod, "192.168.126.2", "istioin", 100, policy.at(5));
    pods.push_back(r);
    r.location = {};
    r.metric = 0;  // as read back
    kernel.routes.push_back(r);
  }
  ReconcileResult result = reconcile(kernel, Plan{}, pods, false);
  BOOST_TEST_REQUIRE(result.ok, result.diagnostics.render());
  BOOST_TEST(kernel.writes() == 0);
  BOOST_TEST(!result.changed());
}

BOOST_AUTO_TEST_CASE(additions_come_before_deletions) {
  Policy policy;
  FakeRoutingKernel kernel = node();
  BOOST_TEST_REQUIRE(reconcile(kernel, base_plan(policy), pod_routes(policy, {"10.244.1.5"}),
                               false).ok);
  // Next plan: rule 101 now looks up table 111, pod .5 leaves, pod .7 arrives.
  Plan next = base_plan(policy);
  next.rules[1] = lookup_rule(policy, 111);
  kernel.reset_writes();
  size_t log_start = kernel.log().size();
  ReconcileResult result = reconcile(kernel, next, pod_routes(policy, {"10.244.1.7"}), false);
  BOOST_TEST_REQUIRE(result.ok, result.diagnostics.render());
  BOOST_TEST(kernel.writes() == 4);
  std::vector<std::string> log(kernel.log().begin() + log_start, kernel.log().end());
  std::vector<std::string> expected = {
      "add -4 route 10.244.1.7 via 192.168.126.2 dev istioin src 10.244.1.1 table 100",
      "add -4 rule prio 101 fwmark 0x100/0x100 lookup 111",
      "delete -4 rule prio 101 fwmark 0x100/0x100 lookup 101",
      "delete -4 route 10.244.1.5 via 192.168.126.2 dev istioin src 10.244.1.1 table 100",
  };
  BOOST_TEST(log == expected, boost::test_tools::per_element());
  BOOST_TEST(result.diff_text() ==
             "+ -4 route 10.244.1.7 via 192.168.126.2 dev istioin src 10.244.1.1 table 100\n"
             "+ -4 rule prio 101 fwmark 0x100/0x100 lookup 111\n"
             "- -4 rule prio 101 fwmark 0x100/0x100 lookup 101\n"
             "- -4 route 10.244.1.5 via 192.168.126.2 dev istioin src 10.244.1.1 table 100\n");
}

BOOST_AUTO_TEST_CASE(changed_route_with_same_key_is_replaced_in_one_write) {
  Policy policy;
  FakeRoutingKernel kernel = node();
  BOOST_TEST_REQUIRE(reconcile(kernel, base_plan(policy), {}, false).ok);
  Plan next = base_plan(policy);
  next.routes[0].via = ip("192.168.127.3");
  kernel.reset_writes();
  ReconcileResult result = reconcile(kernel, next, {}, false);
  BOOST_TEST_REQUIRE(result.ok, result.diagnostics.render());
  BOOST_TEST(kernel.writes() == 1);
  BOOST_TEST(kernel.log().back() ==
             "replace -4 route default via 192.168.127.3 dev istioout table 101");
  BOOST_TEST(result.diff_text() ==
             "- -4 route default via 192.168.127.2 dev istioout table 101\n"
             "+ -4 route default via 192.168.127.3 dev istioout table 101\n");
  // And undo puts the old one back.
  BOOST_TEST(!undo(kernel, result.applied).has_errors());
  BOOST_TEST(describe(kernel.all_routes()[0].route) ==
             "-4 route default via 192.168.127.2 dev istioout table 101");
}

BOOST_AUTO_TEST_CASE(failure_midway_restores_exactly_the_previous_state) {
  Policy policy;
  FakeRoutingKernel kernel = node();
  // Someone else's entries, including one in ztc's table and priority.
  Rule foreign_rule = lookup_rule(policy, 101);
  foreign_rule.fwmark.reset();
  foreign_rule.fwmask.reset();
  kernel.add_foreign_rule(foreign_rule);
  kernel.add_foreign_route(route("10.9.0.0/16", "192.168.127.9", "eth0", 100, {}));
  BOOST_TEST_REQUIRE(reconcile(kernel, base_plan(policy), pod_routes(policy, {"10.244.1.5"}),
                               false).ok);
  std::vector<std::string> before = snapshot(kernel);

  Plan next = base_plan(policy);
  next.rules[1] = lookup_rule(policy, 111);
  next.routes[0].via = ip("192.168.127.3");
  next.sysctls[0].value = "2";
  next.routes.push_back(route("10.1.0.0/16", "10.244.1.2", "veth1", 102, policy.at(7)));
  // Writes: sysctl, replace default, add 10.1/16, add rule 111, delete rule 101,
  // delete pod .5 route. Fail each one in turn: the state must always come back.
  for (int failing = 1; failing <= 6; ++failing) {
    BOOST_TEST_CONTEXT("failing write " << failing) {
      kernel.fail_write(failing, "Operation not permitted");
      ReconcileResult result = reconcile(kernel, next, {}, false);
      BOOST_TEST(!result.ok);
      BOOST_TEST(result.applied.empty());
      BOOST_TEST(snapshot(kernel) == before, boost::test_tools::per_element());
      BOOST_TEST_REQUIRE(!result.diagnostics.all().empty());
      const Diagnostic& first = result.diagnostics.all().front();
      BOOST_TEST(first.message.find("Operation not permitted") != std::string::npos);
      if (failing == 3) {
        BOOST_TEST(result.diagnostics.render().rfind(
                       "policy.zt:7:1: error: cannot add -4 route 10.1.0.0/16 via 10.244.1.2 dev "
                       "veth1 table 102: Operation not permitted\n",
                       0) == 0);
      }
      if (failing == 4) BOOST_TEST(first.location.line == 2);
      if (failing == 1) BOOST_TEST(first.location.line == 6);
    }
  }
  // Without a fault the same plan goes through.
  ReconcileResult ok = reconcile(kernel, next, {}, false);
  BOOST_TEST(ok.ok, ok.diagnostics.render());
}

BOOST_AUTO_TEST_CASE(undo_entry_point_rolls_back_a_successful_reconcile) {
  Policy policy;
  FakeRoutingKernel kernel = node();
  BOOST_TEST_REQUIRE(reconcile(kernel, base_plan(policy), pod_routes(policy, {"10.244.1.5"}),
                               false).ok);
  std::vector<std::string> before = snapshot(kernel);
  Plan next = base_plan(policy);
  next.rules.pop_back();
  next.sysctls[0].value = "2";
  ReconcileResult result = reconcile(kernel, next, pod_routes(policy, {"10.244.1.6"}), false);
  BOOST_TEST_REQUIRE(result.ok);
  BOOST_TEST(snapshot(kernel) != before);
  // A later step (the nft transaction, say) failed: the caller rolls routing back.
  Diagnostics undone = undo(kernel, result.applied);
  BOOST_TEST(!undone.has_errors(), undone.render());
  BOOST_TEST(snapshot(kernel) == before, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(foreign_rules_and_routes_are_never_touched) {
  Policy policy;
  FakeRoutingKernel kernel = node();
  Rule foreign_rule = goto_rule(policy);  // identical contents, another owner
  foreign_rule.priority = 100;
  foreign_rule.fwmark = 0x4000;
  kernel.add_foreign_rule(foreign_rule);
  Route foreign_route = route("10.9.0.0/16", "192.168.127.9", "eth0", 101, {});
  kernel.add_foreign_route(foreign_route);
  BOOST_TEST_REQUIRE(reconcile(kernel, base_plan(policy), {}, false).ok);

  // An empty plan removes ztc's entries only.
  ReconcileResult emptied = reconcile(kernel, Plan{}, {}, false);
  BOOST_TEST_REQUIRE(emptied.ok, emptied.diagnostics.render());
  BOOST_TEST_REQUIRE(kernel.all_rules().size() == 1u);
  BOOST_TEST(kernel.all_rules()[0].protocol == FakeRoutingKernel::kBootProtocol);
  BOOST_TEST_REQUIRE(kernel.all_routes().size() == 1u);
  BOOST_TEST(kernel.all_routes()[0].protocol == FakeRoutingKernel::kBootProtocol);

  BOOST_TEST_REQUIRE(reconcile(kernel, base_plan(policy), pod_routes(policy, {"10.244.1.5"}),
                               false).ok);
  ReconcileResult removed = remove_all(kernel, false);
  BOOST_TEST_REQUIRE(removed.ok, removed.diagnostics.render());
  BOOST_TEST(removed.diff.size() == 5u);
  BOOST_TEST(kernel.all_rules().size() == 1u);
  BOOST_TEST(kernel.all_routes().size() == 1u);
  BOOST_TEST(describe(kernel.all_routes()[0].route) == describe(foreign_route));
  // Sysctls are not ztc's to reset on unload.
  BOOST_TEST(kernel.sysctls().at("net.ipv4.conf.istioin.rp_filter") == "0");
}

BOOST_AUTO_TEST_CASE(foreign_route_holding_the_key_is_reported_not_replaced) {
  Policy policy;
  FakeRoutingKernel kernel = node();
  kernel.add_foreign_route(route("0.0.0.0/0", "192.168.127.9", "eth0", 101, {}));
  ReconcileResult result = reconcile(kernel, base_plan(policy), {}, false);
  BOOST_TEST(!result.ok);
  BOOST_TEST(result.diagnostics.render().find(
                 "policy.zt:3:1: error: cannot add -4 route default via 192.168.127.2 dev "
                 "istioout table 101: File exists") != std::string::npos);
  BOOST_TEST(kernel.all_routes().size() == 1u);
  BOOST_TEST(kernel.all_rules().empty());
  BOOST_TEST(kernel.sysctls().at("net.ipv4.conf.istioin.rp_filter") == "1");
}

BOOST_AUTO_TEST_CASE(missing_device_is_reported_at_the_route_before_any_write) {
  Policy policy;
  FakeRoutingKernel kernel;
  kernel.add_device("istioout");
  kernel.add_device("veth1");
  kernel.set_sysctl("net.ipv4.conf.istioin.rp_filter", "1");
  Plan plan = base_plan(policy);
  plan.sysctls.clear();
  DerivedRoutes derived;
  derived.set = "pods";
  derived.route = route("0.0.0.0/32", "192.168.126.2", "istioin", 100, policy.at(5));
  derived.location = policy.at(5);
  plan.derived.push_back(derived);
  for (bool dry_run : {true, false}) {
    BOOST_TEST_CONTEXT("dry run " << dry_run) {
      ReconcileResult result =
          reconcile(kernel, plan, pod_routes(policy, {"10.244.1.5", "10.244.1.6"}), dry_run);
      BOOST_TEST(!result.ok);
      BOOST_TEST(kernel.writes() == 0);
      // Once, although two members and the template name it.
      BOOST_TEST(result.diagnostics.render() ==
                 "policy.zt:5:1: error: device \"istioin\" does not exist\n"
                 "    route 100 for pods { member via 192.168.126.2 dev istioin }\n"
                 "    ^\n");
    }
  }
}

BOOST_AUTO_TEST_CASE(sysctl_on_a_missing_interface_is_reported) {
  Policy policy;
  FakeRoutingKernel kernel = node();
  Plan plan;
  plan.sysctls.push_back({"net.ipv4.conf.istioin2.rp_filter", "0", policy.at(6)});
  ReconcileResult result = reconcile(kernel, plan, {}, false);
  BOOST_TEST(!result.ok);
  BOOST_TEST(result.diagnostics.all().at(0).message == "device \"istioin2\" does not exist");
  BOOST_TEST(result.diagnostics.all().at(0).location.line == 6);
}

BOOST_AUTO_TEST_CASE(dry_run_lists_the_difference_and_writes_nothing) {
  Policy policy;
  FakeRoutingKernel kernel = node();
  ReconcileResult result = reconcile(kernel, base_plan(policy), {}, true);
  BOOST_TEST_REQUIRE(result.ok);
  BOOST_TEST(kernel.writes() == 0);
  BOOST_TEST(result.applied.empty());
  BOOST_TEST(result.diff_text() ==
             "~ sysctl net.ipv4.conf.istioin.rp_filter 1 -> 0\n"
             "+ -4 route default via 192.168.127.2 dev istioout table 101\n"
             "+ -4 route 10.244.1.2 dev veth1 scope link table 101\n"
             "+ -4 rule prio 100 fwmark 0x200/0x200 goto 32766\n"
             "+ -4 rule prio 101 fwmark 0x100/0x100 lookup 101\n");
  BOOST_TEST(result.diff[0].location.line == 6);
}

BOOST_AUTO_TEST_CASE(duplicate_kernel_rule_is_removed_once) {
  Policy policy;
  FakeRoutingKernel kernel = node();
  // A duplicate tagged ztc (as `ip rule add ... proto 122` twice would leave).
  kernel.add_foreign_rule(goto_rule(policy), kZtcProtocol);
  kernel.add_foreign_rule(goto_rule(policy), kZtcProtocol);
  Plan plan;
  plan.rules = {goto_rule(policy)};
  ReconcileResult result = reconcile(kernel, plan, {}, false);
  BOOST_TEST_REQUIRE(result.ok, result.diagnostics.render());
  BOOST_TEST(kernel.all_rules().size() == 1u);
  BOOST_TEST(kernel.writes() == 1);
}

BOOST_AUTO_TEST_CASE(colliding_desired_routes_are_refused) {
  Policy policy;
  FakeRoutingKernel kernel = node();
  Plan plan;
  plan.routes.push_back(route("10.244.1.2", std::nullopt, "veth1", 100, policy.at(4)));
  ReconcileResult result =
      reconcile(kernel, plan, pod_routes(policy, {"10.244.1.2"}), false);
  BOOST_TEST(!result.ok);
  BOOST_TEST(kernel.writes() == 0);
  BOOST_TEST(result.diagnostics.all().at(0).location.line == 5);
  BOOST_TEST(result.diagnostics.all().at(0).message.find("collides with") != std::string::npos);
}

// ---------------------------------------------------------------------------
// Kernel tests: the netlink RoutingKernel in a throwaway namespace. The kernel
// object is opened inside it; its socket (and its sysctl access) stay there.

namespace {

// Counts writes that reach a real kernel.
class CountingKernel : public RoutingKernel {
 public:
  explicit CountingKernel(RoutingKernel& inner) : inner_(inner) {}
  int writes = 0;

  KernelError list_rules(std::vector<Rule>* rules) override { return inner_.list_rules(rules); }
  KernelError list_routes(std::vector<Route>* routes) override {
    return inner_.list_routes(routes);
  }
  KernelError add_rule(const Rule& rule) override { return ++writes, inner_.add_rule(rule); }
  KernelError delete_rule(const Rule& rule) override {
    return ++writes, inner_.delete_rule(rule);
  }
  KernelError add_route(const Route& route) override {
    return ++writes, inner_.add_route(route);
  }
  KernelError replace_route(const Route& route) override {
    return ++writes, inner_.replace_route(route);
  }
  KernelError delete_route(const Route& route) override {
    return ++writes, inner_.delete_route(route);
  }
  KernelError read_sysctl(const std::string& key, std::string* value) override {
    return inner_.read_sysctl(key, value);
  }
  KernelError write_sysctl(const std::string& key, const std::string& value) override {
    return ++writes, inner_.write_sysctl(key, value);
  }
  bool device_exists(const std::string& name) override { return inner_.device_exists(name); }

 private:
  RoutingKernel& inner_;
};

// A namespace shaped like an ambient node: tunnels and the ztunnel veth stand-ins
// are veth pairs (this kernel has no dummy driver; enough for routes, packets
// are the lab's business).
struct NodeNetns {
  ScopedTestNetns netns{"ztc-route"};
  std::unique_ptr<NetlinkRoutingKernel> kernel;

  NodeNetns() {
    CommandResult setup = netns.run(
        "set -e\n"
        "for d in istioin istioout veth.1; do\n"
        "  ip link add $d type veth peer name p-$d; ip link set $d up; ip link set p-$d up\n"
        "done\n"
        "ip addr add 192.168.126.1/30 dev istioin\n"
        "ip addr add 192.168.127.1/30 dev istioout\n"
        "ip addr add 10.244.1.1/32 dev veth.1\n"
        "ip -6 addr add fd01::1/64 dev istioout nodad\n");
    BOOST_TEST_REQUIRE(setup.exit_code == 0, setup.output);
    NetnsSwitch in(netns.path());
    BOOST_TEST_REQUIRE(in.ok(), in.error());
    std::string error;
    kernel = NetlinkRoutingKernel::open(&error);
    BOOST_TEST_REQUIRE(static_cast<bool>(kernel), error);
  }
  std::string run(const std::string& command) {
    CommandResult result = netns.run(command);
    BOOST_TEST(result.exit_code == 0, command << ": " << result.output);
    return result.output;
  }
};

Plan kernel_plan(const Policy& policy) {
  Plan plan;
  plan.rules = {goto_rule(policy), lookup_rule(policy)};
  Rule v6 = lookup_rule(policy);
  v6.family = IpFamily::v6;
  plan.rules.push_back(v6);
  plan.routes.push_back(route("0.0.0.0/0", "192.168.127.2", "istioout", 101, policy.at(3)));
  Route link = route("10.244.1.2", std::nullopt, "veth.1", 101, policy.at(4));
  link.scope = Scope::link;
  plan.routes.push_back(link);
  Route onlink = route("0.0.0.0/0", "10.244.1.2", "veth.1", 102, policy.at(7));
  onlink.onlink = true;
  plan.routes.push_back(onlink);
  Route big_table = route("10.250.0.0/16", "192.168.127.2", "istioout", 1000, policy.at(3));
  big_table.metric = 10;
  plan.routes.push_back(big_table);
  Route v6_route = route("fd02::/64", "fd01::2", "istioout", 101, policy.at(3));
  v6_route.family = IpFamily::v6;
  plan.routes.push_back(v6_route);
  plan.sysctls.push_back({"net.ipv4.conf.veth.1.rp_filter", "2", policy.at(6)});
  plan.sysctls.push_back({"net.ipv4.conf.istioin.accept_local", "1", policy.at(6)});
  return plan;
}

}  // namespace

BOOST_AUTO_TEST_CASE(kernel_rules_and_routes_round_trip, *boost::unit_test::label("kernel")) {
  Policy policy;
  NodeNetns node;
  std::string root_rules = run_command("ip rule show; ip -6 rule show").output;
  CountingKernel counting(*node.kernel);
  Plan plan = kernel_plan(policy);
  std::vector<Route> pods = pod_routes(policy, {"10.244.1.5", "10.244.1.6"});

  ReconcileResult first = reconcile(counting, plan, pods, false);
  BOOST_TEST_REQUIRE(first.ok, first.diagnostics.render());
  BOOST_TEST(counting.writes == 12);  // 2 sysctls, 7 routes, 3 rules

  // What `ip` sees: explicit goto (not `lookup N none`), the mark with its mask,
  // ztc's protocol everywhere.
  std::string rules = node.run("ip rule show");
  BOOST_TEST(rules.find("100:\tfrom all fwmark 0x200/0x200 goto 32766 proto 122") !=
                 std::string::npos,
             rules);
  BOOST_TEST(rules.find("101:\tfrom all fwmark 0x100/0x100 lookup 101 proto 122") !=
                 std::string::npos,
             rules);
  std::string routes = node.run("ip route show table all proto 122");
  for (const char* expected :
       {"default via 192.168.127.2 dev istioout table 101",
        "10.244.1.2 dev veth.1 table 101 scope link",
        "default via 10.244.1.2 dev veth.1 table 102 onlink",
        "10.250.0.0/16 via 192.168.127.2 dev istioout table 1000 metric 10"}) {
    BOOST_TEST(routes.find(expected) != std::string::npos, expected << " in\n" << routes);
  }
  // Member routes carry their own protocol; the static listing (filtered by
  // the kernel) leaves them out.
  BOOST_TEST(node.run("ip route show table all proto 123") ==
             "10.244.1.5 via 192.168.126.2 dev istioin table 100 src 10.244.1.1 \n"
             "10.244.1.6 via 192.168.126.2 dev istioin table 100 src 10.244.1.1 \n");
  std::vector<Route> listed, statics;
  BOOST_TEST_REQUIRE(!node.kernel->list_routes(&listed));
  BOOST_TEST_REQUIRE(!node.kernel->list_static_routes(&statics));
  BOOST_TEST(listed.size() == plan.routes.size() + 2);
  BOOST_TEST(std::count_if(listed.begin(), listed.end(), [](const Route& r) { return r.member; }) ==
             2);
  BOOST_TEST(statics.size() == plan.routes.size());
  for (const Route& route : statics) BOOST_TEST(!route.member, describe(route));
  BOOST_TEST(node.run("ip -6 route show table 101 proto 122").find("fd02::/64 via fd01::2") !=
             std::string::npos);
  BOOST_TEST(node.run("sysctl -n net.ipv4.conf.veth/1.rp_filter") == "2\n");

  // Listing back gives exactly the plan.
  std::vector<Rule> listed_rules;
  std::vector<Route> listed_routes;
  BOOST_TEST_REQUIRE(!node.kernel->list_rules(&listed_rules));
  BOOST_TEST_REQUIRE(!node.kernel->list_routes(&listed_routes));
  BOOST_TEST(listed_rules.size() == plan.rules.size());
  for (const Rule& wanted : plan.rules) {
    bool found = false;
    for (const Rule& got : listed_rules) found |= same_rule(wanted, got);
    BOOST_TEST(found, describe(wanted));
  }
  BOOST_TEST(listed_routes.size() == plan.routes.size() + pods.size());
  for (const Route& got : listed_routes) {
    bool found = false;
    for (const Route& wanted : plan.routes) found |= same_route(wanted, got);
    for (const Route& wanted : pods) found |= same_route(wanted, got);
    BOOST_TEST(found, describe(got));
  }

  // Second run: nothing to do, no duplicate.
  counting.writes = 0;
  ReconcileResult second = reconcile(counting, plan, pods, false);
  BOOST_TEST_REQUIRE(second.ok, second.diagnostics.render());
  BOOST_TEST(counting.writes == 0, second.diff_text());
  BOOST_TEST(node.run("ip rule show | grep -c 'fwmark 0x200/0x200'") == "1\n");

  // NLM_F_EXCL: the kernel refuses a duplicate rule instead of adding it.
  KernelError duplicate = node.kernel->add_rule(goto_rule(policy));
  BOOST_TEST_REQUIRE(duplicate.has_value());
  BOOST_TEST(*duplicate == "File exists");

  // The root namespace was not touched.
  BOOST_TEST(run_command("ip rule show; ip -6 rule show").output == root_rules);
}

BOOST_AUTO_TEST_CASE(kernel_remove_all_spares_foreign_entries, *boost::unit_test::label("kernel")) {
  Policy policy;
  NodeNetns node;
  node.run("ip rule add prio 101 lookup 101\n"
           "ip route add 10.9.0.0/16 via 192.168.127.2 dev istioout table 101\n"
           "ip route add 10.8.0.0/16 via 192.168.127.2 dev istioout table 101 proto static\n");
  ReconcileResult loaded = reconcile(*node.kernel, kernel_plan(policy), {}, false);
  BOOST_TEST_REQUIRE(loaded.ok, loaded.diagnostics.render());

  ReconcileResult removed = remove_all(*node.kernel, false);
  BOOST_TEST_REQUIRE(removed.ok, removed.diagnostics.render());
  std::vector<Rule> rules;
  std::vector<Route> routes;
  BOOST_TEST(!node.kernel->list_rules(&rules));
  BOOST_TEST(!node.kernel->list_routes(&routes));
  BOOST_TEST(rules.empty());
  BOOST_TEST(routes.empty());
  std::string left = node.run("ip rule show; ip route show table 101");
  BOOST_TEST(left.find("101:\tfrom all lookup 101") != std::string::npos, left);
  BOOST_TEST(left.find("10.9.0.0/16 via 192.168.127.2 dev istioout") != std::string::npos, left);
  BOOST_TEST(left.find("10.8.0.0/16 via 192.168.127.2 dev istioout proto static") !=
                 std::string::npos,
             left);
  BOOST_TEST(left.find("proto 122") == std::string::npos, left);
}

BOOST_AUTO_TEST_CASE(kernel_refusal_is_reported_at_the_policy_line_and_undone,
                     *boost::unit_test::label("kernel")) {
  Policy policy;
  NodeNetns node;
  ReconcileResult loaded = reconcile(*node.kernel, kernel_plan(policy), {}, false);
  BOOST_TEST_REQUIRE(loaded.ok, loaded.diagnostics.render());
  std::string before = node.run("ip rule show; ip route show table all; "
                                "sysctl -n net.ipv4.conf.veth/1.rp_filter");

  Plan next = kernel_plan(policy);
  next.sysctls[0].value = "1";
  next.rules[1] = lookup_rule(policy, 111);
  // A gateway that no connected network reaches: the kernel refuses the route.
  next.routes.push_back(route("10.1.0.0/16", "172.31.0.1", "istioout", 101, policy.at(7)));
  ReconcileResult result = reconcile(*node.kernel, next, {}, false);
  BOOST_TEST(!result.ok);
  std::string rendered = result.diagnostics.render();
  BOOST_TEST(rendered.rfind("policy.zt:7:1: error: cannot add -4 route 10.1.0.0/16 via 172.31.0.1 "
                            "dev istioout table 101: ",
                            0) == 0,
             rendered);
  BOOST_TEST(rendered.find("Network is unreachable") != std::string::npos, rendered);
  BOOST_TEST(node.run("ip rule show; ip route show table all; "
                      "sysctl -n net.ipv4.conf.veth/1.rp_filter") == before);

  // A missing device is caught before any write, in a dry run too.
  Plan missing = kernel_plan(policy);
  missing.routes.push_back(route("10.1.0.0/16", std::nullopt, "nosuchdev", 101, policy.at(7)));
  ReconcileResult dry = reconcile(*node.kernel, missing, {}, true);
  BOOST_TEST(!dry.ok);
  BOOST_TEST(dry.diagnostics.all().at(0).message == "device \"nosuchdev\" does not exist");
  BOOST_TEST(dry.diagnostics.all().at(0).location.line == 7);
}

BOOST_AUTO_TEST_CASE(kernel_deletes_exactly_the_rule_asked_for,
                     *boost::unit_test::label("kernel")) {
  Policy policy;
  NodeNetns node;
  Rule marked = lookup_rule(policy);
  Rule plain = marked;
  plain.fwmark.reset();
  plain.fwmask.reset();
  BOOST_TEST_REQUIRE(!node.kernel->add_rule(marked));
  BOOST_TEST_REQUIRE(!node.kernel->add_rule(plain));
  // A bare netlink delete of `plain` would take `marked`, listed first.
  Plan plan;
  plan.rules = {marked};
  ReconcileResult result = reconcile(*node.kernel, plan, {}, false);
  BOOST_TEST_REQUIRE(result.ok, result.diagnostics.render());
  std::vector<Rule> rules;
  BOOST_TEST_REQUIRE(!node.kernel->list_rules(&rules));
  BOOST_TEST_REQUIRE(rules.size() == 1u);
  BOOST_TEST(same_rule(rules[0], marked), describe(rules[0]));
  // And undo of an added, less specific rule takes that one, not the older one.
  plan.rules = {marked, plain};
  ReconcileResult added = reconcile(*node.kernel, plan, {}, false);
  BOOST_TEST_REQUIRE(added.ok, added.diagnostics.render());
  BOOST_TEST(!undo(*node.kernel, added.applied).has_errors());
  rules.clear();
  BOOST_TEST_REQUIRE(!node.kernel->list_rules(&rules));
  BOOST_TEST_REQUIRE(rules.size() == 1u);
  BOOST_TEST(same_rule(rules[0], marked), describe(rules[0]));
}

BOOST_AUTO_TEST_CASE(kernel_sysctls_stay_in_their_namespace, *boost::unit_test::label("kernel")) {
  NodeNetns node;
  std::string root_value = run_command("sysctl -n net.ipv4.conf.all.rp_filter").output;
  std::string value;
  BOOST_TEST_REQUIRE(!node.kernel->read_sysctl("net.ipv4.conf.all.rp_filter", &value));
  std::string other = value == "2" ? "1" : "2";
  BOOST_TEST_REQUIRE(!node.kernel->write_sysctl("net.ipv4.conf.all.rp_filter", other));
  BOOST_TEST(node.run("sysctl -n net.ipv4.conf.all.rp_filter") == other + "\n");
  BOOST_TEST(run_command("sysctl -n net.ipv4.conf.all.rp_filter").output == root_value);
  BOOST_TEST(node.kernel->device_exists("veth.1"));
  BOOST_TEST(!node.kernel->device_exists("eth0.nope"));
  KernelError bad = node.kernel->read_sysctl("net.ipv4.conf.nosuch.rp_filter", &value);
  BOOST_TEST_REQUIRE(bad.has_value());
  BOOST_TEST(*bad == "cannot read /proc/sys/net/ipv4/conf/nosuch/rp_filter: "
                     "No such file or directory");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc::route
