// Managed-set members and their derived routes against the in-memory kernels:
// what is written (and that nothing is when nothing changes), and that a
// failure anywhere leaves the set and its routes as they were.
#include "backend/enroll.h"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <functional>
#include <string>
#include <vector>

#include "compiler/compile.h"
#include "model/enroll_fingerprint.h"
#include "testsupport/fake_nft_kernel.h"
#include "testsupport/fake_routing_kernel.h"

namespace ztc {
namespace {

// Line numbers matter for the diagnostics below.
const char* const kPolicy =
    "table ip ztunnel\n"                                         // 1
    "mark outbound = 0x100\n"                                    // 2
    "iface tunnel_in = \"istioin\"\n"                            // 3
    "set pods: ipv4 managed\n"                                   // 4
    "set dns: ipv4 = { 10.96.0.10 }\n"                           // 5
    "set ports: port managed\n"                                  // 6
    "set veths: ifname managed\n"                                // 7
    "capture prerouting {\n"                                     // 8
    "  tcp saddr @pods => mark |= outbound\n"                    // 9
    "  tcp daddr @dns => mark |= outbound\n"                     // 10
    "}\n"                                                        // 11
    "rule 101 fwmark outbound lookup 100\n"                      // 12
    "route 100 { 10.244.1.2 dev tunnel_in scope link }\n"        // 13
    "route 100 for pods {\n"                                     // 14
    "  member via 192.168.126.2 dev tunnel_in src 10.244.1.1\n"  // 15
    "}\n";                                                       // 16

CompiledPolicy compile(const std::string& text, const Overrides& overrides = {}) {
  MemoryFileSystem files;
  files.add("policy.zt", text);
  Diagnostics diagnostics;
  std::optional<CompiledPolicy> compiled =
      compile_policy("policy.zt", files, overrides, diagnostics);
  BOOST_REQUIRE_MESSAGE(compiled, "test policy does not compile:\n" << diagnostics.render());
  return std::move(*compiled);
}

std::vector<MemberInput> inputs(std::vector<std::string> values) {
  std::vector<MemberInput> out;
  for (std::string& v : values) out.push_back({std::move(v), std::nullopt, Location{}});
  return out;
}

MemberInput with_comment(std::string value, std::string comment) {
  return {std::move(value), std::move(comment), Location{}};
}

std::string route_text(const std::string& pod) {
  return "-4 route " + pod + " via 192.168.126.2 dev istioin src 10.244.1.1 table 100";
}

// A node where the policy is loaded: the table and its sets exist (empty),
// the devices exist, a foreign route sits in table 100.
struct Node {
  CompiledPolicy policy = compile(kPolicy);
  nft::FakeSetKernel nft;
  route::FakeRoutingKernel routing;
  Kernels kernels{nft, routing};
  SetTarget pods;

  Node() {
    nft.add_table(nft::Family::ip, "ztunnel");
    nft.add_set(nft::Family::ip, "ztunnel", "pods", "ipv4_addr");
    nft.add_set(nft::Family::ip, "ztunnel", "dns", "ipv4_addr");
    nft.add_set(nft::Family::ip, "ztunnel", "ports", "inet_service");
    nft.add_set(nft::Family::ip, "ztunnel", "veths", "ifname");
    loaded_with(policy);
    routing.add_device("istioin");
    route::Route foreign;
    foreign.table = 100;
    foreign.destination = *parse_ip_prefix("10.50.0.5");
    foreign.device = "istioin";
    routing.add_foreign_route(foreign);
    pods = target("pods");
  }

  // The member-route records `load` of `loaded` would leave on the sets.
  void loaded_with(const CompiledPolicy& loaded) {
    for (const nft::Set& set : loaded.table.sets) {
      nft.add_set(nft::Family::ip, "ztunnel", set.name, set.type).comment = set.comment;
    }
  }

  SetTarget target(const std::string& name) {
    Diagnostics diagnostics;
    std::optional<SetTarget> found =
        find_managed_set(policy.table, policy.routing, name, diagnostics);
    BOOST_REQUIRE_MESSAGE(found, diagnostics.render());
    return *found;
  }

  // "10.0.0.1 comment "x"" lines of the fake set, in its order.
  std::vector<std::string> members(const std::string& set = "pods") const {
    std::vector<std::string> out;
    for (const nft::Element& e : nft.set(nft::Family::ip, "ztunnel", set)->members) {
      out.push_back(member_line(e));
    }
    return out;
  }

  // ztc's routes, one `describe` line each, in the fake's order.
  std::vector<std::string> routes() const {
    std::vector<std::string> out;
    for (const auto& stored : routing.all_routes()) {
      if (stored.protocol == route::kZtcProtocol ||
          stored.protocol == route::kMemberRouteProtocol) {
        out.push_back(route::describe(stored.route));
      }
    }
    return out;
  }

  // Makes `pods` hold these members, with routes, and forgets the writes.
  void enrolled(const std::vector<MemberInput>& members) {
    EnrollResult result = add_members(pods, members, kernels, nft);
    BOOST_REQUIRE_MESSAGE(result.ok, result.diagnostics.render());
    forget();
  }

  void forget() {
    nft.calls.clear();
    nft.committed.clear();
    nft.element_writes = 0;
    nft.finds = 0;
    nft.lists = 0;
    routing.reset_writes();
    log_start = routing.log().size();
  }

  // The routing writes since forget().
  std::vector<std::string> log() const {
    return {routing.log().begin() + static_cast<long>(log_start), routing.log().end()};
  }
  size_t log_start = 0;

  std::vector<std::string> buffers() const {
    std::vector<std::string> out;
    for (const auto& call : nft.calls) out.push_back(call.buffer);
    return out;
  }
};

using boost::test_tools::per_element;

// Diagnostics in the order they were made, as `ztc set` prints them.
std::string in_order(const Diagnostics& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics.all()) out += render(d);
  return out;
}
using Lines = std::vector<std::string>;

}  // namespace

BOOST_AUTO_TEST_SUITE(enroll)

