// The policy as written: a typed tree, every node with its Location. Names
// are not resolved and values are not checked here (see check.h); the AST
// only records what the user wrote, in order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "model/source.h"

namespace ztc::ast {

// A value as written: what it must be (an address, an interface name, a
// parameter...) depends on where it stands, so the checker decides.
struct Value {
  enum class Kind { string, number, ipv4, ipv6, name, set_ref, default_route, member };
  Kind kind = Kind::name;
  std::string text;     // unquoted string, digits, address, name
  uint64_t number = 0;  // for numbers; `overflow` when it did not fit
  bool overflow = false;
  Location location;
};

struct Name {
  std::string text;
  Location location;
};

// skip | 0x010
struct MarkExpr {
  std::vector<Value> terms;  // numbers or mark names, or'ed together
  Location location;
};

struct PortRange {
  Value first;
  std::optional<Value> last;
};

struct Include {
  std::string path;
  Location location;
};

struct Param {
  Name name;
  Name type;
  std::optional<Value> default_value;
  Location location;
};

struct TableDecl {
  std::string family;  // ip, ip6, inet
  Name name;
  Location location;
};

struct MarkDecl {
  Name name;
  MarkExpr value;
  std::optional<MarkExpr> mask;
  Location location;
};

struct IfaceDecl {
  Name name;
  Value value;  // string or parameter name
  Location location;
};

struct GroupDecl {
  Name name;
  std::vector<Value> members;  // interface names, strings or parameters
  Location location;
};

struct AddrDecl {
  Name name;
  Value value;
  Location location;
};

struct SetElement {
  Value value;
  std::optional<std::string> comment;
};

struct SetDecl {
  Name name;
  Name type;
  bool managed = false;
  bool any_address = false;  // `managed any_address`: no member address is refused
  std::vector<SetElement> elements;
  Location location;
};

struct BypassDecl {
  std::string protocol;  // tcp, udp
  std::vector<PortRange> ports;
  Location location;
};

// --- matches of a capture rule
struct InterfaceMatch {
  bool output = false;  // oif instead of iif
  bool negated = false;
  std::vector<Value> interfaces;
  Location location;
};

struct AddressMatch {
  bool destination = false;  // daddr instead of saddr
  bool negated = false;
  std::vector<Value> addresses;  // literals, names, @sets
  Location location;
};

struct ProtocolMatch {
  std::string protocol;  // tcp, udp
  bool has_ports = false;
  bool destination_port = true;
  bool negated = false;
  std::vector<PortRange> ports;
  Location location;
};

struct BypassMatch {
  Location location;
};

enum class MarkOp { has, lacks, equal, not_equal };

struct MarkMatch {
  bool conntrack = false;  // ct mark instead of the packet mark
  MarkOp op = MarkOp::has;
  MarkExpr value;
  Location location;
};

using Match = std::variant<InterfaceMatch, AddressMatch, ProtocolMatch, BypassMatch, MarkMatch>;

// --- actions of a capture rule
enum class MarkAssign { or_bits, set_whole, clear_bits };

struct MarkAction {
  bool conntrack = false;
  MarkAssign op = MarkAssign::or_bits;
  MarkExpr value;
  Location location;
};

// ct save X: copy X's bits from the packet mark into the ct mark; ct restore X:
// the other way. Other bits are kept on both sides (CONNMARK --nfmask/--ctmask).
struct CtCopyAction {
  bool save = true;
  MarkExpr bits;
  Location location;
};

enum class Verdict { return_, accept, drop };

struct VerdictAction {
  Verdict verdict = Verdict::return_;
  Location location;
};

struct NoNatAction {
  Location location;
};

struct DnatAction {
  Value address;
  std::optional<Value> port;
  Location location;
};

struct CounterAction {
  Location location;
};

using Action =
    std::variant<MarkAction, CtCopyAction, VerdictAction, NoNatAction, DnatAction, CounterAction>;

struct CaptureRule {
  std::vector<Match> matches;
  std::vector<Action> actions;
  Location location;
};

struct CaptureBlock {
  bool nat = false;
  std::vector<Name> hooks;
  std::vector<CaptureRule> rules;
  Location location;
};

// --- routing
struct RuleDecl {
  std::optional<std::string> family;  // ipv4 / ipv6
  Value priority;
  std::optional<Value> from;
  std::optional<Value> iif;
  std::optional<MarkExpr> fwmark;
  std::optional<MarkExpr> fwmask;
  bool is_goto = false;
  Value target;  // table (lookup) or rule priority / main (goto)
  Location location;
};

struct RouteEntry {
  Value destination;  // default_route, member, address or name
  std::optional<Value> via;
  std::optional<Value> device;
  bool onlink = false;
  std::optional<Name> scope;
  std::optional<Value> source;
  std::optional<Value> metric;
  Location location;
};

struct RouteBlock {
  std::optional<std::string> family;
  Value table;
  std::optional<Name> for_set;
  std::vector<RouteEntry> entries;
  Location location;
};

struct SysctlSetting {
  Name key;
  Value value;
};

struct SysctlBlock {
  std::vector<Value> targets;  // interfaces, or strings "all" / "default"
  std::vector<SysctlSetting> settings;
  Location location;
};

using Statement = std::variant<Include, Param, TableDecl, MarkDecl, IfaceDecl, GroupDecl, AddrDecl,
                               SetDecl, BypassDecl, CaptureBlock, RuleDecl, RouteBlock, SysctlBlock>;

struct Policy {
  std::vector<Statement> statements;  // in source order, includes spliced in
  // The top file: what a diagnostic about the policy as a whole names.
  SourceFilePtr file;
};

}  // namespace ztc::ast
