#include "backend/sysctl_state.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

namespace ztc {

std::optional<SysctlState> SysctlState::open(std::string* error) {
  struct stat info {};
  if (stat("/proc/thread-self/ns/net", &info) != 0) {
    *error = std::string("cannot tell the network namespace: ") + std::strerror(errno);
    return std::nullopt;
  }
  // 0 where the kernel cannot say (before 5.14): the inode alone then.
  uint64_t cookie = 0;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    socklen_t size = sizeof cookie;
    if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &size) != 0) cookie = 0;
    close(fd);
  }
  std::optional<StateDir> directory = StateDir::runtime(error);
  if (!directory) return std::nullopt;
  return SysctlState(std::move(*directory), info.st_ino, cookie);
}

SysctlState::SysctlState(StateDir directory, uint64_t netns_inode, uint64_t netns_cookie)
    : directory_(std::move(directory)),
      file_name_("sysctl-" + std::to_string(netns_inode)),
      cookie_(netns_cookie) {}

std::optional<SysctlValues> SysctlState::read(std::string* error) const {
  std::optional<std::string> text = directory_.read(file_name_, error);
  if (!text) {
    if (!error->empty()) return std::nullopt;
    return SysctlValues{};
  }
  auto document = nlohmann::json::parse(*text, nullptr, false);
  if (!document.is_object() || !document.contains("values") || !document["values"].is_object()) {
    *error = path() +
             " is not a sysctl record; remove it to go on (ztc then cannot put back "
             "the sysctls it changed)";
    return std::nullopt;
  }
  if (document.value("netns_cookie", uint64_t{0}) != cookie_) return SysctlValues{};  // stale
  SysctlValues values;
  for (const auto& [key, value] : document["values"].items()) {
    if (value.is_string()) values[key] = value.get<std::string>();
  }
  return values;
}

bool SysctlState::write(const SysctlValues& values, std::string* error) const {
  if (values.empty()) return directory_.remove(file_name_, error);
  nlohmann::json document = {{"netns_cookie", cookie_}, {"values", values}};
  return directory_.write(file_name_, document.dump(1) + "\n", error);
}

}  // namespace ztc
