// What `ztc explain --netns` reads from a network namespace besides the
// managed sets' members: its local addresses (the local table) and its main
// table. Read only, over rtnetlink, in the namespace of the calling thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/routing_plan.h"
#include "model/ip_address.h"

namespace ztc::explain {

struct LiveRouting {
  std::vector<IpPrefix> local_addresses;  // destinations of the local table's `local` routes
  std::vector<route::Route> main_routes;  // the main table's unicast routes, any owner
};

// nullopt on success, else the reason.
std::optional<std::string> read_live_routing(LiveRouting* out);

}  // namespace ztc::explain
