#include "backend/apply_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace ztc {
namespace {

// The namespace is the name: loads into different namespaces (tests,
// --netns) never wait for each other.
std::string lock_path() {
  struct stat info {};
  unsigned long long netns = 0;
  if (stat("/proc/thread-self/ns/net", &info) == 0) netns = info.st_ino;
  return "/run/lock/ztc-netns-" + std::to_string(netns) + ".lock";
}

}  // namespace

ApplyLock::ApplyLock(nft::Family family, const std::string& table, int timeout_ms)
    : path_(lock_path()) {
  mkdir("/run/lock", 01777);
  int fd = open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    error_ = "cannot open lock " + path_ + ": " + std::strerror(errno);
    return;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      error_ = "cannot lock " + path_ + ": " + std::strerror(errno);
      close(fd);
      return;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      error_ = "another ztc is changing this network namespace (lock " + path_ +
               ", waiting to change table " + nft::family_name(family) + " " + table +
               "); gave up after " +
               (timeout_ms % 1000 == 0 ? std::to_string(timeout_ms / 1000) + " s"
                                       : std::to_string(timeout_ms) + " ms");
      close(fd);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  fd_ = fd;
}

ApplyLock::~ApplyLock() {
  if (fd_ >= 0) close(fd_);  // releases the flock
}

}  // namespace ztc
