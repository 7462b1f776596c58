// The `ztc` command line: parses flags with CLI11 and calls one command.
// Exit codes: 0 success, 1 policy or apply errors (diagnostics on stderr),
// 2 usage errors. ztc's main() is only `return ztc::run_cli(...)`.
#pragma once

#include <iosfwd>

namespace ztc {

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace ztc
