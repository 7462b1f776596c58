// The routing decision as the kernel's fib rules make it: rules by priority
// (0 local, the policy's, 32766 main, 32767 default for IPv4), `goto` to the
// rule with that priority, a lookup that finds no route in its table falls
// through to the next rule, longest prefix then lowest metric in a table.
#include <algorithm>

#include "backend/explain.h"
#include "backend/routing_kernel.h"

namespace ztc::explain {
namespace {

struct RuleEntry {
  uint32_t priority;
  const route::Rule* rule;  // nullptr: one of the kernel's own (local, main, default)
  uint32_t table;
};

std::string rule_text(const RuleEntry& entry) {
  std::string text = "rule " + std::to_string(entry.priority);
  if (!entry.rule) return text + ": lookup " + route::table_name(entry.table);
  const route::Rule& r = *entry.rule;
  if (r.from) text += " from " + r.from->str();
  if (r.iif) text += " iif " + *r.iif;
  if (r.fwmark) text += " fwmark " + hex(*r.fwmark) + "/" + hex(r.fwmask.value_or(0xffffffff));
  if (r.action == route::RuleAction::goto_)
    return text + " goto " + std::to_string(r.goto_priority);
  return text + " lookup " + route::table_name(r.table);
}

std::string route_text(const route::Route& route) {
  std::string text = route.destination.length == 0 ? "default" : route.destination.str();
  if (route.via) text += " via " + route.via->address_str();
  if (route.device) text += " dev " + *route.device;
  if (route.source) text += " src " + route.source->address_str();
  return text;
}

uint32_t metric(const route::Route& route) { return route::effective_metric(route); }

// Longest prefix, then lowest metric, then the first listed.
const route::Route* longest_match(const std::vector<route::Route>& routes, const IpPrefix& daddr) {
  const route::Route* best = nullptr;
  for (const route::Route& r : routes) {
    if (r.destination.family != daddr.family || !prefix_contains(r.destination, daddr)) continue;
    if (!best || r.destination.length > best->destination.length ||
        (r.destination.length == best->destination.length && metric(r) < metric(*best))) {
      best = &r;
    }
  }
  return best;
}

bool is_loopback(const IpPrefix& address) {
  if (address.family == IpFamily::v4) return address.bytes[0] == 127;
  IpPrefix one;
  one.family = IpFamily::v6;
  one.length = 128;
  one.bytes[15] = 1;
  return address == one;
}

}  // namespace

bool prefix_contains(const IpPrefix& prefix, const IpPrefix& address) {
  if (prefix.family != address.family || address.length < prefix.length) return false;
  int full = prefix.length / 8;
  if (!std::equal(prefix.bytes.begin(), prefix.bytes.begin() + full, address.bytes.begin())) {
    return false;
  }
  int rest = prefix.length % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (prefix.bytes[full] & mask) == (address.bytes[full] & mask);
}

RouteChoice decide_route(const route::Plan& plan, const NodeFacts& facts,
                         const std::map<std::string, std::vector<std::string>>& members,
                         const RouteQuery& query, std::vector<Step>& steps,
                         std::vector<std::string>& notes) {
  IpFamily family = query.daddr.family;
  auto note = [&](const std::string& text) {
    if (std::find(notes.begin(), notes.end(), text) == notes.end()) notes.push_back(text);
  };
  std::vector<RuleEntry> rules;
  rules.push_back({0, nullptr, route::kTableLocal});
  for (const route::Rule& r : plan.rules) {
    if (r.family == family) rules.push_back({r.priority, &r, r.table});
  }
  rules.push_back({route::kMainRulePriority, nullptr, route::kTableMain});
  if (family == IpFamily::v4)
    rules.push_back({route::kMainRulePriority + 1, nullptr, route::kTableDefault});
  std::stable_sort(rules.begin(), rules.end(),
                   [](const RuleEntry& a, const RuleEntry& b) { return a.priority < b.priority; });

  // The policy's tables: its routes and one route per member of a managed set.
  std::vector<route::Route> routes;
  for (const route::Route& r : plan.routes) {
    if (r.family == family) routes.push_back(r);
  }
  for (const route::DerivedRoutes& d : plan.derived) {
    auto found = members.find(d.set);
    if (found == members.end() || d.route.family != family) continue;
    for (const std::string& member : found->second) {
      if (auto prefix = parse_ip_prefix(member)) routes.push_back(route::derive_route(d, *prefix));
    }
  }

  auto step = [&](const std::string& chain, const Location& location, bool matched,
                  std::string effect) {
    Step s;
    s.hook = "routing";
    s.chain = chain;
    s.location = location;
    s.matched = matched;
    s.effect = std::move(effect);
    steps.push_back(std::move(s));
  };

  RouteChoice choice;
  for (size_t i = 0; i < rules.size(); ++i) {
    const RuleEntry& entry = rules[i];
    std::string name = rule_text(entry);
    Location location = entry.rule ? entry.rule->location : Location{};
    if (const route::Rule* r = entry.rule) {
      std::string why;
      if (r->iif && *r->iif != query.iif) {
        why = "iif is " + query.iif + ", not " + *r->iif;
      } else if (r->from && !query.saddr) {
        note("saddr not given: ip rules with `from` are taken as not matching");
        why = "saddr not given (taken as not matching)";
      } else if (r->from && !prefix_contains(*r->from, *query.saddr)) {
        why = "saddr " + query.saddr->address_str() + " is not in " + r->from->str();
      } else if (r->fwmark) {
        uint32_t mask = r->fwmask.value_or(0xffffffff);
        if ((query.mark & mask) != *r->fwmark) {
          why = "mark " + hex(query.mark) + " & " + hex(mask) + " is " + hex(query.mark & mask) +
                ", not " + hex(*r->fwmark);
        }
      }
      if (!why.empty()) {
        step(name, location, false, why);
        continue;
      }
      if (r->action == route::RuleAction::goto_) {
        auto target = std::find_if(rules.begin(), rules.end(), [&](const RuleEntry& e) {
          return e.priority == r->goto_priority;
        });
        if (target == rules.end()) {
          step(name, location, true,
               "no rule has priority " + std::to_string(r->goto_priority) +
                   ": the kernel skips an unresolved goto");
          continue;
        }
        step(name, location, true, "goto rule " + std::to_string(r->goto_priority));
        i = static_cast<size_t>(target - rules.begin()) - 1;
        continue;
      }
    }
    // A lookup.
    uint32_t table = entry.table;
    if (table == route::kTableLocal) {
      bool local = is_loopback(query.daddr);
      std::string effect;
      if (!local && facts.local_addresses) {
        local = std::any_of(facts.local_addresses->begin(), facts.local_addresses->end(),
                            [&](const IpPrefix& a) { return prefix_contains(a, query.daddr); });
        effect = query.daddr.address_str() + (local ? " is" : " is not") + " a local address";
      } else if (!local) {
        effect =
            query.daddr.address_str() + " is not known to be local (offline): taken as not local";
        note("offline: local addresses are not known; " + query.daddr.address_str() +
             " is taken as not local (--netns reads them)");
      } else {
        effect = query.daddr.address_str() + " is a loopback address";
      }
      step(name, location, true, effect);
      if (local) {
        choice.rule = entry.priority;
        choice.table = "local";
        choice.local = true;
        choice.dev = "lo";
        return choice;
      }
      continue;
    }
    if (table == route::kTableMain) {
      if (!facts.main_routes) {
        step(name, location, true,
             "table main: not known offline (--netns reads it); the packet goes by the main table");
        note(
            "offline: the main table is not known; a packet routed by it has no device or gateway "
            "here");
        choice.rule = entry.priority;
        choice.table = "main";
        return choice;
      }
      if (const route::Route* best = longest_match(*facts.main_routes, query.daddr)) {
        step(name, location, true, "table main: " + route_text(*best));
        choice.rule = entry.priority;
        choice.table = "main";
        choice.dev = best->device;
        choice.via = best->via;
        choice.src = best->source;
        return choice;
      }
      step(name, location, true,
           "table main has no route to " + query.daddr.address_str() + ": on to the next rule");
      continue;
    }
    if (table == route::kTableDefault) {
      step(name, location, true, "table default: not read, taken as empty");
      continue;
    }
    std::vector<route::Route> in_table;
    for (const route::Route& r : routes) {
      if (r.table == table) in_table.push_back(r);
    }
    if (const route::Route* best = longest_match(in_table, query.daddr)) {
      step(name, location, true, "table " + route::table_name(table) + ": " + route_text(*best));
      step("table " + route::table_name(table), best->location, true, route_text(*best));
      choice.rule = entry.priority;
      choice.table = route::table_name(table);
      choice.dev = best->device;
      choice.via = best->via;
      choice.src = best->source;
      choice.location = best->location;
      return choice;
    }
    step(name, location, true,
         "table " + route::table_name(table) + " has no route to " + query.daddr.address_str() +
             ": on to the next rule");
  }
  choice.reachable = false;
  return choice;
}

}  // namespace ztc::explain
