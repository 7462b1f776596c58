// The values sysctls had before ztc changed them, so that `unload` (or a load
// of a policy that no longer sets one) puts them back. One file per network
// namespace in ztc's runtime directory (state_dir.h), /run/ztc/sysctl-<INODE>:
// it must not outlive a boot, as the values it restores do not.
//
// Only the first value is kept: a reload must not record ztc's own value as
// the one to restore. The file holds the namespace's cookie (SO_NETNS_COOKIE,
// never reused within a boot) beside the values: namespace inodes are reused
// once a namespace is gone, and a new namespace must not inherit the record
// of a dead one with its inode. The same reuse bounds the files left by
// namespaces deleted without an unload to the most namespaces alive at once.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "backend/state_dir.h"

namespace ztc {

using SysctlValues = std::map<std::string, std::string>;  // key -> value before ztc

class SysctlState {
 public:
  // For the calling thread's network namespace, in StateDir::runtime().
  static std::optional<SysctlState> open(std::string* error);
  // For tests: `directory` and an explicit namespace identity.
  SysctlState(StateDir directory, uint64_t netns_inode, uint64_t netns_cookie);
  explicit SysctlState(NetnsRecordFile file) : file_(std::move(file)) {}

  // What is recorded; empty when nothing is (or the record is of a namespace
  // that no longer exists). nullopt with `error` when it cannot be read.
  std::optional<SysctlValues> read(std::string* error) const;
  // Replaces the record (by rename); an empty one removes the file.
  bool write(const SysctlValues& values, std::string* error) const;

  std::string path() const { return file_.path(); }

 private:
  NetnsRecordFile file_;
};

}  // namespace ztc
