#include "tools/ztc/node_access.h"

#include <fstream>
#include <ostream>
#include <sstream>

#include "backend/libnft_kernel.h"
#include "backend/netns.h"

namespace ztc {
namespace {

constexpr int kCapNetAdmin = 12;
constexpr int kCapSysAdmin = 21;

// Effective capabilities from /proc/self/status: the kernel decides, not uid 0.
bool has_capability(int capability) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("CapEff:", 0) != 0) continue;
    unsigned long long mask = std::stoull(line.substr(7), nullptr, 16);
    return (mask >> capability) & 1;
  }
  return false;
}

}  // namespace

std::optional<NodeAccess> open_node(const NodeOptions& options, const std::string& command,
                                    std::string* error) {
  if (!has_capability(kCapNetAdmin)) {
    *error = "ztc " + command + " needs CAP_NET_ADMIN (run it as root)";
    return std::nullopt;
  }
  if (!options.netns.empty()) {
    if (!has_capability(kCapSysAdmin)) {
      *error = "ztc " + command + " --netns needs CAP_SYS_ADMIN (run it as root)";
      return std::nullopt;
    }
    std::string reason;
    if (!enter_netns(options.netns, &reason)) {
      *error = "cannot enter network namespace '" + options.netns + "': " + reason;
      return std::nullopt;
    }
  }
  NodeAccess access;
  access.nft = std::make_unique<nft::LibNftKernel>();
  std::string reason;
  access.routing = route::NetlinkRoutingKernel::open(&reason);
  if (!access.routing) {
    *error = "cannot open a netlink socket: " + reason;
    return std::nullopt;
  }
  access.sets = nft::NetlinkSetReader::open(&reason);
  if (!access.sets) {
    *error = "cannot open an nfnetlink socket: " + reason;
    return std::nullopt;
  }
  return access;
}

NodeState node_state(bool ok, bool node_unchanged) {
  if (ok) return NodeState::new_state;
  return node_unchanged ? NodeState::old_state : NodeState::half_changed;
}

int exit_after_held_signals(HeldSignals& held, const std::string& operation, NodeState state,
                            int code, std::ostream& err) {
  HeldSignals::Arrived arrived = held.release();
  if (arrived.signal == 0) return code;
  const char* where = state == NodeState::new_state
                          ? "finished it first: the node is in the new state"
                      : state == NodeState::old_state
                          ? "it failed and was undone: the node is in the old state"
                          : "it failed and could not be fully undone: the node is half-changed "
                            "(see the errors above)";
  err << "ztc: " << signal_name(arrived.signal) << " arrived during the " << operation;
  if (arrived.ignored) {
    // Started with it ignored (nohup, a shell's background job): not a reason to stop.
    err << " and was ignored, as ztc was started ignoring it; " << where << "\n";
    return code;
  }
  err << "; " << where << "\n";
  return 128 + arrived.signal;
}

}  // namespace ztc
