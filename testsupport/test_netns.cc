#include "testsupport/test_netns.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <stdexcept>

namespace ztc {

ScopedTestNetns::ScopedTestNetns(const std::string& prefix) {
  static std::atomic<int> counter{0};
  // Names are capped by nothing in ip-netns, but keep them short and recognisable
  // so a leftover is easy to spot and remove by hand.
  name_ = prefix + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
  CommandResult added = run_command("ip netns add " + shell_quote(name_));
  if (added.exit_code != 0) {
    std::string reason = added.output;
    name_.clear();
    throw std::runtime_error("ip netns add failed: " + reason);
  }
  CommandResult lo = run("ip link set lo up");
  if (lo.exit_code != 0) {
    run_command("ip netns del " + shell_quote(name_));
    throw std::runtime_error("cannot bring lo up in a test namespace: " + lo.output);
  }
}

ScopedTestNetns::~ScopedTestNetns() {
  if (name_.empty()) return;
  CommandResult deleted = run_command("ip netns del " + shell_quote(name_));
  if (deleted.exit_code != 0) {
    std::fprintf(stderr, "ztc: could not delete test namespace %s: %s\n", name_.c_str(),
                 deleted.output.c_str());
  }
}

CommandResult ScopedTestNetns::run(const std::string& command) const {
  return run_command("ip netns exec " + shell_quote(name_) + " sh -c " + shell_quote(command));
}

}  // namespace ztc
