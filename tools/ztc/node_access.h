// What every command that touches a node does first: check the privilege,
// enter --netns, open the kernels. Errors are one line, ready to print.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "backend/nft_applier.h"
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

}  // namespace ztc
