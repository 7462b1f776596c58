// Network namespaces: entering one for the whole CLI (`--netns NAME`), switching a
// single thread into one and back (kernel tests), and running a command in one.
//
// setns(CLONE_NEWNET) changes the namespace of the calling thread only. Netlink
// sockets (libnl, libnftables) stay bound to the namespace of the thread that
// created them, and /proc/sys/net resolves against the thread that opens the file,
// so a test can switch in, create its kernel objects and switch back.
#pragma once

#include <string>

namespace ztc {

// Moves the calling thread into /var/run/netns/NAME. Called by the CLI before any
// socket is opened, while the process has a single thread, so the whole process
// (and every thread it starts later) lives in NAME. False with a reason on failure.
bool enter_netns(const std::string& name, std::string* error);

// Path of a named namespace as `ip netns` creates it.
std::string netns_path(const std::string& name);

// An open handle on the network namespace of the calling thread, for coming back
// to it or for pinning a kernel object to it. -1 with `error` on failure.
int open_current_netns(std::string* error);

// RAII: switches the calling thread into a namespace and back on destruction.
// Does nothing when the thread is already in that namespace. If switching back
// fails the process aborts: carrying on could write to the wrong namespace (the
// root one), which is worse than stopping.
class NetnsSwitch {
 public:
  explicit NetnsSwitch(const std::string& path);  // /var/run/netns/NAME, /proc/PID/ns/net
  explicit NetnsSwitch(int netns_fd);               // not owned, must outlive the switch
  ~NetnsSwitch();
  NetnsSwitch(const NetnsSwitch&) = delete;
  NetnsSwitch& operator=(const NetnsSwitch&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  void enter(int target_fd);

  int original_fd_ = -1;  // where to come back to; -1 when nothing was switched
  std::string error_;
};

// Result of a command run inside a namespace.
struct CommandResult {
  int exit_code = -1;  // -1 when the command could not be started or was killed
  std::string output;  // stdout and stderr, interleaved
};

// Runs `sh -c command` in the current namespace, capturing output.
CommandResult run_command(const std::string& command);

// Quotes a string for sh: 'it'\''s'.
std::string shell_quote(const std::string& text);

}  // namespace ztc
