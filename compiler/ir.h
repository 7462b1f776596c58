// The checked policy: names resolved, values typed and validated, chains
// gathered per hook in order, routing already concrete. Lowering reads only
// this; nothing here can refer to something undefined.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "compiler/ast.h"
#include "model/ip_address.h"
#include "model/nft_model.h"
#include "model/routing_plan.h"
#include "model/source.h"
#include "model/values.h"

namespace ztc::ir {

// Types of parameters and set elements live in the model (set commands check
// elements with them too).
using ::ztc::parse_type_name;
using ::ztc::type_name;
using ::ztc::ValueType;

struct Param {
  std::string name;
  ValueType type;
  std::string value;  // canonical text
  bool from_command_line = false;
  Location location;
};

struct Mark {
  std::string name;
  uint32_t value = 0;
  uint32_t mask = 0;  // == value unless a mask was written
  Location location;
};

struct Set {
  std::string name;
  ValueType type;
  bool managed = false;
  bool from_group = false;  // an interface group lowered to a set
  std::vector<nft::Element> elements;
  Location location;
  bool any_address = false;  // members may be loopback, multicast, the node's own, ...
};

using PortRange = std::pair<uint16_t, uint16_t>;

struct Bypass {
  std::string protocol;
  std::vector<PortRange> ports;
  Location location;
};

// --- matches
struct InterfaceMatch {
  bool output = false;
  bool negated = false;
  std::vector<std::string> names;  // literal interface names, or
  std::string set;                 // a group's set
};

struct AddressMatch {
  bool destination = false;
  bool negated = false;
  IpFamily family = IpFamily::v4;
  std::vector<IpPrefix> prefixes;  // literals, or
  std::string set;                 // a set of addresses
};

struct ProtocolMatch {
  std::string protocol;  // tcp, udp
  bool has_ports = false;
  bool destination_port = true;
  bool negated = false;
  std::vector<PortRange> ports;
};

// Any of the declared bypass protocol/port pairs.
struct BypassMatch {
  std::vector<Bypass> bypass;
};

struct MarkMatch {
  bool conntrack = false;
  ast::MarkOp op = ast::MarkOp::has;
  uint32_t value = 0;
  uint32_t mask = 0;
};

using Match = std::variant<InterfaceMatch, AddressMatch, ProtocolMatch, BypassMatch, MarkMatch>;

// --- actions
struct MarkAction {
  bool conntrack = false;
  ast::MarkAssign op = ast::MarkAssign::or_bits;
  uint32_t value = 0;
  uint32_t mask = 0;
};

// Copies the bits of `mask` between packet mark and ct mark, leaving all
// other bits of the destination alone. `source_bits_set`: the rule's own
// matches guarantee every bit of `mask` is 1 in the source, so an OR is exact.
struct CtCopy {
  bool save = true;
  uint32_t mask = 0;
  bool source_bits_set = false;
};

struct Verdict {
  ast::Verdict verdict = ast::Verdict::return_;
};

// Identity NAT: sets up a NAT binding so that no later nat chain (another
// table's, e.g. kube-proxy's DNAT) rewrites this connection.
struct NoNat {};

struct Dnat {
  IpPrefix address;
  std::optional<uint16_t> port;
};

struct Counter {};

using Action = std::variant<MarkAction, CtCopy, Verdict, NoNat, Dnat, Counter>;

struct Rule {
  std::vector<Match> matches;
  std::vector<Action> actions;
  Location location;
};

struct Chain {
  bool nat = false;
  nft::Hook hook = nft::Hook::prerouting;
  std::vector<Rule> rules;
  Location location;  // first block for this hook
};

struct Policy {
  nft::Family family = nft::Family::ip;
  std::string table;
  Location table_location;
  std::vector<Param> params;
  std::vector<Mark> marks;
  std::vector<Set> sets;
  std::vector<Bypass> bypass;
  std::vector<Chain> chains;
  route::Plan routing;
};

}  // namespace ztc::ir
