// Check stage, routing: `rule` statements and `route` tables, including the
// routes derived from a managed set.
#include <algorithm>

#include "compiler/checker.h"

namespace ztc {
namespace {

std::optional<IpFamily> family_keyword(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  return *text == "ipv6" ? IpFamily::v6 : IpFamily::v4;
}

IpPrefix any_address(IpFamily family) {
  IpPrefix prefix;
  prefix.family = family;
  prefix.length = 0;
  return prefix;
}

}  // namespace

std::optional<uint32_t> Checker::resolve_table(const ast::Value& value) {
  if (value.kind == ast::Value::Kind::name) {
    if (value.text == "main") return route::kTableMain;
    if (value.text == "local") return route::kTableLocal;
    if (value.text == "default") return route::kTableDefault;
    diagnostics_.error(value.location, "unknown routing table '" + value.text +
                                           "': expected a number, main, local or default");
    return std::nullopt;
  }
  auto number = resolve_number(value, "a routing table");
  if (!number) return std::nullopt;
  if (*number == 0) {
    diagnostics_.error(value.location, "routing table 0 does not exist (use 1 to 4294967295)");
    return std::nullopt;
  }
  return number;
}

void Checker::declare_route_table(const ast::RouteBlock& block) {
  // Errors are reported by check_route_block.
  if (block.table.kind == ast::Value::Kind::number && !block.table.overflow &&
      block.table.number > 0) {
    route_tables_.insert(static_cast<uint32_t>(block.table.number));
  }
}

void Checker::check_rule_decl(const ast::RuleDecl& decl) {
  route::Rule rule;
  rule.location = decl.location;
  bool ok = true;
  auto priority = resolve_number(decl.priority, "a rule priority");
  if (!priority) {
    ok = false;
  } else if (*priority == 0 || *priority == route::kMainRulePriority ||
             *priority == route::kMainRulePriority + 1) {
    diagnostics_.error(decl.priority.location, "priority " + std::to_string(*priority) +
                                                   " belongs to the kernel's own rule");
    ok = false;
  } else {
    rule.priority = *priority;
  }
  std::optional<IpFamily> family = family_keyword(decl.family);
  if (decl.from) {
    if (auto from = resolve_address(*decl.from, /*allow_prefix=*/true)) {
      if (family && *family != from->family) {
        diagnostics_.error(decl.from->location, "address family of 'from' differs from the rule's");
        ok = false;
      }
      family = from->family;
      rule.from = from;
    } else {
      ok = false;
    }
  }
  if (decl.iif) {
    if (auto iif = resolve_ifname(*decl.iif)) {
      rule.iif = iif;
    } else {
      ok = false;
    }
  }
  if (decl.fwmark) {
    auto mark = resolve_mark(*decl.fwmark);
    if (!mark) {
      ok = false;
    } else {
      rule.fwmark = mark->value;
      rule.fwmask = mark->mask;
      if (!decl.fwmask && mark->mask == 0) {
        diagnostics_.error(decl.fwmark->location,
                           "fwmark 0 would match every packet; write `fwmark 0/0xffffffff` to match "
                           "packets without a mark");
        ok = false;
      }
      if (decl.fwmask) {
        auto mask = resolve_mark(*decl.fwmask);
        if (!mask) {
          ok = false;
        } else {
          rule.fwmask = mask->value;
          if ((mark->value & ~mask->value) != 0) {
            diagnostics_.error(decl.fwmask->location, "fwmark has bits outside its mask");
            ok = false;
          }
        }
      }
    }
  }
  if (decl.is_goto) {
    rule.action = route::RuleAction::goto_;
    if (decl.target.kind == ast::Value::Kind::name) {
      if (decl.target.text == "main") {
        rule.goto_priority = route::kMainRulePriority;
      } else {
        diagnostics_.error(decl.target.location, "goto takes a rule priority or 'main', not '" +
                                                     decl.target.text + "'");
        ok = false;
      }
    } else if (auto target = resolve_number(decl.target, "a rule priority")) {
      rule.goto_priority = *target;
    } else {
      ok = false;
    }
    if (ok && rule.goto_priority <= rule.priority) {
      diagnostics_.error(decl.target.location,
                         "goto " + std::to_string(rule.goto_priority) +
                             " must point past this rule's own priority " +
                             std::to_string(rule.priority));
      ok = false;
    }
  } else if (auto table = resolve_table(decl.target)) {
    rule.table = *table;
    bool builtin = *table == route::kTableMain || *table == route::kTableLocal ||
                   *table == route::kTableDefault;
    if (!builtin && route_tables_.count(*table) == 0) {
      diagnostics_.error(decl.target.location, "rule looks up table " + std::to_string(*table) +
                                                   ", which no `route " + std::to_string(*table) +
                                                   " { ... }` declares");
      ok = false;
    }
  } else {
    ok = false;
  }
  if (!ok) return;
  std::vector<IpFamily> families;
  if (family) {
    if (!family_allows(*family)) {
      diagnostics_.error(decl.location, std::string("an ") + family_name(*family) +
                                            " rule in table family '" +
                                            nft::family_name(out_.family) + "'");
      return;
    }
    families.push_back(*family);
  } else if (out_.family == nft::Family::ip6) {
    families.push_back(IpFamily::v6);
  } else {
    families.push_back(IpFamily::v4);
    if (out_.family == nft::Family::inet) families.push_back(IpFamily::v6);
  }
  for (IpFamily f : families) {
    for (const route::Rule& other : out_.routing.rules) {
      if (other.family == f && other.priority == rule.priority) {
        diagnostics_.error(decl.priority.location,
                           "another " + std::string(family_name(f)) + " rule has priority " +
                               std::to_string(rule.priority) + " (at " + other.location.str() +
                               ")");
        return;
      }
    }
    rule.family = f;
    out_.routing.rules.push_back(rule);
  }
}

void Checker::check_rule_targets() {
  for (const route::Rule& rule : out_.routing.rules) {
    if (rule.action != route::RuleAction::goto_) continue;
    if (rule.goto_priority == route::kMainRulePriority ||
        rule.goto_priority == route::kMainRulePriority + 1) {
      continue;
    }
    bool found = std::any_of(out_.routing.rules.begin(), out_.routing.rules.end(),
                             [&](const route::Rule& other) {
                               return other.family == rule.family &&
                                      other.priority == rule.goto_priority;
                             });
    if (!found) {
      diagnostics_.error(rule.location, "goto " + std::to_string(rule.goto_priority) +
                                            ": the policy has no " + family_name(rule.family) +
                                            " rule with that priority");
    }
  }
}

void Checker::check_route_block(const ast::RouteBlock& block) {
  auto table = resolve_table(block.table);
  if (!table) return;
  std::optional<IpFamily> block_family = family_keyword(block.family);
  if (!block_family && out_.family == nft::Family::ip) block_family = IpFamily::v4;
  if (!block_family && out_.family == nft::Family::ip6) block_family = IpFamily::v6;
  const ir::Set* member_set = nullptr;
  if (block.for_set) {
    ast::Value name{ast::Value::Kind::name, block.for_set->text, 0, false,
                    block.for_set->location};
    const Symbol* symbol = lookup(name, "set");
    if (!symbol) return;
    if (symbol->kind != SymbolKind::set) {
      diagnostics_.error(block.for_set->location, "'" + name.text + "' is not a set");
      return;
    }
    member_set = &out_.sets[symbol->index];
    if (!member_set->managed) {
      diagnostics_.error(block.for_set->location,
                         "routes are derived from managed sets; '" + name.text +
                             "' is not managed (declare it `set " + name.text + ": ... managed`)");
      return;
    }
    IpFamily set_family =
        member_set->type == ir::ValueType::ipv6 ? IpFamily::v6 : IpFamily::v4;
    if (member_set->type != ir::ValueType::ipv4 && member_set->type != ir::ValueType::ipv6) {
      diagnostics_.error(block.for_set->location, "set '" + name.text + "' holds " +
                                                      ir::type_name(member_set->type) +
                                                      ", not addresses");
      return;
    }
    if (block_family && *block_family != set_family) {
      diagnostics_.error(block.for_set->location, "set '" + name.text + "' holds " +
                                                      family_name(set_family) +
                                                      " addresses but the routes are " +
                                                      family_name(*block_family));
      return;
    }
    block_family = set_family;
  }

  for (const ast::RouteEntry& entry : block.entries) {
    route::Route route;
    route.table = *table;
    route.location = entry.location;
    bool ok = true;
    std::optional<IpFamily> family = block_family;
    auto note_family = [&](IpFamily f, const Location& where) {
      if (family && *family != f) {
        diagnostics_.error(where, std::string(f == IpFamily::v4 ? "IPv4" : "IPv6") +
                                      " address in an " + family_name(*family) + " route");
        ok = false;
      }
      family = f;
    };
    bool is_member = entry.destination.kind == ast::Value::Kind::member;
    bool is_default = entry.destination.kind == ast::Value::Kind::default_route;
    if (is_member && !member_set) {
      diagnostics_.error(entry.destination.location,
                         "'member' stands only in a `route N for SET { }` block");
      ok = false;
    } else if (!is_member && member_set) {
      diagnostics_.error(entry.destination.location,
                         "routes in a `for " + member_set->name +
                             "` block are per member: start them with 'member'");
      ok = false;
    } else if (!is_member && !is_default) {
      if (auto dest = resolve_address(entry.destination, /*allow_prefix=*/true)) {
        note_family(dest->family, entry.destination.location);
        route.destination = *dest;
      } else {
        ok = false;
      }
    }
    if (entry.via) {
      if (auto via = resolve_address(*entry.via, /*allow_prefix=*/false)) {
        note_family(via->family, entry.via->location);
        route.via = via;
      } else {
        ok = false;
      }
    }
    if (entry.source) {
      if (auto src = resolve_address(*entry.source, /*allow_prefix=*/false)) {
        note_family(src->family, entry.source->location);
        route.source = src;
      } else {
        ok = false;
      }
    }
    if (entry.device) {
      if (auto dev = resolve_ifname(*entry.device)) {
        route.device = dev;
      } else {
        ok = false;
      }
    }
    if (entry.scope) {
      const std::string& s = entry.scope->text;
      if (s == "link") {
        route.scope = route::Scope::link;
      } else if (s == "host") {
        route.scope = route::Scope::host;
      } else if (s == "global" || s == "universe") {
        route.scope = route::Scope::global;
      } else {
        diagnostics_.error(entry.scope->location,
                           "unknown scope '" + s + "': expected global, link or host");
        ok = false;
      }
    }
    if (entry.metric) {
      if (auto metric = resolve_number(*entry.metric, "a metric")) {
        route.metric = metric;
      } else {
        ok = false;
      }
    }
    route.onlink = entry.onlink;
    if (!entry.via && !entry.device) {
      diagnostics_.error(entry.location, "a route needs 'via' or 'dev'");
      ok = false;
    }
    if (entry.onlink && !entry.via) {
      diagnostics_.error(entry.location, "'onlink' needs a 'via' gateway");
      ok = false;
    }
    if (!ok) continue;
    if (!family) {
      diagnostics_.error(entry.location, "cannot tell whether this route is IPv4 or IPv6: write "
                                         "`route ipv4 N { ... }` or `route ipv6 N { ... }`");
      continue;
    }
    if (!family_allows(*family)) {
      require_family(*family, entry.location);
      continue;
    }
    route.family = *family;
    if (is_default || is_member) {
      route.destination = any_address(*family);
    }
    if (member_set) {
      out_.routing.derived.push_back(route::DerivedRoutes{member_set->name, route, entry.location});
      continue;
    }
    bool duplicate = false;
    for (const route::Route& other : out_.routing.routes) {
      if (other.table == route.table && other.family == route.family &&
          other.destination == route.destination && other.metric == route.metric) {
        diagnostics_.error(entry.location, "route " + route.destination.str() + " in table " +
                                               std::to_string(route.table) +
                                               " is already declared at " + other.location.str());
        duplicate = true;
      }
    }
    if (!duplicate) out_.routing.routes.push_back(std::move(route));
  }
}

}  // namespace ztc
