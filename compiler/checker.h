// Internal to the check stage: the symbol table and value resolution shared
// by check.cc (declarations), check_capture.cc and check_routing.cc.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

#include "compiler/check.h"

namespace ztc {

class Checker {
 public:
  Checker(const Overrides& overrides, Diagnostics& diagnostics)
      : overrides_(overrides), diagnostics_(diagnostics) {}

  ir::Policy run(const ast::Policy& policy);

 private:
  // `poisoned`: a declaration that had an error. Its name exists, so uses do
  // not add a second "undefined" error, but nothing resolves to it.
  enum class SymbolKind { param, mark, iface, group, addr, set, poisoned };
  struct Symbol {
    SymbolKind kind;
    size_t index;  // into the matching vector
    Location location;
  };
  struct Iface {
    std::string ifname;
  };
  struct Group {
    std::vector<std::string> ifnames;
    std::string set;  // name of the set it lowers to
  };
  struct Addr {
    IpPrefix prefix;
  };

  // check.cc: declarations and values
  void declare(const std::string& name, SymbolKind kind, size_t index, const Location& where);
  void poison(const ast::Name& name) { declare(name.text, SymbolKind::poisoned, 0, name.location); }
  const Symbol* lookup(const ast::Value& name, const char* wanted);
  void declare_param(const ast::Param& param);
  void declare_table(const ast::TableDecl& table);
  void declare_mark(const ast::MarkDecl& mark);
  void declare_iface(const ast::IfaceDecl& iface);
  void declare_group(const ast::GroupDecl& group);
  void declare_addr(const ast::AddrDecl& addr);
  void declare_set(const ast::SetDecl& set);
  void refuse_nested_prefixes(const std::string& set_name,
                              std::vector<std::pair<IpPrefix, Location>> prefixes);
  void declare_bypass(const ast::BypassDecl& bypass);
  void check_sysctl(const ast::SysctlBlock& block);
  void check_unused_overrides(const SourceFilePtr& policy_file);

  std::optional<std::string> resolve_ifname(const ast::Value& value);
  std::optional<IpPrefix> resolve_address(const ast::Value& value, bool allow_prefix);
  std::optional<uint16_t> resolve_port(const ast::Value& value);
  std::optional<uint32_t> resolve_number(const ast::Value& value, const char* what);
  struct MarkBits {
    uint32_t value = 0;
    uint32_t mask = 0;
  };
  std::optional<MarkBits> resolve_mark(const ast::MarkExpr& expr);
  std::optional<std::vector<ir::PortRange>> resolve_ports(const std::vector<ast::PortRange>& ports);
  bool family_allows(IpFamily family) const;
  void require_family(IpFamily family, const Location& where);

  // check_capture.cc
  void check_capture(const ast::CaptureBlock& block);
  std::optional<ir::Rule> check_rule(const ast::CaptureRule& rule, bool nat, nft::Hook hook);
  std::optional<ir::Match> check_match(const ast::Match& match, nft::Hook hook);
  std::optional<ir::Action> check_action(const ast::Action& action, bool nat, nft::Hook hook,
                                         const std::vector<ir::Match>& matches,
                                         const std::vector<ir::Action>& earlier);
  void check_reachability();

  // check_routing.cc
  void declare_route_table(const ast::RouteBlock& block);
  void check_route_block(const ast::RouteBlock& block);
  void check_rule_decl(const ast::RuleDecl& rule);
  std::optional<uint32_t> resolve_table(const ast::Value& value);
  void check_rule_targets();

  const Overrides& overrides_;
  Diagnostics& diagnostics_;
  ir::Policy out_;
  bool have_table_ = false;
  std::map<std::string, Symbol> symbols_;
  std::vector<Iface> ifaces_;
  std::vector<Group> groups_;
  std::vector<Addr> addrs_;
  std::set<std::string> used_overrides_;
  std::set<uint32_t> route_tables_;  // declared by `route N { }`
  std::vector<Location> rule_goto_locations_;
};

}  // namespace ztc
