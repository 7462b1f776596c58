// Throwaway network namespaces for kernel tests (linked into tests only).
#pragma once

#include <string>

#include "backend/netns.h"

namespace ztc {

// A uniquely named namespace (`ip netns add`), with loopback up, deleted in the
// destructor whatever happened in between.
class ScopedTestNetns {
 public:
  // prefix: a readable part of the name; pid and a counter make it unique.
  // Throws std::runtime_error when the namespace cannot be created.
  explicit ScopedTestNetns(const std::string& prefix = "ztc-test");
  ~ScopedTestNetns();
  ScopedTestNetns(const ScopedTestNetns&) = delete;
  ScopedTestNetns& operator=(const ScopedTestNetns&) = delete;

  const std::string& name() const { return name_; }
  std::string path() const { return netns_path(name_); }

  // `ip netns exec NAME sh -c command`.
  CommandResult run(const std::string& command) const;

 private:
  std::string name_;
};

}  // namespace ztc