BOOST_AUTO_TEST_CASE(only_managed_sets_of_the_policy_are_targets) {
  CompiledPolicy policy = compile(kPolicy);
  Diagnostics missing;
  BOOST_TEST(!find_managed_set(policy.table, policy.routing, "podz", missing));
  BOOST_TEST(missing.render() ==
             "error: the policy has no set 'podz' (managed sets: pods, ports, veths)\n");
  Diagnostics fixed;
  BOOST_TEST(!find_managed_set(policy.table, policy.routing, "dns", fixed));
  BOOST_TEST(fixed.render() ==
             "policy.zt:5:1: error: set 'dns' is not managed: only sets declared `managed` change "
             "at run time (managed sets: pods, ports, veths)\n"
             "    set dns: ipv4 = { 10.96.0.10 }\n"
             "    ^\n");
  Diagnostics ok;
  std::optional<SetTarget> pods = find_managed_set(policy.table, policy.routing, "pods", ok);
  BOOST_TEST_REQUIRE(pods.has_value());
  BOOST_TEST(pods->set->name == "pods");
  BOOST_TEST(pods->derived.size() == 1u);
  std::optional<SetTarget> ports = find_managed_set(policy.table, policy.routing, "ports", ok);
  BOOST_TEST_REQUIRE(ports.has_value());
  BOOST_TEST(ports->derived.empty());
  BOOST_TEST(!ok.has_errors());
}

BOOST_AUTO_TEST_CASE(elements_are_checked_like_the_policy_checks_them) {
  Node node;
  Diagnostics diagnostics;
  std::vector<nft::Element> good = check_members(node.pods,
                                                 {with_comment("10.244.0.5", "uid-5"),
                                                  {"10.244.0.6", std::nullopt, {}},
                                                  {"10.244.0.5", std::nullopt, {}},
                                                  with_comment("10.244.0.6", "uid-6")},
                                                 diagnostics);
  BOOST_TEST(diagnostics.render() == "");
  BOOST_TEST_REQUIRE(good.size() == 2u);  // repeats merged; the comment given once kept
  BOOST_TEST(member_line(good[0]) == "10.244.0.5 comment \"uid-5\"");
  BOOST_TEST(member_line(good[1]) == "10.244.0.6 comment \"uid-6\"");

  Diagnostics bad;
  check_members(node.pods, inputs({"10.0.0.300", "10.1.0.0/16", "fd00::1", "pod", ""}), bad);
  BOOST_TEST(bad.render() ==
             "error: element '10.0.0.300' of set 'pods' (ipv4): not an IPv4 address\n"
             "error: element '10.1.0.0/16' of set 'pods' (ipv4): a prefix where an address is "
             "required\n"
             "error: element 'fd00::1' of set 'pods' (ipv4): not an IPv4 address\n"
             "error: element 'pod' of set 'pods' (ipv4): not an IPv4 address\n"
             "error: element '' of set 'pods' (ipv4): not an IPv4 address\n");

  Diagnostics twice;
  check_members(node.pods, {with_comment("10.0.0.1", "a"), with_comment("10.0.0.1", "b")}, twice);
  BOOST_TEST(twice.render() ==
             "error: element '10.0.0.1' is given twice, with comments \"a\" and \"b\"\n");
  Diagnostics quote;
  check_members(node.pods, {with_comment("10.0.0.1", "a\"b")}, quote);
  BOOST_TEST(quote.error_count() == 1);

  Diagnostics other_types;
  std::vector<nft::Element> port =
      check_members(node.target("ports"), inputs({"6081"}), other_types);
  std::vector<nft::Element> veth =
      check_members(node.target("veths"), inputs({"veth1"}), other_types);
  check_members(node.target("ports"), inputs({"0", "http"}), other_types);
  BOOST_TEST(other_types.render() ==
             "error: element '0' of set 'ports' (port): not a port (1 to 65535)\n"
             "error: element 'http' of set 'ports' (port): not a port (1 to 65535)\n");
  BOOST_TEST_REQUIRE(port.size() == 1u);
  BOOST_TEST(port[0].value == "6081");
  BOOST_TEST_REQUIRE(veth.size() == 1u);
  BOOST_TEST(veth[0].value == "\"veth1\"");  // as nft prints an ifname
}

BOOST_AUTO_TEST_CASE(adding_a_member_is_one_transaction_then_its_route) {
  Node node;
  EnrollResult result =
      add_members(node.pods, {with_comment("10.244.0.5", "uid-5")}, node.kernels, node.nft);
  BOOST_TEST_REQUIRE(result.ok, result.diagnostics.render());
  BOOST_TEST(result.diagnostics.render() == "");
  BOOST_TEST(
      node.buffers() == Lines{"add element ip ztunnel pods { 10.244.0.5 comment \"uid-5\" }\n"},
      per_element());
  BOOST_TEST(result.nft_transactions == 1);
  BOOST_TEST(node.log() == Lines{"add " + route_text("10.244.0.5")}, per_element());
  BOOST_TEST(node.members() == Lines{"10.244.0.5 comment \"uid-5\""}, per_element());
  BOOST_TEST(node.routes() == Lines{route_text("10.244.0.5")}, per_element());
  BOOST_TEST(result.added.size() == 1u);
  BOOST_TEST(result.unchanged == 0u);
  BOOST_TEST_REQUIRE(result.routes.size() == 1u);
  BOOST_TEST(result.routes[0].sign == '+');
  BOOST_TEST(result.routes[0].location.line == 15);  // the policy line the route comes from
  BOOST_TEST(node.nft.finds == 1);                   // one lookup, no listing
  BOOST_TEST(node.nft.lists == 0);
}

BOOST_AUTO_TEST_CASE(adding_present_members_writes_nothing) {
  Node node;
  node.enrolled({with_comment("10.244.0.5", "uid-5"), {"10.244.0.6", std::nullopt, {}}});
  // Present, with the same comment or none given: nothing to do.
  EnrollResult result = add_members(
      node.pods,
      {with_comment("10.244.0.5", "uid-5"), {"10.244.0.6", {}, {}}, {"10.244.0.5", {}, {}}},
      node.kernels, node.nft);
  BOOST_TEST_REQUIRE(result.ok, result.diagnostics.render());
  BOOST_TEST(!result.changed());
  BOOST_TEST(result.unchanged == 2u);
  BOOST_TEST(node.nft.calls.empty());
  BOOST_TEST(node.routing.writes() == 0);
  BOOST_TEST(result.nft_transactions == 0);
  BOOST_TEST(result.routing_writes == 0);
}

