// The commands behind the CLI, one function each, taking parsed options.
// They print results to `out` and diagnostics to `err`, and return the exit
// code.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "compiler/check.h"

namespace ztc {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;  // policy errors, kernel refusals, `diff` found differences
constexpr int kExitUsage = 2;

struct PolicyOptions {
  std::string file;  // "-" reads stdin
  Overrides overrides;
  // Trees includes may read from besides the policy file's directory (for
  // stdin: the current directory).
  std::vector<std::string> include_dirs;
};

struct CompileOptions {
  PolicyOptions policy;
  std::string emit = "all";  // all, nft, json, routes, ast, ir
  std::string output;        // empty: stdout
  bool timings = false;      // print each stage's time on stderr
  // Known owners (cilium, calico, ...) to warn about collisions with, offline.
  std::vector<std::string> against;
};

int run_compile(const CompileOptions& options, std::ostream& out, std::ostream& err);

}  // namespace ztc

namespace ztc {

struct NodeOptions {
  std::string netns;  // empty: the current network namespace
  int lock_timeout_ms = 30000;
};

struct LoadOptions {
  PolicyOptions policy;
  NodeOptions node;
  bool dry_run = false;
  bool strict = false;   // load: refuse when preflight finds anything
  bool replace = false;  // load: may remove another ztc table, or a set with members
  bool members = false;  // diff: also compare managed-set members and member routes
};

int run_load(const LoadOptions& options, std::ostream& out, std::ostream& err);
int run_unload(const LoadOptions& options, std::ostream& out, std::ostream& err);
// Exit 0 when the node matches the policy, 1 when it differs, 2 on error.
int run_diff(const LoadOptions& options, std::ostream& out, std::ostream& err);
// json: one object, {"tables": [...], "routing": {...}} (README, "Operating ztc").
int run_status(const NodeOptions& options, bool json, std::ostream& out, std::ostream& err);

}  // namespace ztc
