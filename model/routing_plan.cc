#include "model/routing_plan.h"

namespace ztc::route {

const char* scope_name(Scope scope) {
  switch (scope) {
    case Scope::global: return "global";
    case Scope::link: return "link";
    case Scope::host: return "host";
  }
  return "global";
}

Route derive_route(const DerivedRoutes& derived, const IpPrefix& member) {
  Route route = derived.route;
  route.destination = member;
  route.location = derived.location;
  return route;
}

}  // namespace ztc::route
