// ztc-cni: the CNI plugin's process: environment and stdin in, one JSON
// result or error object out (tools/cni/cni_plugin.h).
#include <iostream>
#include <iterator>
#include <string>

#include "model/values.h"
#include "tools/ztc/allocator_tuning.h"
#include "tools/cni/cni_install.h"
#include "tools/cni/cni_plugin.h"

extern char** environ;

int main(int argc, char** argv) {
  ztc::tune_allocator_for_a_short_run();
  // A runtime runs plugins without arguments; with some, this is the
  // installer (tools/deploy/).
  if (argc > 1) return ztc::cni::run_install(argc, argv, std::cout, std::cerr);
  ztc::cni::Environment environment;
  for (char** entry = environ; *entry; ++entry) {
    if (auto variable = ztc::split_name_value(*entry))
      environment[variable->first] = variable->second;
  }
  // A network configuration is a few KiB; refuse anything absurd rather than
  // reading without bound.
  constexpr size_t kMaxInputBytes = size_t{16} << 20;
  std::string input;
  char buffer[1 << 16];
  while (std::cin.read(buffer, sizeof buffer) || std::cin.gcount() > 0) {
    input.append(buffer, static_cast<size_t>(std::cin.gcount()));
    if (input.size() > kMaxInputBytes) {
      std::cout
          << R"({"cniVersion":"1.0.0","code":5,"msg":"I/O failure","details":"stdin is larger than 16 MiB"})"
          << "\n";
      return 1;
    }
  }
  return ztc::cni::run(environment, input, std::cout, std::cerr);
}
