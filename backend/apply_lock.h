// One ztc operation at a time per network namespace: an exclusive flock on a
// file named after the namespace's inode. Per namespace, not per table:
// ztc's routing (every rule and route tagged with its protocol) is one per
// namespace, so two loads of different tables would still fight over it.
// A second `ztc load` waits for the first (up to a timeout) instead of
// interleaving its nft transaction and netlink writes with it.
#pragma once

#include <string>

#include "model/nft_model.h"

namespace ztc {

class ApplyLock {
 public:
  // Waits up to `timeout_ms` for the lock of the calling thread's network
  // namespace; `family` and `table` only name the operation in messages.
  // Check ok() / error().
  ApplyLock(nft::Family family, const std::string& table, int timeout_ms);
  ~ApplyLock();
  ApplyLock(const ApplyLock&) = delete;
  ApplyLock& operator=(const ApplyLock&) = delete;

  bool ok() const { return fd_ >= 0; }
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
  std::string error_;
};

}  // namespace ztc
