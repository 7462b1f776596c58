// The native nftables ruleset that lowering produces and the emitters print
// (text for `nft -f`, JSON for `nft -j -f`). It models only what ztc emits:
// one owned table with sets, chains and rules made of a few statement kinds.
// Every rule keeps the Location of the policy line that produced it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "model/source.h"

namespace ztc::nft {

enum class Family { ip, ip6, inet };
enum class Hook { prerouting, input, forward, output, postrouting };
enum class ChainType { filter, route, nat };

const char* family_name(Family family);  // "ip", "ip6", "inet"
const char* hook_name(Hook hook);
const char* chain_type_name(ChainType type);

// How nft commands and listings name a table ("ip ztunnel") and an object in
// it ("ip ztunnel pods"); also the keys of maps that hold tables or sets.
std::string table_spec(Family family, const std::string& table);
std::string object_spec(Family family, const std::string& table, const std::string& object);

// A value a rule reads.
enum class Field {
  iifname,    // meta iifname
  oifname,    // meta oifname
  l4proto,    // meta l4proto
  nfproto,    // meta nfproto (ipv4 / ipv6), needed to split inet rules
  ip_saddr,   // ip saddr
  ip_daddr,   // ip daddr
  ip6_saddr,  // ip6 saddr
  ip6_daddr,  // ip6 daddr
  th_sport,   // th sport (after an l4proto match)
  th_dport,   // th dport
  meta_mark,  // meta mark
  ct_mark,    // ct mark
};

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

struct FieldRef {
  Field field;
};
struct Integer {
  uint32_t value;
  bool hex = false;
};  // hex: marks print as 0x...
struct String {
  std::string value;
};  // interface names
struct Symbol {
  std::string value;
};  // tcp, udp, ipv4, ipv6
struct Address {
  std::string value;
};  // "10.0.0.1" or "10.0.0.0/8"
struct SetRef {
  std::string name;
};  // @name
struct AnonSet {
  std::vector<ExprPtr> elements;
};  // { a, b }
struct Concat {
  std::vector<ExprPtr> parts;
};  // a . b
struct BitAnd {
  ExprPtr left;
  uint32_t mask;
};  // left & mask
struct BitOr {
  ExprPtr left;
  uint32_t bits;
};  // left | bits
struct Range {
  uint32_t low;
  uint32_t high;
};  // low-high (ports)

struct Expr {
  std::variant<FieldRef, Integer, String, Symbol, Address, SetRef, AnonSet, Concat, BitAnd, BitOr,
               Range>
      value;
};

ExprPtr field(Field f);
ExprPtr integer(uint32_t value, bool hex = false);
ExprPtr string(std::string value);
ExprPtr symbol(std::string value);
ExprPtr address(std::string value);
ExprPtr set_ref(std::string name);
ExprPtr anon_set(std::vector<ExprPtr> elements);
ExprPtr concat(std::vector<ExprPtr> parts);
ExprPtr bit_and(ExprPtr left, uint32_t mask);
ExprPtr bit_or(ExprPtr left, uint32_t bits);
ExprPtr range(uint32_t low, uint32_t high);

enum class MatchOp { eq, ne };

// left op right; `right` may be a set (anonymous or named): membership.
struct Match {
  ExprPtr left;
  MatchOp op = MatchOp::eq;
  ExprPtr right;
};
// target set value: `meta mark set meta mark | 0x200`, `ct mark set 0x220`.
struct Mangle {
  Field target;
  ExprPtr value;
};
// `counter` (anonymous: the policy's `counter` action) or `counter name
// "NAME"`: a reference to a counter object of the table (Table::counters).
struct Counter {
  std::string name;  // empty: anonymous
};
enum class VerdictKind { accept, drop, return_, jump, goto_ };
struct Verdict {
  VerdictKind kind;
  std::string chain;
};  // chain for jump/goto
// key vmap { k1 : v1, ... } — one lookup replaces a run of rules.
struct VerdictMap {
  ExprPtr key;
  std::vector<std::pair<ExprPtr, Verdict>> entries;
};
enum class NatKind { dnat, snat };
// `dnat ip to ip daddr` (identity: "no NAT for this connection") or
// `dnat ip to 10.0.0.1:53`. family is ip or ip6 (explicit, so inet works).
struct Nat {
  NatKind kind;
  Family family;
  ExprPtr address;
  std::optional<uint16_t> port;
};

using Statement = std::variant<Match, Mangle, Counter, Verdict, VerdictMap, Nat>;

struct Rule {
  std::vector<Statement> statements;
  Location location;  // the policy line this rule came from
};

struct BaseChain {
  ChainType type;
  Hook hook;
  int priority;  // numeric: nft 1.0.6 refuses some keywords (dstnat on output)
};

struct Chain {
  std::string name;
  std::optional<BaseChain> base;  // nullopt: a regular chain reached by jump/goto
  std::vector<Rule> rules;
  std::string comment;  // why the chain exists, printed as a comment line
  Location location;
};

struct Element {
  std::string value;    // as nft prints it: 10.0.0.1, "istioin", 6081
  std::string comment;  // optional (pod UID)
};

// A counter object of the table: what one policy rule matched, however it was
// lowered (a set match, a verdict-map target, a rule per family). Its name is
// the rule's identity, not its line (see compiler/rule_counters.h), so an edit
// above a rule keeps its counter. packets/bytes are what the object starts
// with: zero from lowering, the live values when a load carries them over.
struct NamedCounter {
  std::string name;
  Location location;             // the policy rule
  std::vector<Location> merged;  // further rules lowered into the same match
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

struct Set {
  std::string name;
  std::string type;       // nft type: ipv4_addr, ipv6_addr, ifname, inet_service, ...
  bool interval = false;  // prefixes; never for managed sets (slow single updates)
  bool managed = false;   // members are owned at run time and carried over on reload
  std::vector<Element> elements;
  Location location;
  std::string comment{};     // managed sets: what `ztc set` checks (backend/enroll_fingerprint.h)
  bool any_address = false;  // managed: `ztc set` refuses no member address
};

// The comment every table ztc loads carries, so `ztc status` can tell ztc's
// tables from everyone else's.
inline constexpr const char* kOwnerComment = "managed by ztc";

struct Table {
  Family family = Family::ip;
  std::string name;
  std::vector<Set> sets;
  std::vector<Chain> chains;
  Location location;
  std::vector<NamedCounter> counters;
};

// How a string is written for nft, in rules and set elements alike (an
// interface name, a comment): in double quotes, as it is. nft has no escape
// for `"`, and in an interface name reads `\` as an escape and a trailing `*`
// as a prefix wildcard; the checker refuses names holding any of them
// (model/values.cc), so what nft reads is the name ztc means. Every place
// that writes or compares a quoted name uses this.
std::string quoted_string(const std::string& text);

}  // namespace ztc::nft
