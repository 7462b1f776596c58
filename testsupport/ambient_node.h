// The ambient node every kernel test starts from: a throwaway network
// namespace holding the node ends of the two tunnels (istioin, istioout; veth
// pairs stand in for geneve) and the ztunnel veth, addressed like
// examples/ambient-node.zt; testdata/ambient-node.sh makes it (the benchmarks
// run the same script). The namespace is deleted when the object goes,
// whatever happened in between.
//
// The kernel changes some state by itself: IPv6 link-local addresses finish
// duplicate address detection about a second after a link comes up, and only
// then are their `local` routes added. A test that compares route listings
// taken before and after a command would see them as a change. So the node
// generates no link-local addresses (addr_gen_mode 1) and routes() leaves out
// every route the kernel made itself (proto kernel): ztc writes only its own
// protocols (122; member routes 123) and never deletes another's.
#pragma once

#include <string>

#include "backend/netns.h"
#include "testsupport/test_netns.h"

namespace ztc::testing {

// What one run of the real `ztc` binary printed.
struct ZtcRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class AmbientNode {
 public:
  // `prefix` names the namespace (prefix-PID-N), so a leftover says whose it was.
  explicit AmbientNode(const std::string& prefix);

  const std::string& name() const { return netns_.name(); }

  // A shell command in the namespace; the test stops (REQUIRE) if it fails.
  std::string must(const std::string& command) const;
  CommandResult run(const std::string& command) const { return netns_.run(command); }

  // `[wrapper] ztc ARGS --netns NAME < stdin_text` from the root namespace, as a
  // user would run it. `wrapper` is a command prefix such as a privilege dropper.
  ZtcRun ztc(const std::string& args, const std::string& stdin_text = "",
             const std::string& wrapper = "") const;

  // Every route of both families, all tables, as `ip route` prints them, without
  // the kernel's own (see above).
  std::string routes() const;
  // ztc's rules and routes (protocol 122; member routes 123), both families.
  std::string ztc_rules() const;
  std::string ztc_routes() const;
  // rp_filter and accept_local of all, default and the node's three devices.
  std::string sysctls() const;

 private:
  ScopedTestNetns netns_;
};

// Paths of the real binary (ZTC_TEST_BINARY overrides it) and the bundled examples.
const std::string& ztc_binary();
std::string example_path(
    const std::string& name);  // "ambient-node" -> .../examples/ambient-node.zt

}  // namespace ztc::testing
