// The comparison: the policy's footprint against a node's, one finding per
// collision, each with the policy line it collides with.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "backend/preflight.h"
#include "backend/preflight_registry.h"
#include "model/routing_plan.h"

namespace ztc::preflight {

const char* hook_name(Hook hook) {
  switch (hook) {
    case Hook::prerouting: return "prerouting";
    case Hook::input: return "input";
    case Hook::forward: return "forward";
    case Hook::output: return "output";
    case Hook::postrouting: return "postrouting";
    case Hook::other: return "other";
  }
  return "other";
}

namespace {

const char* field_name(MarkField field) {
  return field == MarkField::packet ? "packet mark" : "ct mark";
}

std::string with_owner(const std::string& owner) { return owner.empty() ? "" : " (" + owner + ")"; }

std::string mark_text(const PolicyMark& mark) {
  std::string text = "mark " + mark.name + " = " + hex(mark.value);
  if (mark.mask != mark.value) text += "/" + hex(mark.mask);
  return text;
}

// One node rule can read and write the same bits (`-m mark ! --mark 0xe00/0xf00
// -j MARK --set-xmark 0x200/0xf00`): one finding per rule, field and mark.
struct MergedUse {
  MarkField field;
  bool reads = false, writes = false;
  uint32_t mask = 0;
  const MarkUse* first;
};

std::vector<MergedUse> merge_uses(const std::vector<MarkUse>& uses) {
  std::vector<MergedUse> merged;
  for (const MarkUse& use : uses) {
    auto same = std::find_if(merged.begin(), merged.end(), [&](const MergedUse& m) {
      return m.field == use.field && m.first->node == use.node;
    });
    if (same == merged.end()) {
      merged.push_back({use.field, false, false, 0, &use});
      same = merged.end() - 1;
    }
    same->mask |= use.mask;
    (use.writes ? same->writes : same->reads) = true;
  }
  return merged;
}

void compare_marks(const PolicyFootprint& policy, const NodeFootprint& node,
                   std::vector<Finding>* out) {
  uint32_t foreign_bits = 0;
  for (const MarkUse& use : node.marks) foreign_bits |= use.mask;
  for (const MergedUse& use : merge_uses(node.marks)) {
    std::string owner = owner_of_name(use.first->owner_hint);
    for (const PolicyMark& mark : policy.marks) {
      if (use.field == MarkField::conntrack && !mark.conntrack) continue;
      uint32_t shared = use.mask & mark.mask;
      if (shared == 0) continue;
      Finding finding;
      finding.kind = "mark";
      finding.node = use.first->node;
      finding.owner = owner;
      finding.policy = mark.location;
      std::string verb = use.reads && use.writes ? "reads and writes"
                         : use.writes            ? "writes"
                                                 : "reads";
      finding.detail = mark_text(mark) + " overlaps bits " + hex(shared) + " that this rule" +
                       with_owner(owner) + " " + verb + " on the " + field_name(use.field) +
                       " (mask " + hex(use.mask) + "): " +
                       (use.writes ? "it can set or clear the policy's bits, so packets are "
                                     "captured, skipped or routed by someone else's decision"
                                   : "it acts on the policy's bits as if they were its own");
      uint32_t free_bits = ~foreign_bits;
      finding.suggestion =
          "choose bits for mark " + mark.name + " outside " + hex(use.mask) +
          (free_bits ? " (bits no one on this node uses: " + hex(free_bits) + ")" : "");
      out->push_back(std::move(finding));
    }
  }
}

// Whether two fwmark selectors can match the same packet.
bool marks_compatible(const std::optional<uint32_t>& mark_a, const std::optional<uint32_t>& mask_a,
                      const std::optional<uint32_t>& mark_b,
                      const std::optional<uint32_t>& mask_b) {
  if (!mark_a || !mark_b) return true;
  uint32_t common = mask_a.value_or(0xffffffffu) & mask_b.value_or(0xffffffffu);
  return ((*mark_a ^ *mark_b) & common) == 0;
}

bool is_kernel_default_rule(const NodeIpRule& rule) {
  return (rule.priority == 0 && rule.table == route::kTableLocal) ||
         (rule.priority == route::kMainRulePriority && rule.table == route::kTableMain) ||
         (rule.priority == 32767 && rule.table == route::kTableDefault);
}

std::string owner_of(const NodeIpRule& rule) { return owner_of_rule(rule.priority, rule.table); }

void compare_rules(const PolicyFootprint& policy, const NodeFootprint& node,
                   std::vector<Finding>* out) {
  for (const NodeIpRule& foreign : node.rules) {
    if (is_kernel_default_rule(foreign)) continue;
    // The policy's rules of this family in priority order.
    std::vector<const PolicyRule*> ours;
    for (const PolicyRule& rule : policy.rules) {
      if (rule.family == foreign.family) ours.push_back(&rule);
    }
    if (ours.empty()) continue;
    std::sort(ours.begin(), ours.end(),
              [](const PolicyRule* a, const PolicyRule* b) { return a->priority < b->priority; });
    std::string owner = owner_of(foreign);
    const PolicyRule* same = nullptr;
    for (const PolicyRule* rule : ours) {
      if (rule->priority == foreign.priority) same = rule;
    }
    Finding finding;
    finding.kind = "rule-priority";
    finding.node = foreign.node;
    finding.owner = owner;
    if (same) {
      finding.policy = same->location;
      finding.detail = "a foreign rule" + with_owner(owner) + " has priority " +
                       std::to_string(foreign.priority) +
                       ", the priority of the policy's rule: the kernel tries rules of one "
                       "priority in the order they were added, so which one decides depends on "
                       "who loaded first";
      finding.suggestion = "use a priority no other rule has (ip rule list shows them)";
      out->push_back(std::move(finding));
      continue;
    }
    if (foreign.priority < ours.front()->priority || foreign.priority > ours.back()->priority) {
      continue;
    }
    // Between the policy's rules: it matters when it can take traffic that a
    // later rule of the policy means to route.
    for (const PolicyRule* rule : ours) {
      if (rule->priority < foreign.priority) continue;
      if (!marks_compatible(foreign.fwmark, foreign.fwmask, rule->fwmark, rule->fwmask)) continue;
      finding.policy = rule->location;
      finding.detail = "a foreign rule" + with_owner(owner) + " at priority " +
                       std::to_string(foreign.priority) +
                       " sits between the policy's rules and can match traffic that the policy's "
                       "rule " +
                       std::to_string(rule->priority) + " routes: it decides first";
      finding.suggestion = "move the policy's rules before " + std::to_string(foreign.priority) +
                           ", or make sure the foreign rule cannot match captured traffic";
      out->push_back(std::move(finding));
      break;
    }
  }
}

void compare_tables(const PolicyFootprint& policy, const NodeFootprint& node,
                    std::vector<Finding>* out) {
  for (const NodeRouteTable& foreign : node.route_tables) {
    if (foreign.routes == 0) continue;
    for (const PolicyTable& table : policy.tables) {
      if (table.table != foreign.table || table.family != foreign.family) continue;
      Finding finding;
      finding.kind = "route-table";
      finding.node =
          foreign.example + (foreign.routes > 1
                                 ? " (and " + std::to_string(foreign.routes - 1) + " more routes)"
                                 : "");
      for (const KnownOwner& known : known_owners()) {
        for (const NodeRouteTable& theirs : known.footprint.route_tables) {
          if (theirs.table == foreign.table) finding.owner = known.display;
        }
      }
      finding.policy = table.location;
      finding.detail = "table " + std::to_string(table.table) + ", which the policy " +
                       (table.filled ? "fills" : "looks up") + ", already holds " +
                       std::to_string(foreign.routes) +
                       (foreign.routes == 1 ? " route that is" : " routes that are") +
                       " not ztc's" + with_owner(finding.owner) +
                       ": lookups in it find them, and a route with the same destination "
                       "cannot be added";
      finding.suggestion = "use a table number no one else uses";
      out->push_back(std::move(finding));
    }
  }
}

bool is_policy_interface(const PolicyFootprint& policy, const std::string& name) {
  for (const PolicyInterface& iface : policy.interfaces) {
    if (iface.name == name) return true;
  }
  return false;
}

void compare_ports(const PolicyFootprint& policy, const NodeFootprint& node,
                   std::vector<Finding>* out) {
  for (const PolicyPort& port : policy.ports) {
    auto in_range = [&](uint16_t p) { return p >= port.low && p <= port.high; };
    std::string range = port.protocol + "/" + std::to_string(port.low) +
                        (port.high != port.low ? "-" + std::to_string(port.high) : "");
    if (port.protocol == "udp") {
      for (const NodeTunnel& tunnel : node.tunnels) {
        if (!in_range(tunnel.port) || is_policy_interface(policy, tunnel.device)) continue;
        Finding finding;
        finding.kind = "port";
        finding.node =
            tunnel.kind + " device " + tunnel.device + " on udp/" + std::to_string(tunnel.port);
        finding.owner = owner_of_name(tunnel.device);
        finding.policy = port.location;
        finding.detail = "the policy bypasses " + range + " (never captured) and " + tunnel.device +
                         with_owner(finding.owner) +
                         " uses that port: its overlay traffic escapes capture, and a tunnel "
                         "of the policy's own on that port would share its socket";
        finding.suggestion = "run the policy's tunnel on another port and bypass that one";
        out->push_back(std::move(finding));
      }
    }
    for (const NodeSocket& socket : node.sockets) {
      if (socket.protocol != port.protocol || !in_range(socket.port)) continue;
      bool is_tunnel = false;
      for (const NodeTunnel& tunnel : node.tunnels) is_tunnel |= tunnel.port == socket.port;
      if (is_tunnel) continue;  // the device's socket: reported (or owned) above
      Finding finding;
      finding.kind = "port";
      finding.node = socket.node;
      finding.policy = port.location;
      finding.detail = "the policy bypasses " + range +
                       " (never captured) and a socket that is not one of the policy's "
                       "interfaces listens on it: its traffic escapes capture";
      finding.suggestion = "bypass only the port of the policy's own tunnel, or move the socket";
      out->push_back(std::move(finding));
    }
  }
}

bool families_meet(const std::string& ours, const std::string& theirs) {
  if (ours == "inet" || theirs == "inet") {
    return theirs == "ip" || theirs == "ip6" || theirs == "inet" || ours == "ip" || ours == "ip6";
  }
  return ours == theirs;
}

void compare_hooks(const PolicyFootprint& policy, const NodeFootprint& node,
                   std::vector<Finding>* out) {
  uint32_t policy_bits = 0;
  for (const PolicyMark& mark : policy.marks) policy_bits |= mark.mask;
  for (const PolicyChain& ours : policy.chains) {
    for (const NodeBaseChain& theirs : node.chains) {
      if (theirs.hook != ours.hook || !families_meet(ours.family, theirs.family)) continue;
      std::string owner = owner_of_name(theirs.owner_hint);
      Finding finding;
      finding.kind = "hook";
      finding.node = theirs.node;
      finding.owner = owner;
      finding.policy = ours.location;
      std::string where =
          std::string(hook_name(ours.hook)) + " priority " + std::to_string(ours.priority);
      if (theirs.priority == ours.priority &&
          (theirs.reads_marks || theirs.writes_marks || theirs.nats)) {
        finding.detail = "a foreign base chain" + with_owner(owner) + " runs at " + where +
                         " like the policy's chain " + ours.name + ", and it " +
                         (theirs.nats           ? "does NAT"
                          : theirs.writes_marks ? "changes marks"
                                                : "reads marks") +
                         ": nft runs chains of equal priority in an undefined order";
        finding.suggestion =
            "nothing in the policy orders them: check that either order "
            "works, or remove the overlap with the other project";
        out->push_back(std::move(finding));
      } else if (theirs.priority < ours.priority &&
                 ((theirs.writes_marks && (theirs.written_bits & policy_bits)) || theirs.nats)) {
        finding.detail =
            "a foreign base chain" + with_owner(owner) + " at priority " +
            std::to_string(theirs.priority) + " runs before the policy's chain " + ours.name +
            " (" + where + ") and " +
            (theirs.nats ? "does NAT: the policy sees rewritten addresses"
                         : "changes mark bits " + hex(theirs.written_bits & policy_bits) +
                               " the policy tests");
        finding.suggestion = theirs.nats ? "match what the packet looks like after that NAT"
                                         : "choose mark bits the other chain does not write";
        out->push_back(std::move(finding));
      }
    }
  }
}

void compare_iptables(const PolicyFootprint& policy, const NodeFootprint& node,
                      std::vector<Finding>* out) {
  const NodeIptables* legacy = nullptr;
  const NodeIptables* nft = nullptr;
  for (const NodeIptables& backend : node.iptables) {
    if (backend.rules == 0) continue;
    if (backend.backend == "iptables-legacy") legacy = &backend;
    if (backend.backend == "iptables-nft") nft = &backend;
  }
  if (!legacy || !nft) return;
  Finding finding;
  finding.kind = "iptables";
  auto rules = [](int n) { return std::to_string(n) + (n == 1 ? " rule" : " rules"); };
  finding.node = "iptables-legacy: " + rules(legacy->rules) + " (" + legacy->tables +
                 "); iptables-nft: " + rules(nft->rules) + " (" + nft->tables + ")";
  finding.policy = policy.table_location;
  finding.detail =
      "rules live in both iptables backends: both run on every packet, each "
      "program sees only its own half, and mark or NAT rules in one are invisible "
      "to tools of the other (cilium#28260)";
  finding.suggestion =
      "find which component still uses the other backend and move it, before "
      "judging how the policy's marks meet theirs";
  out->push_back(std::move(finding));
}

std::optional<std::string> lookup(const std::vector<std::pair<std::string, std::string>>& values,
                                  const std::string& key) {
  for (const auto& [k, v] : values) {
    if (k == key) return v;
  }
  return std::nullopt;
}

void compare_sysctls(const PolicyFootprint& policy, const NodeFootprint& node,
                     std::vector<Finding>* out) {
  auto policy_value = [&](const std::string& key) -> const PolicySysctl* {
    for (const PolicySysctl& sysctl : policy.sysctls) {
      if (sysctl.key == key) return &sysctl;
    }
    return nullptr;
  };
  const std::string all_key = "net.ipv4.conf.all.rp_filter";
  const PolicySysctl* policy_all = policy_value(all_key);
  std::optional<std::string> node_all = lookup(node.sysctls, all_key);
  int all = policy_all ? std::atoi(policy_all->value.c_str())
            : node_all ? std::atoi(node_all->c_str())
                       : 0;
  for (const PolicyInterface& iface : policy.interfaces) {
    if (std::find(node.devices.begin(), node.devices.end(), iface.name) == node.devices.end()) {
      continue;
    }
    std::string key = "net.ipv4.conf." + iface.name + ".rp_filter";
    const PolicySysctl* policy_own = policy_value(key);
    std::optional<std::string> node_own = lookup(node.sysctls, key);
    int own = policy_own ? std::atoi(policy_own->value.c_str())
              : node_own ? std::atoi(node_own->c_str())
                         : 0;
    // The kernel uses the larger of conf.all and conf.IFACE; 1 is strict.
    if (std::max(all, own) != 1) continue;
    bool from_node_all = all == 1 && !policy_all;
    bool from_node_own = own == 1 && !policy_own;
    if (!from_node_all && !from_node_own) continue;  // the policy's own choice
    Finding finding;
    finding.kind = "sysctl";
    finding.node = from_node_all ? all_key + " = 1" : key + " = 1";
    finding.policy = policy_own ? policy_own->location : iface.location;
    finding.detail = "strict reverse-path filtering applies to " + iface.name +
                     " (the kernel takes the larger of conf.all and conf." + iface.name +
                     "): captured packets arriving there whose source routes elsewhere are "
                     "dropped";
    finding.suggestion = std::string("add `sysctl ") + (from_node_all ? "all, " : "") + iface.name +
                         " { rp_filter = 0 }` to the policy (or 2, loose)";
    out->push_back(std::move(finding));
  }
}

void compare_rule_removers(const PolicyFootprint& policy, const NodeFootprint& node,
                           std::vector<Finding>* out) {
  if (policy.rules.empty()) return;
  for (const std::string& remover : node.rule_removers) {
    Finding finding;
    finding.kind = "rule-priority";
    finding.node = remover;
    finding.owner = "systemd-networkd";
    finding.policy = policy.rules.front().location;
    finding.detail =
        "systemd-networkd deletes ip rules and routes it did not configure "
        "(ManageForeignRoutingPolicyRules= and ManageForeignRoutes= default to yes) "
        "whenever it (re)configures a link: the policy's rules and routes can vanish";
    finding.suggestion =
        "set ManageForeignRoutingPolicyRules=no and ManageForeignRoutes=no in "
        "networkd.conf";
    out->push_back(std::move(finding));
  }
}

}  // namespace

std::vector<Finding> compare(const PolicyFootprint& policy, const NodeFootprint& node) {
  std::vector<Finding> findings;
  compare_marks(policy, node, &findings);
  compare_rules(policy, node, &findings);
  compare_tables(policy, node, &findings);
  compare_ports(policy, node, &findings);
  compare_hooks(policy, node, &findings);
  compare_iptables(policy, node, &findings);
  compare_sysctls(policy, node, &findings);
  compare_rule_removers(policy, node, &findings);
  return findings;
}

std::string render_text(const std::vector<Finding>& findings) {
  std::ostringstream out;
  for (const Finding& finding : findings) {
    out << finding.kind << ": " << finding.node << "\n";
    out << "  policy: " << finding.policy.str();
    if (finding.policy.known()) {
      std::string_view line = finding.policy.file->line(finding.policy.line);
      size_t start = line.find_first_not_of(" \t");
      if (start != std::string_view::npos) out << ": " << line.substr(start);
    }
    out << "\n";
    out << "  why: " << finding.detail << "\n";
    out << "  fix: " << finding.suggestion << "\n";
  }
  return out.str();
}

std::string render_json(const std::vector<Finding>& findings) {
  nlohmann::json conflicts = nlohmann::json::array();
  for (const Finding& finding : findings) {
    nlohmann::json entry = {{"kind", finding.kind},
                            {"node", finding.node},
                            {"policy", finding.policy.str()},
                            {"detail", finding.detail},
                            {"suggestion", finding.suggestion}};
    if (!finding.owner.empty()) entry["owner"] = finding.owner;
    conflicts.push_back(std::move(entry));
  }
  return nlohmann::json{{"conflicts", conflicts}}.dump(2) + "\n";
}

}  // namespace ztc::preflight
