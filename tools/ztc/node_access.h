// What every command that touches a node does first: check the privilege,
// enter --netns, open the kernels. Errors are one line, ready to print.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "backend/held_signals.h"
#include "backend/nft_kernel.h"
#include "backend/nft_set_reader.h"
#include "backend/routing_kernel.h"
#include "tools/ztc/commands.h"

namespace ztc {

struct NodeAccess {
  std::unique_ptr<nft::NftKernel> nft;
  std::unique_ptr<route::RoutingKernel> routing;
  std::unique_ptr<nft::SetReader> sets;  // managed-set members, read fast
};

// nullopt with `error` set ("ztc load needs CAP_NET_ADMIN ...").
std::optional<NodeAccess> open_node(const NodeOptions& options, const std::string& command,
                                    std::string* error);

// What the node holds after a writing command, for the held-signal line.
enum class NodeState { old_state, new_state, half_changed };
NodeState node_state(bool ok, bool node_unchanged);

// Ends the signal hold of a writing command (`operation`: "load", "set sync").
// If a signal arrived while it was held, prints one line saying so and which
// state the node is in, and returns 128+signal; else `code`.
int exit_after_held_signals(HeldSignals& held, const std::string& operation, NodeState state,
                            int code, std::ostream& err);

}  // namespace ztc