BOOST_AUTO_TEST_CASE(a_new_comment_replaces_the_old_one_in_one_transaction) {
  Node node;
  node.enrolled({with_comment("10.244.0.5", "old-uid")});
  EnrollResult result =
      add_members(node.pods, {with_comment("10.244.0.5", "new-uid")}, node.kernels, node.nft);
  BOOST_TEST_REQUIRE(result.ok, result.diagnostics.render());
  BOOST_TEST(
      node.buffers() == Lines{"delete element ip ztunnel pods { 10.244.0.5 }\n"
                              "add element ip ztunnel pods { 10.244.0.5 comment \"new-uid\" }\n"},
      per_element());
  BOOST_TEST(node.routing.writes() == 0);  // the route stays
  BOOST_TEST(node.members() == Lines{"10.244.0.5 comment \"new-uid\""}, per_element());
  BOOST_TEST(result.recommented.size() == 1u);
}

BOOST_AUTO_TEST_CASE(bad_elements_are_refused_before_anything_is_read_or_written) {
  Node node;
  EnrollResult result =
      add_members(node.pods, inputs({"10.244.0.5", "10.244.0.300"}), node.kernels, node.nft);
  BOOST_TEST(!result.ok);
  BOOST_TEST(result.diagnostics.render() ==
             "error: element '10.244.0.300' of set 'pods' (ipv4): not an IPv4 address\n"
             "note: nothing was changed\n");
  BOOST_TEST(node.nft.calls.empty());
  BOOST_TEST(node.nft.finds == 0);
  BOOST_TEST(node.routing.writes() == 0);
  BOOST_TEST(node.members().empty());
}

BOOST_AUTO_TEST_CASE(a_failed_route_undoes_the_routes_added_and_the_elements) {
  Node node;
  node.enrolled({with_comment("10.244.0.1", "kept")});
  // Two new members: the first route goes in, the second fails.
  node.routing.fail_write(2, "Network is unreachable");
  EnrollResult result = add_members(node.pods, inputs({"10.244.0.5", "10.244.0.6", "10.244.0.1"}),
                                    node.kernels, node.nft);
  BOOST_TEST(!result.ok);
  BOOST_TEST(in_order(result.diagnostics) ==
             "policy.zt:15:3: error: cannot add " + route_text("10.244.0.6") +
                 ": Network is unreachable\n"
                 "      member via 192.168.126.2 dev tunnel_in src 10.244.1.1\n"
                 "      ^\n"
                 "note: the set and its routes were left as they were\n");
  BOOST_TEST(
      node.buffers() == Lines({"add element ip ztunnel pods { 10.244.0.5, 10.244.0.6 }\n",
                               "delete element ip ztunnel pods { 10.244.0.5, 10.244.0.6 }\n"}),
      per_element());
  BOOST_TEST(node.log() ==
                 Lines({"add " + route_text("10.244.0.5"), "FAILED add " + route_text("10.244.0.6"),
                        "delete " + route_text("10.244.0.5")}),
             per_element());
  BOOST_TEST(node.members() == Lines{"10.244.0.1 comment \"kept\""}, per_element());
  BOOST_TEST(node.routes() == Lines{route_text("10.244.0.1")}, per_element());
  BOOST_TEST(result.added.empty());
  BOOST_TEST(result.routes.empty());
  BOOST_TEST(result.nft_transactions == 2);
}

BOOST_AUTO_TEST_CASE(a_route_taken_by_another_owner_is_a_failure_and_is_not_touched) {
  Node node;
  EnrollResult result =
      add_members(node.pods, inputs({"10.244.0.5", "10.50.0.5"}), node.kernels, node.nft);
  BOOST_TEST(!result.ok);
  BOOST_TEST(result.diagnostics.all()[0].message ==
             "cannot add " + route_text("10.50.0.5") +
                 ": File exists (a route to 10.50.0.5 in table 100 exists that ztc does not own)");
  BOOST_TEST(node.members().empty());
  BOOST_TEST(node.routes().empty());
  BOOST_TEST(node.routing.all_routes().size() == 1u);  // the foreign route, untouched
}

BOOST_AUTO_TEST_CASE(a_route_ztc_already_has_is_kept_and_a_stale_one_replaced) {
  Node node;
  // Left behind (say, an element deleted with nft by hand): the same route,
  // and one of ztc's to the next pod through another gateway.
  route::Route same = route::derive_route(node.pods.derived[0], *parse_ip_prefix("10.244.0.5"));
  BOOST_TEST_REQUIRE(!node.routing.add_route(same));
  route::Route stale = route::derive_route(node.pods.derived[0], *parse_ip_prefix("10.244.0.6"));
  stale.via = parse_ip_prefix("192.168.126.3");
  BOOST_TEST_REQUIRE(!node.routing.add_route(stale));
  node.forget();
  EnrollResult result =
      add_members(node.pods, inputs({"10.244.0.5", "10.244.0.6"}), node.kernels, node.nft);
  BOOST_TEST_REQUIRE(result.ok, result.diagnostics.render());
  // The fake logs refusals of its own (File exists) as plain attempts.
  BOOST_TEST(
      node.log() == Lines({"add " + route_text("10.244.0.5"), "add " + route_text("10.244.0.6"),
                           "replace " + route_text("10.244.0.6")}),
      per_element());
  BOOST_TEST(node.routes() == Lines({route_text("10.244.0.5"), route_text("10.244.0.6")}),
             per_element());
  BOOST_TEST(node.members() == Lines({"10.244.0.5", "10.244.0.6"}), per_element());
}

BOOST_AUTO_TEST_CASE(a_failed_nft_transaction_writes_no_route) {
  Node node;
  node.nft.fail_call(1, "Error: Could not process rule: No buffer space available\n");
  EnrollResult result = add_members(node.pods, inputs({"10.244.0.5"}), node.kernels, node.nft);
  BOOST_TEST(!result.ok);
  BOOST_TEST(result.diagnostics.render() ==
             "error: nft: Error: Could not process rule: No buffer space available\n"
             "note: the set was left as it was\n");
  BOOST_TEST(node.routing.writes() == 0);
  BOOST_TEST(node.members().empty());
}

