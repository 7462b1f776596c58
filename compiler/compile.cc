#include "compiler/compile.h"

#include <chrono>

#include "model/enroll_fingerprint.h"
#include "compiler/lower.h"

namespace ztc {

std::optional<CompiledPolicy> compile_policy(const std::string& path, FileSystem& files,
                                             const Overrides& overrides, Diagnostics& diagnostics,
                                             const std::vector<std::string>& include_dirs) {
  using Clock = std::chrono::steady_clock;
  auto ms_since = [](Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  };
  CompiledPolicy out;
  auto start = Clock::now();
  out.ast = load_policy(path, files, diagnostics, include_dirs);
  out.times.parse_ms = ms_since(start);
  if (diagnostics.has_errors()) return std::nullopt;
  start = Clock::now();
  out.ir = check(out.ast, overrides, diagnostics);
  out.times.check_ms = ms_since(start);
  if (diagnostics.has_errors()) return std::nullopt;
  start = Clock::now();
  try {
    out.table = lower(out.ir);
  } catch (const LoweringError& error) {
    diagnostics.error(error.location, std::string("internal error: ") + error.what());
    return std::nullopt;
  }
  out.times.lower_ms = ms_since(start);
  out.routing = out.ir.routing;
  record_member_routes(&out.table, out.routing);
  return out;
}

}  // namespace ztc
