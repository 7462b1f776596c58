#include "compiler/compile.h"

#include "compiler/lower.h"

namespace ztc {

std::optional<CompiledPolicy> compile_policy(const std::string& path, FileSystem& files,
                                             const Overrides& overrides, Diagnostics& diagnostics) {
  CompiledPolicy out;
  out.ast = load_policy(path, files, diagnostics);
  if (diagnostics.has_errors()) return std::nullopt;
  out.ir = check(out.ast, overrides, diagnostics);
  if (diagnostics.has_errors()) return std::nullopt;
  out.table = lower(out.ir);
  out.routing = out.ir.routing;
  return out;
}

}  // namespace ztc
