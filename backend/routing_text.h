// Prints a route::Plan as `ip -batch` input, for `--emit routes` and golden
// files; the routing applier itself talks netlink.
//
// iproute2 6.1 takes no per-line -4/-6 in a batch, and `ip rule add` does not
// infer its family from `from` (without -6 every rule is IPv4, and an IPv6
// `from` is refused), so a batch holds one family and is fed to
// `ip -4 -batch -` or `ip -6 -batch -`.
//
// Tables print as `main`, `local` and `default` (names iproute2 always knows,
// and what `ip rule` lists) and otherwise as numbers, which mean the same on
// every node whatever its /etc/iproute2/rt_tables says. Derived routes and
// sysctls are not commands, so they print as `#` lines, which `ip -batch`
// ignores (everything from `#` to the end of a line). Nothing printed may
// contain `#` (an interface name could): the batch would lose the rest of
// the line.
#pragma once

#include <string>

#include "model/routing_plan.h"
#include "model/ip_address.h"

namespace ztc::route {

// What follows `ip rule add`:
// `priority 100 fwmark 0x200/0x200 goto 32766 protocol 122`. The family is
// not in it (see above).
std::string rule_args(const Rule& rule);

// What follows `ip route add`:
// `default via 192.168.127.2 dev istioout table 101 proto 122`.
std::string route_args(const Route& route);

// The entries of one family, for `ip -4 -batch -` / `ip -6 -batch -`: sysctls
// (comments), routes, derived routes (comments), then rules, so that a rule
// never points at a table that is still being filled.
std::string emit_batch(const Plan& plan, IpFamily family);

// Whether the plan has entries (sysctls included) of this family.
bool has_family(const Plan& plan, IpFamily family);

// Both families, each under a `# ip -4 -batch -` / `# ip -6 -batch -` line,
// leaving out a family with no entries: for reading (`--emit all`, goldens).
// Only a plan with IPv4 entries alone is valid `ip -batch -` input as a
// whole; `--emit routes` refuses any other (tools/ztc/compile_command.cc).
// Empty for an empty plan.
std::string emit_batch(const Plan& plan);

}  // namespace ztc::route
