// ztc trace: the path of live packets through the policy, in its own lines.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "tools/ztc/commands.h"

namespace ztc {

struct TraceOptions {
  PolicyOptions policy;
  NodeOptions node;
  int count = 10;                  // packets to trace, then stop
  double timeout_seconds = 60;     // stop then, however many were traced
  std::vector<std::string> match;  // the packet words of `ztc explain`
};

// Exit 0 after tracing (also when no packet came before the timeout); 1 when
// the policy does not compile, the table is not loaded or the kernel refuses;
// 2 on usage errors; 128+N after signal N (the trace rule removed first).
int run_trace(const TraceOptions& options, std::ostream& out, std::ostream& err);

}  // namespace ztc
