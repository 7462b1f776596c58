#include "backend/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ztc {
namespace {

std::string errno_text(int error) { return std::strerror(error); }

// Two namespace handles name the same namespace when nsfs gives them one inode.
bool same_namespace(int a, int b) {
  struct stat sa {}, sb {};
  if (fstat(a, &sa) != 0 || fstat(b, &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

bool valid_netns_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos;
}

}  // namespace

std::string netns_path(const std::string& name) { return "/var/run/netns/" + name; }

bool enter_netns(const std::string& name, std::string* error) {
  if (!valid_netns_name(name)) {
    *error = "invalid network namespace name '" + name + "'";
    return false;
  }
  std::string path = netns_path(name);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int saved = errno;
    *error = "cannot open network namespace '" + name + "' (" + path + "): " + errno_text(saved);
    return false;
  }
  int rc = setns(fd, CLONE_NEWNET);
  int saved = errno;
  close(fd);
  if (rc != 0) {
    *error = "cannot enter network namespace '" + name + "': " + errno_text(saved);
    if (saved == EPERM) *error += " (needs root or CAP_SYS_ADMIN)";
    return false;
  }
  return true;
}

int open_current_netns(std::string* error) {
  // thread-self, not self: after a NetnsSwitch the thread and the process differ.
  int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (fd < 0 && error) *error = "cannot open /proc/thread-self/ns/net: " + errno_text(errno);
  return fd;
}

NetnsSwitch::NetnsSwitch(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error_ = "cannot open network namespace " + path + ": " + errno_text(errno);
    return;
  }
  enter(fd);
  close(fd);
}

NetnsSwitch::NetnsSwitch(int netns_fd) { enter(netns_fd); }

void NetnsSwitch::enter(int target_fd) {
  int original = open_current_netns(&error_);
  if (original < 0) return;
  if (same_namespace(original, target_fd)) {
    close(original);
    return;
  }
  if (setns(target_fd, CLONE_NEWNET) != 0) {
    error_ = "cannot switch network namespace: " + errno_text(errno);
    close(original);
    return;
  }
  original_fd_ = original;
}

NetnsSwitch::~NetnsSwitch() {
  if (original_fd_ < 0) return;
  if (setns(original_fd_, CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "ztc: fatal: cannot switch back to the original network namespace: %s\n",
                 std::strerror(errno));
    std::abort();
  }
  close(original_fd_);
}

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

CommandResult run_command(const std::string& command) {
  CommandResult result;
  std::string wrapped = "( " + command + " ) 2>&1";
  FILE* pipe = popen(wrapped.c_str(), "r");
  if (!pipe) {
    result.output = "popen failed: " + errno_text(errno);
    return result;
  }
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  int status = pclose(pipe);
  if (status != -1 && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

}  // namespace ztc
