// One ztc operation at a time per network namespace. Per namespace, not per
// table: ztc's routing (every rule and route tagged with its protocol) is one
// per namespace, so two loads of different tables would still fight over it.
// A second `ztc load` waits for the first (up to a timeout, saying so once
// on the way) instead of interleaving its writes with it.
//
// The lock lives in ztc's own directory (state_dir.h: /run/ztc, root's,
// 0700), as ONE file for every namespace: an open-file-description lock on
// the byte whose offset is the namespace's inode number. Nothing is created
// per namespace, so nothing piles up however many namespaces come and go,
// and the lock goes with the process (exit, crash, SIGKILL). Since an OFD
// lock does not tell who holds it, the holder also takes a classic POSIX
// read lock on a second byte (inode + 2^32; namespace inodes are 32-bit), and
// a waiter asks F_GETLK about that byte to name the holder's pid.
#pragma once

#include <functional>
#include <string>

#include "model/nft_model.h"

namespace ztc {

class ApplyLock {
 public:
  // Called once when the lock is found taken (and again if the holder
  // changes): "ztc: waiting for the lock of namespace X held by pid N".
  using WaitNotice = std::function<void(const std::string& line)>;

  // Waits up to `timeout_ms` for the lock of the calling thread's network
  // namespace. `namespace_name` (the --netns NAME; empty: "net:[INODE]"),
  // `family` and `table` only name things in messages. Check ok() / error().
  ApplyLock(nft::Family family, const std::string& table, int timeout_ms,
            const std::string& namespace_name = "", const WaitNotice& on_wait = {});
  ~ApplyLock();
  ApplyLock(const ApplyLock&) = delete;
  ApplyLock& operator=(const ApplyLock&) = delete;

  bool ok() const { return locked_; }
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }
  // The lock was held by another ztc for the whole timeout (worth retrying),
  // as opposed to a lock that cannot be had at all (a bad run directory).
  bool timed_out() const { return timed_out_; }

 private:
  int fd_ = -1;
  bool locked_ = false;
  bool timed_out_ = false;
  std::string path_;
  std::string error_;
};

}  // namespace ztc
