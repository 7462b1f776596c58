// ztc load / unload / diff / status.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "backend/apply.h"
#include "backend/apply_lock.h"
#include "backend/diff.h"
#include "backend/load_record.h"
#include "backend/nft_canonical.h"
#include "backend/sysctl_state.h"
#include "backend/trace.h"
#include "tools/ztc/commands.h"
#include "tools/ztc/node_access.h"
#include "tools/ztc/policy_input.h"
#include "tools/ztc/preflight_command.h"
#include "tools/ztc/wording.h"

namespace ztc {
namespace {

// The common start of load, unload and diff: compile, open the node, lock.
struct Prepared {
  CompiledPolicy compiled;
  NodeAccess node;
  std::unique_ptr<ApplyLock> lock;
  std::optional<SysctlState> sysctl_state;
  // A speed-up only: without it every re-load asks a scratch namespace.
  std::optional<nft::DefinitionsMemo> definitions_memo;

  Kernels kernels(HeldSignals* held) {
    return Kernels{*node.nft, *node.routing,  node.sets.get(),
                   held,      &*sysctl_state, definitions_memo ? &*definitions_memo : nullptr};
  }
};

std::optional<Prepared> prepare(const LoadOptions& options, const std::string& command,
                                std::ostream& err, int* exit_code, int error_code) {
  Diagnostics diagnostics;
  auto compiled = compile_from_options(options.policy, diagnostics);
  err << diagnostics.render();
  if (!compiled) {
    *exit_code = error_code;
    return std::nullopt;
  }
  std::string error;
  auto node = open_node(options.node, command, &error);
  if (!node) {
    err << "ztc: error: " << error << "\n";
    *exit_code = error_code;
    return std::nullopt;
  }
  auto lock = std::make_unique<ApplyLock>(
      compiled->table.family, compiled->table.name, options.node.lock_timeout_ms,
      options.node.netns, [&err](const std::string& line) { err << line << std::endl; });
  if (!lock->ok()) {
    err << "ztc: error: " << lock->error() << "\n";
    *exit_code = error_code;
    return std::nullopt;
  }
  std::optional<SysctlState> sysctl_state = SysctlState::open(&error);
  if (!sysctl_state) {
    err << "ztc: error: " << error << "\n";
    *exit_code = error_code;
    return std::nullopt;
  }
  return Prepared{std::move(*compiled), std::move(*node), std::move(lock), std::move(sysctl_state),
                  nft::DefinitionsMemo::open(&error)};
}

// For `ztc stats`: when the load happened, what it loaded and since when each
// counter counts. A record that cannot be written is a warning: the load
// itself is done.
void record_load(const nft::Table& table, const route::Plan& plan,
                 const std::vector<std::string>& counters_carried, std::ostream& err) {
  std::string error;
  std::optional<LoadRecordFile> file = LoadRecordFile::open(&error);
  std::optional<LoadRecord> previous;
  if (file) previous = file->read(&error);
  LoadRecord record = next_load_record(table, plan, counters_carried, previous, utc_now());
  if (file && error.empty()) file->write(record, &error);
  if (!error.empty()) err << "ztc: warning: the load record for `ztc stats`: " << error << "\n";
}

// The load record goes with what it describes (and files in /run/ztc do
// not pile up per namespace).
void forget_load(std::ostream& err) {
  std::string error;
  std::optional<LoadRecordFile> file = LoadRecordFile::open(&error);
  if (file) file->remove(&error);
  if (!error.empty()) err << "ztc: warning: the load record for `ztc stats`: " << error << "\n";
}

// A load's replace drops the chains of a `ztc trace`; say so, and whether
// their trace was still running (it then ends with an error).
void report_dropped_traces(const nft::Table& table, const std::map<std::string, int>& chains,
                           std::ostream& err) {
  std::vector<std::string> stale = trace::stale_chains(chains);
  for (const auto& [chain, pid] : chains) {
    bool gone = std::find(stale.begin(), stale.end(), chain) != stale.end();
    err << "ztc: removed the " << (gone ? "stale " : "") << "trace chain " << chain << " of table "
        << nft::table_spec(table.family, table.name);
    if (pid > 0) {
      err << (gone ? " (its ztc trace, pid " + std::to_string(pid) + ", is gone)"
                   : " (ztc trace pid " + std::to_string(pid) + " is still tracing)");
    }
    err << "\n";
  }
}

void print_routing_changes(const route::ReconcileResult& routing, std::ostream& out) {
  if (routing.changed()) out << routing.diff_text();
}

}  // namespace

int run_load(const LoadOptions& options, std::ostream& out, std::ostream& err) {
  int code = kExitFailure;
  auto prepared = prepare(options, "load", err, &code, kExitFailure);
  if (!prepared) return code;
  const PreflightDepth depth =
      options.strict ? PreflightDepth::without_named_maps : PreflightDepth::load;
  if (preflight_warnings(prepared->compiled, depth, err) != 0 && options.strict) {
    err << "ztc: load refused (--strict): preflight found conflicts; the node was not changed\n";
    return kExitFailure;
  }
  HeldSignals held;
  Kernels kernels = prepared->kernels(&held);
  ApplyReport report = load(prepared->compiled.table, prepared->compiled.routing, kernels,
                            options.dry_run, options.replace);
  NodeState state = node_state(report.ok, report.node_unchanged);
  err << report.diagnostics.render();
  if (!report.ok) {
    err << (report.node_unchanged
                ? "ztc: load failed; the node was left as it was\n"
                : "ztc: load failed and could not be fully rolled back; see the errors above\n");
    return exit_after_held_signals(held, "load", state, kExitFailure, err);
  }
  const nft::Table& table = prepared->compiled.table;
  if (!options.dry_run) report_dropped_traces(table, report.trace_chains_dropped, err);
  if (options.dry_run) {
    out << "# dry run: the kernel accepted the table; nothing was changed\n";
    out << report.nft_buffer;
    out << "# routing changes that a load would make: " << report.routing.diff.size() << "\n";
    print_routing_changes(report.routing, out);
    // Routes of others are not read (only ztc's are), so a key they hold is
    // found only by the write.
    out << "# not checked without writing: a route of another program at the same table, "
           "destination and metric; a sysctl that reads but cannot be written (the load then "
           "fails and undoes itself)\n";
    return kExitOk;
  }
  record_load(table, prepared->compiled.routing, report.counters_carried, err);
  out << "loaded table " << nft::table_spec(table.family, table.name);
  if (report.incremental) {
    out << " (nft: " << plural(report.nft_changes.size(), "change", "changes")
        << ", members untouched)";
  } else if (report.members_carried > 0) {
    out << " (" << plural(report.members_carried, "member kept", "members kept") << ")";
  }
  for (const std::string& removed : report.tables_removed) out << "; removed table " << removed;
  out << "; routing: " << plural(report.routing.diff.size(), "change", "changes") << "\n";
  for (const std::string& change : report.nft_changes) out << change << "\n";
  print_routing_changes(report.routing, out);
  out.flush();
  return exit_after_held_signals(held, "load", state, kExitOk, err);
}

int run_unload(const LoadOptions& options, std::ostream& out, std::ostream& err) {
  int code = kExitFailure;
  auto prepared = prepare(options, "unload", err, &code, kExitFailure);
  if (!prepared) return code;
  HeldSignals held;
  Kernels kernels = prepared->kernels(&held);
  const nft::Table& table = prepared->compiled.table;
  ApplyReport report = unload(table.family, table.name, kernels, options.dry_run);
  NodeState state = node_state(report.ok, report.node_unchanged);
  err << report.diagnostics.render();
  if (!report.ok) {
    err << (report.node_unchanged
                ? "ztc: unload failed; the node was left as it was\n"
                : "ztc: unload failed and could not be fully rolled back; see the errors above\n");
    return exit_after_held_signals(held, "unload", state, kExitFailure, err);
  }
  if (!options.dry_run) forget_load(err);
  if (report.tables_removed.empty()) {
    out << "no table managed by ztc";
  } else {
    out << (options.dry_run ? "would remove" : "removed");
    const char* separator = " table ";
    for (const std::string& removed : report.tables_removed) {
      out << separator << removed;
      separator = ", table ";
    }
  }
  out << "; routing: " << report.routing.diff.size()
      << (options.dry_run ? " entries to remove" : " entries removed");
  if (!report.sysctls_restored.empty()) {
    out << "; sysctls: " << report.sysctls_restored.size()
        << (options.dry_run ? " to put back" : " put back");
  }
  out << "\n";
  print_routing_changes(report.routing, out);
  for (const route::DiffLine& line : report.sysctls_restored) {
    out << line.sign << " " << line.text << "\n";
  }
  out.flush();
  return exit_after_held_signals(held, "unload", state, kExitOk, err);
}

const std::string kMembersNotCompared =
    "(members of managed sets and their routes not compared: --members compares them)";

int run_diff(const LoadOptions& options, std::ostream& out, std::ostream& err) {
  int code = kExitUsage;
  auto prepared = prepare(options, "diff", err, &code, kExitUsage);
  if (!prepared) return code;
  Kernels kernels = prepared->kernels(nullptr);
  const nft::Table& table = prepared->compiled.table;
  DiffReport report =
      diff(table, prepared->compiled.routing, kernels, nft::canonical_listing, options.members);
  // A `ztc trace` killed before it removed its chains left them: not the
  // policy's and not drift, so they go (backend/trace.h); only then is the
  // table listed again.
  bool traced =
      std::any_of(report.nft_lines.begin(), report.nft_lines.end(), [](const std::string& line) {
        return line.find(std::string("chain ") + trace::kChainPrefix) != std::string::npos;
      });
  if (report.ok && traced) {
    std::string error;
    std::vector<std::string> removed =
        trace::remove_stale(*prepared->node.nft, table.family, table.name, &error);
    for (const std::string& line : removed) err << "ztc: " << line << "\n";
    if (!error.empty()) err << "ztc: warning: " << error << "\n";
    if (!removed.empty()) {
      report =
          diff(table, prepared->compiled.routing, kernels, nft::canonical_listing, options.members);
    }
  }
  err << report.diagnostics.render();
  if (!report.ok) return kExitUsage;
  // Said only where there are members to leave out.
  const bool members_left_out =
      !report.members_compared && std::any_of(table.sets.begin(), table.sets.end(),
                                              [](const nft::Set& set) { return set.managed; });
  if (report.equal()) {
    out << "no differences" << (members_left_out ? " " + kMembersNotCompared : "") << "\n";
    return kExitOk;
  }
  out << report.text();
  if (members_left_out) out << kMembersNotCompared << "\n";
  return kExitFailure;
}

}  // namespace ztc
