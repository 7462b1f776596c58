// Kernel tests of the compiled output: every example is compiled in process
// and loaded into a throwaway network namespace that has the reference
// node's interfaces. nft must accept the text and the JSON, a reload must
// change nothing and leave one table, the kernel's listing must equal
// testdata/examples/<name>.nft-list, and the routing plan must apply with
// `ip -batch` and show up in `ip rule` / `ip route` with protocol 122.
//
// Nothing here touches the root namespace: every command runs through
// `ip netns exec` in a namespace the test created (ScopedTestNetns deletes it
// on every path out, failures and exceptions included).
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "backend/netns.h"
#include "backend/nft_json.h"
#include "backend/nft_text.h"
#include "backend/routing_text.h"
#include "compiler/compile.h"
#include "model/enroll_fingerprint.h"
#include "model/routing_plan.h"
#include "testsupport/golden.h"
#include "testsupport/test_netns.h"

namespace ztc {
namespace {

using testing::compare_golden;
using testing::source_path;

using testing::SourceTreeFileSystem;

// Files handed to nft and ip inside the namespace; removed at the end.
class ScratchFiles {
 public:
  ScratchFiles() {
    char pattern[] = "/tmp/ztc-kernel-compile-XXXXXX";
    const char* made = mkdtemp(pattern);
    if (made == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = made;
  }
  ~ScratchFiles() { std::system(("rm -rf " + shell_quote(dir_)).c_str()); }
  ScratchFiles(const ScratchFiles&) = delete;
  ScratchFiles& operator=(const ScratchFiles&) = delete;

  std::string write(const std::string& name, const std::string& text) const {
    std::string path = dir_ + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    return path;
  }

 private:
  std::string dir_;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && line.back() == ' ') line.pop_back();  // iproute2 pads some lines
    lines.push_back(line);
  }
  return lines;
}

bool contains_line(const std::string& text, const std::string& line) {
  auto lines = lines_of(text);
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

size_t count_containing(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (const std::string& line : lines_of(text)) n += line.find(needle) != std::string::npos;
  return n;
}

// Runs a command in the namespace and requires it to succeed.
std::string must(const ScopedTestNetns& netns, const std::string& command) {
  CommandResult result = netns.run(command);
  BOOST_TEST_REQUIRE(result.exit_code == 0, command << " failed: " << result.output);
  return result.output;
}

// One interface of the reference node: the host side of a veth pair (its
// peer stays in the same namespace, up, so the link has carrier) with the
// addresses that make the policy's gateways reachable.
struct Link {
  std::string name;
  std::string peer;
  std::string ipv4;  // with prefix length
  std::string ipv6;  // empty: none
};

void add_links(const ScopedTestNetns& netns, const std::vector<Link>& links) {
  for (const Link& link : links) {
    must(netns, "ip link add " + link.name + " type veth peer name " + link.peer);
    must(netns, "ip link set " + link.peer + " up && ip link set " + link.name + " up");
    must(netns, "ip -4 addr add " + link.ipv4 + " dev " + link.name);
    if (!link.ipv6.empty()) {
      // nodad: usable at once, so routes via the neighbour are accepted.
      must(netns, "ip -6 addr add " + link.ipv6 + " dev " + link.name + " nodad");
    }
  }
}

struct Example {
  std::string name;
  std::vector<Link> links;
  // A member of each managed set, to install one derived route per set.
  std::string pod_ipv4;
  std::string pod_ipv6;
  // Exact lines the kernel must list after the routing plan is applied.
  std::vector<std::string> ipv4_rules;
  std::vector<std::string> ipv4_routes;  // `ip -4 route show table all`
  std::vector<std::string> ipv6_rules;
  std::vector<std::string> ipv6_routes;  // `ip -6 route show table all`
};

CompiledPolicy compile_example(const std::string& name) {
  SourceTreeFileSystem files;
  Diagnostics diagnostics;
  auto compiled = compile_policy("examples/" + name + ".zt", files, {}, diagnostics);
  BOOST_TEST_REQUIRE(diagnostics.render() == "");
  BOOST_TEST_REQUIRE(compiled.has_value());
  return std::move(*compiled);
}

std::string list_table(const ScopedTestNetns& netns, const nft::Table& table) {
  return must(netns, "nft -s list table " + nft::table_spec(table.family, table.name));
}

std::string table_line(const nft::Table& table) {
  return "table " + nft::table_spec(table.family, table.name) + "\n";
}

// The table's owner comment and the managed sets' member-route records are
// the things the JSON cannot carry: nft 1.0.6 ignores table and set comments
// in JSON (see backend/nft_json.cc). Apart from them, both outputs must give
// the same table.
const std::string kOwnerCommentLine = std::string("\tcomment \"") + nft::kOwnerComment + "\"\n";

std::string without_owner_comment(const std::string& listing) {
  std::string out = listing;
  size_t at = out.find(kOwnerCommentLine);
  if (at != std::string::npos) out.erase(at, kOwnerCommentLine.size());
  const std::string record = std::string("\t\tcomment \"") + kMemberRoutesPrefix;
  for (at = out.find(record); at != std::string::npos; at = out.find(record, at)) {
    out.erase(at, out.find('\n', at) + 1 - at);
  }
  return out;
}

// nft: text twice, then JSON over it, then JSON alone into a fresh namespace.
// Returns the kernel's listing of the text.
std::string check_nft(const ScopedTestNetns& netns, const ScratchFiles& files,
                      const nft::Table& table) {
  std::string text = files.write("policy.nft", nft::emit_text(table).text);
  std::string json = files.write("policy.json", nft::emit_json(table));

  must(netns, "nft -f " + shell_quote(text));
  std::string first = list_table(netns, table);
  must(netns, "nft -f " + shell_quote(text));
  std::string second = list_table(netns, table);
  BOOST_TEST(second == first);
  BOOST_TEST(must(netns, "nft list tables") == table_line(table));

  BOOST_TEST(first.find(kOwnerCommentLine) != std::string::npos);
  must(netns, "nft -j -f " + shell_quote(json));
  BOOST_TEST(list_table(netns, table) == without_owner_comment(first));
  BOOST_TEST(must(netns, "nft list tables") == table_line(table));

  ScopedTestNetns fresh("ztc-kc-json");
  must(fresh, "nft -j -f " + shell_quote(json));
  must(fresh, "nft -j -f " + shell_quote(json));
  BOOST_TEST(list_table(fresh, table) == without_owner_comment(first));
  BOOST_TEST(must(fresh, "nft list tables") == table_line(table));
  return first;
}

size_t rules_of(const route::Plan& plan, IpFamily family) {
  return std::count_if(plan.rules.begin(), plan.rules.end(),
                       [&](const route::Rule& r) { return r.family == family; });
}

size_t routes_of(const route::Plan& plan, IpFamily family) {
  return std::count_if(plan.routes.begin(), plan.routes.end(),
                       [&](const route::Route& r) { return r.family == family; });
}

void check_routing_family(const ScopedTestNetns& netns, const ScratchFiles& files,
                          const route::Plan& plan, IpFamily family, const std::string& pod,
                          const std::vector<std::string>& expected_rules,
                          const std::vector<std::string>& expected_routes) {
  const std::string flag = family == IpFamily::v4 ? "-4" : "-6";
  BOOST_TEST_CONTEXT("ip " << flag) {
    std::string batch = files.write("routes" + flag, route::emit_batch(plan, family));
    must(netns, "ip " + flag + " -batch - < " + shell_quote(batch));

    // One member route per derived template, as enrolling a pod would add.
    for (const route::DerivedRoutes& derived : plan.derived) {
      if (derived.route.family != family) continue;
      route::Route member = route::derive_route(derived, *parse_ip_prefix(pod));
      must(netns, "ip " + flag + " route add " + route::route_args(member));
    }

    std::string rules = must(netns, "ip " + flag + " rule show");
    std::string routes = must(netns, "ip " + flag + " route show table all");
    for (const std::string& line : expected_rules) {
      BOOST_TEST(contains_line(rules, line), "missing rule line: " << line << "\n" << rules);
    }
    for (const std::string& line : expected_routes) {
      BOOST_TEST(contains_line(routes, line), "missing route line: " << line << "\n" << routes);
    }
    // Exactly the plan's entries carry ztc's protocols (member routes their
    // own): nothing lost, nothing doubled.
    size_t derived_count = std::count_if(plan.derived.begin(), plan.derived.end(),
                                         [&](const auto& d) { return d.route.family == family; });
    BOOST_TEST(count_containing(rules, "proto 122") == rules_of(plan, family));
    BOOST_TEST(count_containing(routes, "proto 122") == routes_of(plan, family));
    BOOST_TEST(count_containing(routes, "proto 123") == derived_count);
  }
}

void check_sysctls(const ScopedTestNetns& netns, const route::Plan& plan) {
  for (const route::Sysctl& sysctl : plan.sysctls) {
    std::string path = "/proc/sys/" + sysctl.key;
    std::replace(path.begin() + 10, path.end(), '.', '/');
    must(netns, "echo " + sysctl.value + " > " + path);
    BOOST_TEST(must(netns, "cat " + path) == sysctl.value + "\n", path);
  }
}

void check_example(const Example& example) {
  BOOST_TEST_CONTEXT(example.name) {
    CompiledPolicy compiled = compile_example(example.name);
    ScratchFiles files;
    ScopedTestNetns netns("ztc-kc");
    add_links(netns, example.links);

    std::string listing = check_nft(netns, files, compiled.table);
    BOOST_TEST(compare_golden("testdata/examples/" + example.name + ".nft-list", listing) == "");

    check_routing_family(netns, files, compiled.routing, IpFamily::v4, example.pod_ipv4,
                         example.ipv4_rules, example.ipv4_routes);
    if (!example.pod_ipv6.empty()) {
      check_routing_family(netns, files, compiled.routing, IpFamily::v6, example.pod_ipv6,
                           example.ipv6_rules, example.ipv6_routes);
    } else {
      BOOST_TEST(route::emit_batch(compiled.routing, IpFamily::v6).find("add") == std::string::npos);
    }
    check_sysctls(netns, compiled.routing);
  }
}

const Link kIstioIn{"istioin", "pistioin", "192.168.126.1/30", ""};
const Link kIstioOut{"istioout", "pistioout", "192.168.127.1/30", ""};

BOOST_AUTO_TEST_SUITE(kernel_compile)

BOOST_AUTO_TEST_CASE(ambient_node, *boost::unit_test::label("kernel")) {
  Example example;
  example.name = "ambient-node";
  example.links = {kIstioIn, kIstioOut, {"veth1ae58883", "eth0z", "10.244.1.1/24", ""}};
  example.pod_ipv4 = "10.244.1.5";
  example.ipv4_rules = {
      "100:\tfrom all fwmark 0x200/0x200 goto 32766 proto 122",
      "101:\tfrom all fwmark 0x100/0x100 lookup 101 proto 122",
      "102:\tfrom all fwmark 0x40/0x40 lookup 102 proto 122",
      "103:\tfrom all lookup 100 proto 122",
      "32766:\tfrom all lookup main",
  };
  example.ipv4_routes = {
      "default via 192.168.127.2 dev istioout table 101 proto 122",
      "10.244.1.2 dev veth1ae58883 table 101 proto 122 scope link",
      "default via 10.244.1.2 dev veth1ae58883 table 102 proto 122 onlink",
      "10.244.1.2 dev veth1ae58883 table 100 proto 122 scope link",
      "10.244.1.5 via 192.168.126.2 dev istioin table 100 proto 123 src 10.244.1.1",
  };
  check_example(example);
}

BOOST_AUTO_TEST_CASE(ambient_offmesh, *boost::unit_test::label("kernel")) {
  Example example;
  example.name = "ambient-offmesh";
  example.links = {kIstioIn,
                   kIstioOut,
                   {"veth9f0ba668", "eth0z", "10.244.1.1/24", ""},
                   {"cputunnel", "pcputunnel", "192.168.128.2/30", ""},
                   {"ens32", "pens32", "192.168.50.131/24", ""}};
  example.pod_ipv4 = "10.244.1.7";
  example.ipv4_rules = {
      "98:\tfrom all lookup 105 proto 122",
      "99:\tfrom all fwmark 0x240/0x240 lookup 104 proto 122",
      "100:\tfrom all fwmark 0x200/0x200 goto 32766 proto 122",
      "103:\tfrom all lookup 100 proto 122",
  };
  example.ipv4_routes = {
      "192.168.50.130 dev ens32 table 105 proto 122 scope link",
      "default via 192.168.128.1 dev cputunnel table 104 proto 122",
      "default via 10.244.1.3 dev veth9f0ba668 table 102 proto 122 onlink",
      "10.244.1.7 via 192.168.126.2 dev istioin table 100 proto 123 src 10.244.1.1",
  };
  check_example(example);
}

BOOST_AUTO_TEST_CASE(dual_stack, *boost::unit_test::label("kernel")) {
  Example example;
  example.name = "dual-stack";
  example.links = {{"istioin", "pistioin", "192.168.126.1/30", "fd00:126::1/64"},
                   {"istioout", "pistioout", "192.168.127.1/30", "fd00:127::1/64"},
                   {"veth1ae58883", "eth0z", "10.244.1.1/24", "fd00:10:244:1::1/64"}};
  example.pod_ipv4 = "10.244.1.5";
  example.pod_ipv6 = "fd00:10:244:1::5";
  example.ipv4_rules = {
      "100:\tfrom all fwmark 0x200/0x200 goto 32766 proto 122",
      "101:\tfrom all fwmark 0x100/0x100 lookup 101 proto 122",
  };
  example.ipv4_routes = {
      "default via 192.168.127.2 dev istioout table 101 proto 122",
      "10.244.1.5 via 192.168.126.2 dev istioin table 100 proto 123 src 10.244.1.1",
  };
  example.ipv6_rules = {
      "100:\tfrom all fwmark 0x200/0x200 goto 32766 proto 122",
      "102:\tfrom all fwmark 0x40/0x40 lookup 102 proto 122",
      "103:\tfrom all lookup 100 proto 122",
  };
  example.ipv6_routes = {
      "default via fd00:127::2 dev istioout table 101 proto 122 metric 1024 pref medium",
      "default via fd00:10:244:1::2 dev veth1ae58883 table 102 proto 122 metric 1024 onlink pref medium",
      "fd00:10:244:1::2 dev veth1ae58883 table 100 proto 122 metric 1024 pref medium",
      "fd00:10:244:1::5 via fd00:126::2 dev istioin table 100 proto 123 src fd00:10:244:1::1 metric 1024 pref medium",
  };
  check_example(example);
}

// Every example has a kernel test above: a new example needs one too.
BOOST_AUTO_TEST_CASE(every_example_is_covered, *boost::unit_test::label("kernel")) {
  std::vector<std::string> names;
  DIR* dir = opendir(source_path("examples").c_str());
  BOOST_TEST_REQUIRE(dir != nullptr);
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name.size() > 3 && name.compare(name.size() - 3, 3, ".zt") == 0) {
      names.push_back(name.substr(0, name.size() - 3));
    }
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  BOOST_TEST((names == std::vector<std::string>{"ambient-node", "ambient-offmesh", "dual-stack"}));
}

// The other valid policies (dispatch maps, copy chains, nat, IPv6): nft
// accepts text and JSON, reloads are idempotent, both give one listing.
BOOST_AUTO_TEST_CASE(good_policies_load, *boost::unit_test::label("kernel")) {
  for (const char* name : {"dispatch_and_copies", "ipv6_only", "nat_and_dnat", "with_include",
                           "included_helper_chains", "inet_dnat_per_family", "bypass_dnat_port",
                           "bypass_overlapping_ports"}) {
    BOOST_TEST_CONTEXT(name) {
      SourceTreeFileSystem files;
      Diagnostics diagnostics;
      auto compiled =
          compile_policy(std::string("testdata/good/") + name + ".zt", files, {}, diagnostics);
      BOOST_TEST_REQUIRE(diagnostics.render() == "");
      ScratchFiles scratch;
      ScopedTestNetns netns("ztc-kc-good");
      std::string listing = check_nft(netns, scratch, compiled->table);
      BOOST_TEST(listing.find("comment \"managed by ztc\"") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ztc
