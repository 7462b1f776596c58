#include "tools/ztc/preflight_command.h"

#include <ostream>
#include <set>

#include "backend/preflight.h"
#include "tools/ztc/preflight_policy.h"
#include "backend/preflight_node.h"
#include "backend/preflight_registry.h"
#include "tools/ztc/node_access.h"
#include "tools/ztc/policy_input.h"

namespace ztc {
namespace {

std::vector<preflight::Finding> check_node(const CompiledPolicy& compiled, PreflightDepth depth,
                                           std::vector<std::string>* unreadable) {
  preflight::PolicyFootprint policy = preflight::policy_footprint(compiled.ir, compiled.table);
  preflight::NodeReadScope scope;
  // The policy's own table (a reload) is not the node's; read_node skips every
  // other table that carries ztc's comment.
  scope.own_tables = {nft::table_spec(compiled.table.family, compiled.table.name)};
  scope.follow_named_maps = depth == PreflightDepth::full;
  scope.route_tables = policy.tables;
  scope.member_tables_before_first_load_only = depth == PreflightDepth::load;
  preflight::NodeFootprint node = preflight::read_node(scope);
  *unreadable = node.unreadable;
  return preflight::compare(policy, node);
}

std::string one_line(const preflight::Finding& finding) {
  return finding.kind + ": " + finding.node +
         (finding.owner.empty() ? "" : " [" + finding.owner + "]") + ": " + finding.detail + "; " +
         finding.suggestion;
}

}  // namespace

int run_preflight(const PreflightOptions& options, std::ostream& out, std::ostream& err) {
  Diagnostics diagnostics;
  auto compiled = compile_from_options(options.policy, diagnostics);
  err << diagnostics.render();
  if (!compiled) return kExitUsage;
  std::string error;
  auto node = open_node(options.node, "preflight", &error);
  if (!node) {
    err << "ztc: error: " << error << "\n";
    return kExitUsage;
  }
  std::vector<std::string> unreadable;
  std::vector<preflight::Finding> findings = check_node(*compiled, PreflightDepth::full, &unreadable);
  for (const std::string& reason : unreadable)
    err << "ztc: warning: not checked: " << reason << "\n";
  if (options.json) {
    out << preflight::render_json(findings);
  } else {
    out << preflight::render_text(findings);
    if (findings.empty()) {
      out << (unreadable.empty() ? "no conflicts\n" : "no conflicts in what could be read\n");
    } else {
      out << findings.size() << (findings.size() == 1 ? " conflict\n" : " conflicts\n");
    }
  }
  if (!findings.empty()) return kExitFailure;
  return unreadable.empty() ? kExitOk : kExitUsage;
}

int preflight_warnings(const CompiledPolicy& compiled, PreflightDepth depth, std::ostream& err) {
  std::vector<std::string> unreadable;
  std::vector<preflight::Finding> findings = check_node(compiled, depth, &unreadable);
  for (const preflight::Finding& finding : findings) {
    err << finding.policy.str() << ": warning: " << one_line(finding) << "\n";
  }
  for (const std::string& reason : unreadable) {
    err << "ztc: warning: preflight could not read " << reason << "\n";
  }
  return unreadable.empty() || !findings.empty() ? static_cast<int>(findings.size()) : -1;
}

bool warn_against(const CompiledPolicy& compiled, const std::vector<std::string>& owners,
                  std::ostream& err, std::string* error) {
  std::vector<const preflight::KnownOwner*> known;
  for (const std::string& name : owners) {
    const preflight::KnownOwner* owner = preflight::find_owner(name);
    if (!owner) {
      *error = "--against " + name + ": unknown; known:";
      for (const preflight::KnownOwner& k : preflight::known_owners()) *error += " " + k.name;
      return false;
    }
    known.push_back(owner);
  }
  preflight::PolicyFootprint policy = preflight::policy_footprint(compiled.ir, compiled.table);
  for (const preflight::KnownOwner* owner : known) {
    for (preflight::Finding& finding : preflight::compare(policy, owner->footprint)) {
      finding.owner = owner->display;
      err << finding.policy.str() << ": warning: " << one_line(finding) << "\n";
    }
  }
  return true;
}

}  // namespace ztc
