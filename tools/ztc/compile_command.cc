#include <chrono>
#include <cstdio>
#include <ostream>

#include "backend/nft_json.h"
#include "backend/nft_text.h"
#include "backend/routing_text.h"
#include "compiler/compile.h"
#include "compiler/dump.h"
#include "tools/ztc/checked_output.h"
#include "tools/ztc/commands.h"
#include "tools/ztc/policy_input.h"
#include "tools/ztc/preflight_command.h"

namespace ztc {

int run_compile(const CompileOptions& options, std::ostream& out, std::ostream& err) {
  Diagnostics diagnostics;
  auto compiled = compile_from_options(options.policy, diagnostics);
  err << diagnostics.render();
  if (!compiled) return kExitFailure;
  std::string against_error;
  if (!options.against.empty() && !warn_against(*compiled, options.against, err, &against_error)) {
    err << "ztc: error: " << against_error << "\n";
    return kExitUsage;
  }

  auto emit_start = std::chrono::steady_clock::now();
  std::string text;
  if (options.emit == "ast") {
    text = dump_ast(compiled->ast);
  } else if (options.emit == "ir") {
    text = dump_ir(compiled->ir);
  } else if (options.emit == "nft") {
    text = nft::emit_text(compiled->table).text;
  } else if (options.emit == "json") {
    text = nft::emit_json(compiled->table);
  } else if (options.emit == "routes") {
    // Fed to `ip -batch -`, an IPv6 rule (and a `default` route without a
    // gateway) would be added as IPv4: one family per batch then.
    if (route::has_family(compiled->routing, IpFamily::v6)) {
      err << "ztc: error: --emit routes: the policy routes IPv6, and an `ip -batch` line "
             "carries no family (an IPv6 rule would be added as IPv4); use --emit routes-ipv4 "
             "with `ip -4 -batch -` and --emit routes-ipv6 with `ip -6 -batch -`\n";
      return kExitUsage;
    }
    text = route::emit_batch(compiled->routing);
  } else if (options.emit == "routes-ipv4") {
    text = route::emit_batch(compiled->routing, IpFamily::v4);
  } else if (options.emit == "routes-ipv6") {
    text = route::emit_batch(compiled->routing, IpFamily::v6);
  } else {
    text = "# nftables: nft -f\n" + nft::emit_text(compiled->table).text;
    std::string routes = route::emit_batch(compiled->routing);
    if (!routes.empty()) text += "\n# routing: ip -batch\n" + routes;
  }
  if (options.timings) {
    double emit_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                               emit_start)
                         .count();
    const StageTimes& t = compiled->times;
    char line[160];
    snprintf(line, sizeof line, "timings: parse %.1f ms, check %.1f ms, lower %.1f ms, emit %.1f ms\n",
             t.parse_ms, t.check_ms, t.lower_ms, emit_ms);
    err << line;
  }
  if (options.output.empty()) {
    out << text;
    return kExitOk;
  }
  std::string error;
  if (!write_whole_file(options.output, text, &error)) {
    err << "ztc: error: " << error << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace ztc
