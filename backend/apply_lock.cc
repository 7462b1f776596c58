#include "backend/apply_lock.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "backend/state_dir.h"

namespace ztc {
namespace {

constexpr off_t kPidBeaconOffset = off_t{1} << 32;

struct flock byte_lock(short type, off_t offset) {
  struct flock lock {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = offset;
  lock.l_len = 1;
  return lock;
}

// The pid holding the namespace's lock, from its beacon; 0 when unknown (an
// older ztc, or a holder in this very process).
pid_t holder_pid(int fd, off_t netns) {
  struct flock probe = byte_lock(F_WRLCK, netns + kPidBeaconOffset);
  if (fcntl(fd, F_GETLK, &probe) != 0 || probe.l_type == F_UNLCK) return 0;
  return probe.l_pid > 0 ? probe.l_pid : 0;
}

std::string held_by(pid_t pid) {
  return pid > 0 ? "held by pid " + std::to_string(pid) : "held by another ztc";
}

std::string duration_text(int ms) {
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

}  // namespace

ApplyLock::ApplyLock(nft::Family family, const std::string& table, int timeout_ms,
                     const std::string& namespace_name, const WaitNotice& on_wait) {
  std::optional<NetnsIdentity> identity = current_netns(&error_);
  if (!identity) return;
  const off_t netns = static_cast<off_t>(identity->inode);
  const std::string where =
      "namespace " +
      (namespace_name.empty() ? "net:[" + std::to_string(identity->inode) + "]" : namespace_name);
  std::optional<StateDir> directory = StateDir::runtime(&error_);
  if (!directory) return;
  path_ = directory->path() + "/lock";
  fd_ = directory->open_file("lock", &error_);
  if (fd_ < 0) return;

  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  pid_t announced = -1;
  for (;;) {
    struct flock exclusive = byte_lock(F_WRLCK, netns);
    if (fcntl(fd_, F_OFD_SETLK, &exclusive) == 0) break;
    if (errno != EAGAIN && errno != EACCES && errno != EINTR) {
      error_ = "cannot lock " + path_ + ": " + std::strerror(errno);
      return;
    }
    pid_t holder = holder_pid(fd_, netns);
    if (std::chrono::steady_clock::now() >= deadline) {
      timed_out_ = true;
      error_ = "gave up waiting for the lock of " + where + " (" + held_by(holder) + ") after " +
               duration_text(timeout_ms) + "; table " + nft::table_spec(family, table) +
               " was not changed";
      return;
    }
    if (holder != announced && on_wait) {
      on_wait("ztc: waiting for the lock of " + where + " " + held_by(holder));
    }
    announced = holder;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Best effort: only tells waiters who we are.
  struct flock beacon = byte_lock(F_RDLCK, netns + kPidBeaconOffset);
  fcntl(fd_, F_SETLK, &beacon);
  locked_ = true;
}

ApplyLock::~ApplyLock() {
  if (fd_ >= 0) close(fd_);  // releases both locks
}

}  // namespace ztc