BOOST_AUTO_TEST_CASE(the_loaded_table_must_be_ztcs_and_hold_the_policys_set) {
  struct Case {
    std::string name;
    std::function<void(nft::FakeSetKernel&)> setup;
    std::string message;
  };
  std::vector<Case> cases = {
      {"never loaded", [](nft::FakeSetKernel&) {},
       "error: table ip ztunnel is not loaded: run `ztc load` with this policy first\n"},
      {"not ztc's",
       [](nft::FakeSetKernel& k) {
         k.add_table(nft::Family::ip, "ztunnel", "");
         k.add_set(nft::Family::ip, "ztunnel", "pods");
       },
       "error: table ip ztunnel was not loaded by ztc (it lacks the comment \"managed by ztc\"); "
       "not changing it\n"},
      {"no such set", [](nft::FakeSetKernel& k) { k.add_table(nft::Family::ip, "ztunnel"); },
       "policy.zt:4:1: error: set 'pods' is not in the loaded table ip ztunnel: the policy "
       "changed since it was loaded; run `ztc load`\n"
       "    set pods: ipv4 managed\n"
       "    ^\n"},
      {"another type",
       [](nft::FakeSetKernel& k) {
         k.add_table(nft::Family::ip, "ztunnel");
         k.add_set(nft::Family::ip, "ztunnel", "pods", "ipv6_addr");
       },
       "policy.zt:4:1: error: set 'pods' holds ipv6_addr in the kernel but the policy says "
       "ipv4_addr: run `ztc load` with this policy first\n"
       "    set pods: ipv4 managed\n"
       "    ^\n"},
  };
  CompiledPolicy policy = compile(kPolicy);
  Diagnostics unused;
  SetTarget pods = *find_managed_set(policy.table, policy.routing, "pods", unused);
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      nft::FakeSetKernel nft;
      route::FakeRoutingKernel routing;
      routing.add_device("istioin");
      c.setup(nft);
      Kernels kernels{nft, routing};
      for (int op = 0; op < 3; ++op) {
        EnrollResult result = op == 0   ? add_members(pods, inputs({"10.244.0.5"}), kernels, nft)
                              : op == 1 ? remove_members(pods, inputs({"10.244.0.5"}), kernels, nft)
                                        : sync_members(pods, inputs({"10.244.0.5"}), kernels, nft);
        BOOST_TEST(!result.ok);
        BOOST_TEST(result.diagnostics.render() == c.message);
      }
      Diagnostics listing;
      BOOST_TEST(!list_members(pods, nft, listing));
      BOOST_TEST(listing.render() == c.message);
      BOOST_TEST(nft.calls.empty());
      BOOST_TEST(routing.writes() == 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_read_failure_is_reported_and_nothing_written) {
  Node node;
  node.nft.read_error = "Operation not permitted";
  EnrollResult result = add_members(node.pods, inputs({"10.244.0.5"}), node.kernels, node.nft);
  BOOST_TEST(!result.ok);
  BOOST_TEST(result.diagnostics.render() ==
             "error: cannot read set 'pods' of table ip ztunnel: Operation not permitted\n");
  BOOST_TEST(node.nft.calls.empty());
}

BOOST_AUTO_TEST_CASE(removing_members_takes_their_routes_and_skips_absent_ones) {
  Node node;
  node.enrolled({with_comment("10.244.0.5", "uid-5"), with_comment("10.244.0.6", "uid-6")});
  EnrollResult result =
      remove_members(node.pods, {with_comment("10.244.0.5", "ignored"), {"10.244.0.7", {}, {}}},
                     node.kernels, node.nft);
  BOOST_TEST_REQUIRE(result.ok, result.diagnostics.render());
  BOOST_TEST(node.buffers() == Lines{"delete element ip ztunnel pods { 10.244.0.5 }\n"},
             per_element());
  BOOST_TEST(node.log() == Lines{"delete " + route_text("10.244.0.5")}, per_element());
  BOOST_TEST(node.members() == Lines{"10.244.0.6 comment \"uid-6\""}, per_element());
  BOOST_TEST(node.routes() == Lines{route_text("10.244.0.6")}, per_element());
  BOOST_TEST_REQUIRE(result.removed.size() == 1u);
  BOOST_TEST(result.removed[0].comment == "uid-5");
  BOOST_TEST(result.unchanged == 1u);

  node.forget();
  EnrollResult absent =
      remove_members(node.pods, inputs({"10.244.0.5", "10.244.0.7"}), node.kernels, node.nft);
  BOOST_TEST_REQUIRE(absent.ok, absent.diagnostics.render());
  BOOST_TEST(!absent.changed());
  BOOST_TEST(node.nft.calls.empty());
  BOOST_TEST(node.routing.writes() == 0);
}

BOOST_AUTO_TEST_CASE(removing_a_member_whose_route_is_already_gone_succeeds) {
  Node node;
  node.enrolled({{"10.244.0.5", {}, {}}});
  route::Route route = route::derive_route(node.pods.derived[0], *parse_ip_prefix("10.244.0.5"));
  BOOST_TEST_REQUIRE(!node.routing.delete_route(route));
  node.forget();
  EnrollResult result = remove_members(node.pods, inputs({"10.244.0.5"}), node.kernels, node.nft);
  BOOST_TEST_REQUIRE(result.ok, result.diagnostics.render());
  BOOST_TEST(node.members().empty());
  BOOST_TEST(result.routes.empty());
}

BOOST_AUTO_TEST_CASE(a_failed_route_delete_puts_members_and_routes_back) {
  Node node;
  node.enrolled({with_comment("10.244.0.5", "uid-5"), with_comment("10.244.0.6", "uid-6")});
  node.routing.fail_write(2, "Operation not permitted");
  EnrollResult result =
      remove_members(node.pods, inputs({"10.244.0.5", "10.244.0.6"}), node.kernels, node.nft);
  BOOST_TEST(!result.ok);
  BOOST_TEST(node.buffers() ==
                 Lines({"delete element ip ztunnel pods { 10.244.0.5, 10.244.0.6 }\n",
                        "add element ip ztunnel pods { 10.244.0.5 comment \"uid-5\", 10.244.0.6 "
                        "comment \"uid-6\" }\n"}),
             per_element());
  BOOST_TEST(node.log() == Lines({"delete " + route_text("10.244.0.5"),
                                  "FAILED delete " + route_text("10.244.0.6"),
                                  "add " + route_text("10.244.0.5")}),
             per_element());
  BOOST_TEST(
      node.members() == Lines({"10.244.0.5 comment \"uid-5\"", "10.244.0.6 comment \"uid-6\""}),
      per_element());
  BOOST_TEST(node.routes().size() == 2u);
  BOOST_TEST(result.removed.empty());
}

BOOST_AUTO_TEST_CASE(sync_makes_the_members_exactly_the_list_and_repairs_routes) {
  Node node;
  node.enrolled({with_comment("10.244.0.1", "a"), with_comment("10.244.0.2", "b"),
                 with_comment("10.244.0.3", "c")});
  // A route that went missing behind ztc's back.
  route::Route lost = route::derive_route(node.pods.derived[0], *parse_ip_prefix("10.244.0.2"));
  BOOST_TEST_REQUIRE(!node.routing.delete_route(lost));
  node.forget();
  EnrollResult result = sync_members(
      node.pods,
      {with_comment("10.244.0.2", "b"), {"10.244.0.3", {}, {}}, with_comment("10.244.0.4", "d")},
      node.kernels, node.nft);
  BOOST_TEST_REQUIRE(result.ok, result.diagnostics.render());
  BOOST_TEST(node.buffers() ==
                 Lines{"delete element ip ztunnel pods { 10.244.0.3, 10.244.0.1 }\n"
                       "add element ip ztunnel pods { 10.244.0.3, 10.244.0.4 comment \"d\" }\n"},
             per_element());
  BOOST_TEST(
      node.log() == Lines({"add " + route_text("10.244.0.2"), "add " + route_text("10.244.0.4"),
                           "delete " + route_text("10.244.0.1")}),
      per_element());
  BOOST_TEST(node.members() ==
                 Lines({"10.244.0.2 comment \"b\"", "10.244.0.3", "10.244.0.4 comment \"d\""}),
             per_element());
  BOOST_TEST(node.routes() == Lines({route_text("10.244.0.3"), route_text("10.244.0.2"),
                                     route_text("10.244.0.4")}),
             per_element());
  BOOST_TEST(result.added.size() == 1u);
  BOOST_TEST(result.removed.size() == 1u);
  BOOST_TEST(result.recommented.size() == 1u);  // 10.244.0.3 lost its comment
  BOOST_TEST(result.unchanged == 1u);
  BOOST_TEST(node.nft.lists == 1);
}

BOOST_AUTO_TEST_CASE(sync_to_the_same_members_writes_nothing) {
  Node node;
  node.enrolled({with_comment("10.244.0.1", "a"), {"10.244.0.2", {}, {}}});
  EnrollResult result = sync_members(
      node.pods, {with_comment("10.244.0.1", "a"), {"10.244.0.2", {}, {}}}, node.kernels, node.nft);
  BOOST_TEST_REQUIRE(result.ok, result.diagnostics.render());
  BOOST_TEST(!result.changed());
  BOOST_TEST(result.unchanged == 2u);
  BOOST_TEST(node.nft.calls.empty());
  BOOST_TEST(node.routing.writes() == 0);
}

BOOST_AUTO_TEST_CASE(sync_to_nothing_is_refused_unless_allowed) {
  Node node;
  node.enrolled(inputs({"10.244.0.1", "10.244.0.2"}));
  EnrollResult refused = sync_members(node.pods, {}, node.kernels, node.nft);
  BOOST_TEST(!refused.ok);
  BOOST_TEST(refused.diagnostics.render() ==
             "error: the member list is empty: syncing set 'pods' to it would remove all 2 "
             "members; pass --allow-empty if that is meant\n"
             "note: nothing was changed\n");
  BOOST_TEST(node.nft.calls.empty());
  BOOST_TEST(node.routing.writes() == 0);
  BOOST_TEST(node.members() == Lines({"10.244.0.1", "10.244.0.2"}), per_element());

  // An empty set synced to nothing is no loss: nothing to refuse.
  Node fresh;
  BOOST_TEST(sync_members(fresh.pods, {}, fresh.kernels, fresh.nft).ok);

  EnrollResult result = sync_members(node.pods, {}, node.kernels, node.nft, {true});
  BOOST_TEST_REQUIRE(result.ok, result.diagnostics.render());
  BOOST_TEST(node.members().empty());
  BOOST_TEST(node.routes().empty());
  BOOST_TEST(node.routing.all_routes().size() == 1u);  // the foreign one stays
}

BOOST_AUTO_TEST_CASE(a_failed_sync_leaves_members_and_routes_as_they_were) {
  Node node;
  node.enrolled({with_comment("10.244.0.1", "a"), with_comment("10.244.0.2", "b")});
  std::vector<std::string> members_before = node.members();
  std::vector<std::string> routes_before = node.routes();
  node.routing.fail_write(2);  // add .3 succeeds, delete .1 fails
  EnrollResult result =
      sync_members(node.pods, {with_comment("10.244.0.2", "new"), {"10.244.0.3", {}, {}}},
                   node.kernels, node.nft);
  BOOST_TEST(!result.ok);
  BOOST_TEST(node.nft.calls.size() == 2u);  // the change and its revert
  std::vector<std::string> members_after = node.members();
  std::sort(members_after.begin(), members_after.end());
  BOOST_TEST(members_after == members_before, per_element());
  BOOST_TEST(node.routes() == routes_before, per_element());
  BOOST_TEST(!result.changed());
}

BOOST_AUTO_TEST_CASE(many_elements_are_read_with_one_listing) {
  Node node;
  std::vector<MemberInput> many;
  for (size_t i = 0; i <= kLookupLimit; ++i) {
    many.push_back({"10.100." + std::to_string(i / 256) + "." + std::to_string(i % 256), {}, {}});
  }
  EnrollResult result = add_members(node.pods, many, node.kernels, node.nft);
  BOOST_TEST_REQUIRE(result.ok, result.diagnostics.render());
  BOOST_TEST(node.nft.lists == 1);
  BOOST_TEST(node.nft.finds == 0);
  BOOST_TEST(node.nft.calls.size() == 1u);  // one transaction for all of them
  BOOST_TEST(node.members().size() == kLookupLimit + 1);
  BOOST_TEST(node.routes().size() == kLookupLimit + 1);
  // The same again: all present, nothing written.
  node.forget();
  EnrollResult again = add_members(node.pods, many, node.kernels, node.nft);
  BOOST_TEST(again.ok);
  BOOST_TEST(again.unchanged == kLookupLimit + 1);
  BOOST_TEST(node.nft.calls.empty());
  BOOST_TEST(node.routing.writes() == 0);
}

BOOST_AUTO_TEST_CASE(sets_without_derived_routes_change_elements_only) {
  Node node;
  EnrollResult ports =
      add_members(node.target("ports"), inputs({"6081", "15008"}), node.kernels, node.nft);
  BOOST_TEST_REQUIRE(ports.ok, ports.diagnostics.render());
  EnrollResult veths = add_members(node.target("veths"), inputs({"veth1"}), node.kernels, node.nft);
  BOOST_TEST_REQUIRE(veths.ok, veths.diagnostics.render());
  BOOST_TEST(node.buffers() == Lines({"add element ip ztunnel ports { 6081, 15008 }\n",
                                      "add element ip ztunnel veths { \"veth1\" }\n"}),
             per_element());
  BOOST_TEST(node.routing.writes() == 0);
  Diagnostics diagnostics;
  auto listed = list_members(node.target("ports"), node.nft, diagnostics);
  BOOST_TEST_REQUIRE(listed.has_value());
  BOOST_TEST_REQUIRE(listed->size() == 2u);
  BOOST_TEST((*listed)[0].value == "6081");  // numerically
  BOOST_TEST((*listed)[1].value == "15008");
}

BOOST_AUTO_TEST_CASE(listing_is_sorted_by_address) {
  Node node;
  node.enrolled({{"10.244.0.10", {}, {}}, with_comment("10.244.0.9", "nine"), {"9.0.0.1", {}, {}}});
  Diagnostics diagnostics;
  auto listed = list_members(node.pods, node.nft, diagnostics);
  BOOST_TEST_REQUIRE(listed.has_value(), diagnostics.render());
  Lines lines;
  for (const nft::Element& e : *listed) lines.push_back(member_line(e));
  BOOST_TEST(lines == Lines({"9.0.0.1", "10.244.0.9 comment \"nine\"", "10.244.0.10"}),
             per_element());
}

BOOST_AUTO_TEST_CASE(member_files_parse_one_element_a_line) {
  auto file = std::make_shared<SourceFile>("pods.txt",
                                           "# enrolled pods\n"
                                           "10.244.0.5 comment \"uid-5\"\n"
                                           "\n"
                                           "  10.244.0.6   # no comment\n"
                                           "10.244.0.7 comment \"has # and spaces\"\n"
                                           "10.244.0.8 comment plain-word\r\n");
  Diagnostics diagnostics;
  std::vector<MemberInput> members = parse_member_lines(file, diagnostics);
  BOOST_TEST(diagnostics.render() == "");
  BOOST_TEST_REQUIRE(members.size() == 4u);
  BOOST_TEST(members[0].value == "10.244.0.5");
  BOOST_TEST(members[0].comment.value_or("-") == "uid-5");
  BOOST_TEST(members[0].location.line == 2);
  BOOST_TEST(members[1].value == "10.244.0.6");
  BOOST_TEST(!members[1].comment.has_value());
  BOOST_TEST(members[1].location.column == 3);
  BOOST_TEST(members[2].comment.value_or("-") == "has # and spaces");
  BOOST_TEST(members[3].comment.value_or("-") == "plain-word");

  auto bad = std::make_shared<SourceFile>("pods.txt",
                                          "10.244.0.5 uid\n"
                                          "10.244.0.6 comment \"open\n"
                                          "10.244.0.300\n");
  Diagnostics errors;
  std::vector<MemberInput> parsed = parse_member_lines(bad, errors);
  BOOST_TEST(errors.render() ==
             "pods.txt:1:12: error: expected ELEMENT or ELEMENT comment \"TEXT\"\n"
             "    10.244.0.5 uid\n"
             "               ^\n"
             "pods.txt:2:20: error: unterminated string\n"
             "    10.244.0.6 comment \"open\n"
             "                       ^\n");
  // Element values are checked against the set later, at their line.
  Node node;
  Diagnostics values;
  check_members(node.pods, parsed, values);
  BOOST_TEST(values.render() ==
             "pods.txt:3:1: error: element '10.244.0.300' of set 'pods' (ipv4): not an IPv4 "
             "address\n"
             "    10.244.0.300\n"
             "    ^\n");
}

// kPolicy with `from` replaced by `to` (exactly once).
std::string policy_with(const std::string& from, const std::string& to) {
  std::string text = kPolicy;
  size_t at = text.find(from);
  BOOST_REQUIRE(at != std::string::npos && text.find(from, at + 1) == std::string::npos);
  return text.replace(at, from.size(), to);
}

BOOST_AUTO_TEST_CASE(load_records_the_member_routes_of_each_managed_set) {
  CompiledPolicy policy = compile(kPolicy);
  std::vector<std::string> comments;
  for (const nft::Set& set : policy.table.sets) comments.push_back(set.name + ": " + set.comment);
  BOOST_TEST(
      comments ==
          Lines({"pods: ztc member routes: via 192.168.126.2 dev istioin src 10.244.1.1 "
                 "table 100",
                 "dns: ", "ports: ztc member routes: none", "veths: ztc member routes: none"}),
      per_element());

  // Sorted, so the order of route statements does not matter; only the
  // set's family counts.
  const std::string two =
      "table inet t\n"
      "iface eth = \"eth0\"\n"
      "param gw: ipv4 = 10.0.0.1\n"
      "set pods: ipv4 managed\n"
      "set pods6: ipv6 managed\n"
      "route 200 for pods { member via gw dev eth metric 7 }\n"
      "route 100 for pods { member dev eth scope link }\n"
      "route 100 for pods6 { member via fd00::1 dev eth }\n";
  CompiledPolicy dual = compile(two);
  BOOST_TEST(dual.table.sets[0].comment ==
             "ztc member routes: dev eth0 scope link table 100, via 10.0.0.1 dev eth0 metric 7 "
             "table 200");
  BOOST_TEST(dual.table.sets[1].comment == "ztc member routes: via fd00::1 dev eth0 table 100");
  BOOST_TEST(compile(two, {{"gw", "10.0.0.9"}}).table.sets[0].comment !=
             dual.table.sets[0].comment);

  // nft keeps 128 characters of comment: longer records are hashed, stably.
  std::string many = "table ip t\niface eth = \"eth0\"\nset pods: ipv4 managed\n";
  for (int table = 100; table < 104; ++table) {
    many += "route " + std::to_string(table) + " for pods { member via 10.0.0.1 dev eth }\n";
  }
  std::string hashed = compile(many).table.sets[0].comment;
  BOOST_TEST(hashed.size() == std::string("ztc member routes: #").size() + 16);
  BOOST_TEST(hashed.rfind("ztc member routes: #", 0) == 0u);
  BOOST_TEST(compile(many).table.sets[0].comment == hashed);
  BOOST_TEST(compile(many + "route 104 for pods { member via 10.0.0.1 dev eth }\n")
                 .table.sets[0]
                 .comment != hashed);
}

BOOST_AUTO_TEST_CASE(set_commands_refuse_a_policy_with_other_member_routes) {
  // Loaded with route 100 for pods; the command is given route 200.
  Node node;
  node.enrolled(inputs({"10.244.0.5"}));
  CompiledPolicy other = compile(policy_with("route 100 for pods", "route 200 for pods"));
  Diagnostics unused;
  SetTarget pods = *find_managed_set(other.table, other.routing, "pods", unused);
  const std::string message =
      "policy.zt:15:3: error: set 'pods' of table ip ztunnel was loaded from another policy: the "
      "loaded policy routes its members via 192.168.126.2 dev istioin src 10.244.1.1 table 100; "
      "this one routes its members via 192.168.126.2 dev istioin src 10.244.1.1 table 200\n"
      "      member via 192.168.126.2 dev tunnel_in src 10.244.1.1\n"
      "      ^\n"
      "note: give `ztc set` the policy file and -D values that were loaded, or `ztc load` this "
      "policy first; nothing was changed\n";
  for (int op = 0; op < 3; ++op) {
    BOOST_TEST_CONTEXT("operation " << op) {
      EnrollResult result =
          op == 0   ? add_members(pods, inputs({"10.244.0.6"}), node.kernels, node.nft)
          : op == 1 ? remove_members(pods, inputs({"10.244.0.5"}), node.kernels, node.nft)
                    : sync_members(pods, inputs({"10.244.0.6"}), node.kernels, node.nft);
      BOOST_TEST(!result.ok);
      BOOST_TEST(in_order(result.diagnostics) == message);
    }
  }
  BOOST_TEST(node.nft.calls.empty());
  BOOST_TEST(node.routing.writes() == 0);
  BOOST_TEST(node.members() == Lines({"10.244.0.5"}), per_element());
  // Listing reads only the set: it does not depend on the routes.
  Diagnostics listing;
  BOOST_TEST(list_members(pods, node.nft, listing).has_value(), listing.render());
}

BOOST_AUTO_TEST_CASE(other_define_values_for_the_template_are_refused) {
  const std::string text =
      "param gateway: ipv4 = 192.168.126.2\n" +
      policy_with("  member via 192.168.126.2 dev", "  member via gateway dev");
  Node node;
  node.loaded_with(compile(text));
  CompiledPolicy same = compile(text, {{"gateway", "192.168.126.2"}});
  CompiledPolicy other = compile(text, {{"gateway", "192.168.126.3"}});
  Diagnostics unused;
  SetTarget same_pods = *find_managed_set(same.table, same.routing, "pods", unused);
  SetTarget other_pods = *find_managed_set(other.table, other.routing, "pods", unused);
  EnrollResult refused = add_members(other_pods, inputs({"10.244.0.6"}), node.kernels, node.nft);
  BOOST_TEST(!refused.ok);
  BOOST_TEST(refused.diagnostics.render().find(
                 "the loaded policy routes its members via 192.168.126.2 dev istioin src "
                 "10.244.1.1 table 100; this one routes its members via 192.168.126.3 dev "
                 "istioin src 10.244.1.1 table 100\n") != std::string::npos,
             refused.diagnostics.render());
  BOOST_TEST(node.nft.calls.empty());
  EnrollResult added = add_members(same_pods, inputs({"10.244.0.6"}), node.kernels, node.nft);
  BOOST_TEST(added.ok, added.diagnostics.render());
}

BOOST_AUTO_TEST_CASE(a_change_elsewhere_in_the_policy_does_not_matter) {
  // Another capture rule, a new line above everything (every line number
  // moves), another route, and the member route written on one line.
  std::string changed =
      "# a comment line\n" + policy_with("  tcp saddr @pods => mark |= outbound\n",
                                         "  udp saddr @pods => mark |= outbound, counter\n");
  changed = changed.substr(0, changed.find("route 100 for pods")) +
            "route 100 for pods { member via 192.168.126.2 dev tunnel_in src 10.244.1.1 }\n"
            "route 101 { default dev tunnel_in }\n";
  Node node;
  CompiledPolicy policy = compile(changed);
  Diagnostics unused;
  SetTarget pods = *find_managed_set(policy.table, policy.routing, "pods", unused);
  EnrollResult result = add_members(pods, inputs({"10.244.0.6"}), node.kernels, node.nft);
  BOOST_TEST(result.ok, result.diagnostics.render());
  BOOST_TEST(node.members() == Lines({"10.244.0.6"}), per_element());
}

BOOST_AUTO_TEST_CASE(a_set_loaded_without_a_record_is_refused_until_reloaded) {
  // What ztc before the records left: the set carries no comment.
  Node node;
  node.nft.add_set(nft::Family::ip, "ztunnel", "pods").comment = "";
  EnrollResult result = add_members(node.pods, inputs({"10.244.0.6"}), node.kernels, node.nft);
  BOOST_TEST(!result.ok);
  BOOST_TEST(in_order(result.diagnostics) ==
             "policy.zt:15:3: error: set 'pods' of table ip ztunnel does not record which member "
             "routes it was loaded with (an older ztc loaded it): run `ztc load` with this "
             "policy once (members are kept)\n"
             "      member via 192.168.126.2 dev tunnel_in src 10.244.1.1\n"
             "      ^\n"
             "note: give `ztc set` the policy file and -D values that were loaded, or `ztc load` "
             "this policy first; nothing was changed\n");
  BOOST_TEST(node.nft.calls.empty());
  BOOST_TEST(node.routing.writes() == 0);
}

BOOST_AUTO_TEST_CASE(addresses_no_pod_can_have_are_not_enrolled) {
  Node node;
  node.pods.node_addresses = {{"10.244.1.1", "veth1"}};
  const std::string suffix =
      " cannot be a pod (a set declared `managed any_address` may hold it)\n";
  std::vector<MemberInput> bad =
      inputs({"10.244.0.5", "0.0.0.0", "127.0.0.1", "169.254.169.254", "224.0.0.1",
              "239.255.255.250", "255.255.255.255", "10.244.1.1"});
  for (int op = 0; op < 2; ++op) {
    EnrollResult result = op == 0 ? add_members(node.pods, bad, node.kernels, node.nft)
                                  : sync_members(node.pods, bad, node.kernels, node.nft);
    BOOST_TEST(!result.ok);
    BOOST_TEST(in_order(result.diagnostics) ==
               "error: element '0.0.0.0' of set 'pods': an unspecified address" + suffix +
                   "error: element '127.0.0.1' of set 'pods': a loopback address" + suffix +
                   "error: element '169.254.169.254' of set 'pods': a link-local address" + suffix +
                   "error: element '224.0.0.1' of set 'pods': a multicast address" + suffix +
                   "error: element '239.255.255.250' of set 'pods': a multicast address" + suffix +
                   "error: element '255.255.255.255' of set 'pods': the broadcast address" +
                   suffix +
                   "error: element '10.244.1.1' of set 'pods': an address of this node (on "
                   "veth1)" +
                   suffix + "note: nothing was changed\n");
  }
  BOOST_TEST(node.nft.calls.empty());
  BOOST_TEST(node.routing.writes() == 0);
  BOOST_TEST(node.members().empty());

  // A member an older ztc let in can be removed.
  node.nft.run("add element ip ztunnel pods { 127.0.0.1 }", false);
  node.forget();
  EnrollResult removed = remove_members(node.pods, inputs({"127.0.0.1"}), node.kernels, node.nft);
  BOOST_TEST(removed.ok, removed.diagnostics.render());
  BOOST_TEST(node.members().empty());

  // A set that says `any_address` takes them.
  Node any;
  any.policy = compile(policy_with("set pods: ipv4 managed", "set pods: ipv4 managed any_address"));
  any.loaded_with(any.policy);
  any.pods = any.target("pods");
  any.pods.node_addresses = {{"10.244.1.1", "veth1"}};
  EnrollResult taken =
      add_members(any.pods, inputs({"127.0.0.1", "10.244.1.1"}), any.kernels, any.nft);
  BOOST_TEST(taken.ok, taken.diagnostics.render());
  BOOST_TEST(any.members() == Lines({"127.0.0.1", "10.244.1.1"}), per_element());
}

BOOST_AUTO_TEST_CASE(ipv6_addresses_no_pod_can_have_are_not_enrolled) {
  CompiledPolicy policy = compile(
      "table ip6 z\niface eth = \"eth0\"\nset pods6: ipv6 managed\n"
      "route 100 for pods6 { member dev eth }\n");
  Diagnostics unused;
  SetTarget pods6 = *find_managed_set(policy.table, policy.routing, "pods6", unused);
  pods6.node_addresses = {{"fd00::1", "eth0"}};
  Diagnostics diagnostics;
  std::vector<nft::Element> ok = check_members(
      pods6, inputs({"fd00::5", "::", "::1", "fe80::1", "febf::1", "ff02::1", "FD00::1"}),
      diagnostics);
  const std::string suffix =
      " cannot be a pod (a set declared `managed any_address` may hold it)\n";
  BOOST_TEST(in_order(diagnostics) ==
             "error: element '::' of set 'pods6': an unspecified address" + suffix +
                 "error: element '::1' of set 'pods6': a loopback address" + suffix +
                 "error: element 'fe80::1' of set 'pods6': a link-local address" + suffix +
                 "error: element 'febf::1' of set 'pods6': a link-local address" + suffix +
                 "error: element 'ff02::1' of set 'pods6': a multicast address" + suffix +
                 "error: element 'fd00::1' of set 'pods6': an address of this node (on eth0)" +
                 suffix);
  BOOST_TEST_REQUIRE(ok.size() == 1u);
  BOOST_TEST(ok[0].value == "fd00::5");
}

BOOST_AUTO_TEST_CASE(the_fake_set_kernel_is_all_or_nothing_like_nft) {
  nft::FakeSetKernel nft;
  nft.add_table(nft::Family::ip, "t");
  nft.add_set(nft::Family::ip, "t", "s").members = {{"10.0.0.1", "x"}};
  // Deleting an absent element fails the whole buffer.
  nft::ApplyResult failed =
      nft.run("add element ip t s { 10.0.0.2 }\ndelete element ip t s { 10.0.0.9 }\n", false);
  BOOST_TEST(!failed.success);
  BOOST_TEST(nft.committed.empty());
  BOOST_TEST(nft.set(nft::Family::ip, "t", "s")->members.size() == 1u);
  // Adding a present element keeps its comment, like nft.
  BOOST_TEST(nft.run("add element ip t s { 10.0.0.1 comment \"y\", 10.0.0.2 }\n", false).success);
  const auto& members = nft.set(nft::Family::ip, "t", "s")->members;
  BOOST_TEST_REQUIRE(members.size() == 2u);
  BOOST_TEST(members[0].comment == "x");
  BOOST_TEST(nft.element_writes == 1);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace ztc
