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

namespace ztc {

int run_compile(const CompileOptions& options, std::ostream& out, std::ostream& err) {
  Diagnostics diagnostics;
  auto compiled = compile_from_options(options.policy, diagnostics);
  err << diagnostics.render();
  if (!compiled) return kExitFailure;

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
    text = route::emit_batch(compiled->routing);
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
