#include <unistd.h>

#include <iostream>
#include <ostream>

#include "tools/ztc/allocator_tuning.h"
#include "tools/ztc/checked_output.h"
#include "tools/ztc/cli.h"
#include "tools/ztc/commands.h"

int main(int argc, char** argv) {
  ztc::tune_allocator_for_a_short_run();
  ztc::CheckedOutput stdout_buffer(STDOUT_FILENO, "standard output");
  std::ostream out(&stdout_buffer);
  int code = ztc::run_cli(argc, argv, out, std::cerr);
  if (!stdout_buffer.finish()) {
    // The command's work is done (a load stays loaded); only its report was lost.
    std::cerr << "ztc: error: " << stdout_buffer.error() << "\n";
    if (code == ztc::kExitOk) code = ztc::kExitFailure;
  }
  return code;
}
