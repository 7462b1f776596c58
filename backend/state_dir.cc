#include "backend/state_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

namespace ztc {
namespace {

std::string from_environment(const char* variable, const char* fallback) {
  const char* value = std::getenv(variable);
  return value && *value ? value : fallback;
}

bool plain_name(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

std::string temporary_prefix(const std::string& name) { return "." + name + ".tmp."; }

// A ztc killed between writing its temporary and renaming it leaves
// `.NAME.tmp.PID` behind; nothing else would ever remove it. The next writer
// of NAME removes those whose process is gone. One whose PID is alive is
// left alone: the writers of a namespace's records hold its lock, so that
// PID was reused, or is of another PID namespace sharing /run/ztc.
void remove_stale_temporaries(int directory_fd, const std::string& name) {
  int fd = openat(directory_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  DIR* directory = fdopendir(fd);
  if (!directory) {
    close(fd);
    return;
  }
  const std::string prefix = temporary_prefix(name);
  std::vector<std::string> stale;
  while (const dirent* entry = readdir(directory)) {
    const std::string file = entry->d_name;
    if (file.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string digits = file.substr(prefix.size());
    if (digits.empty() || digits.size() > 9 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    if (pid != getpid() && kill(pid, 0) != 0 && errno == ESRCH) stale.push_back(file);
  }
  closedir(directory);
  for (const std::string& file : stale) unlinkat(directory_fd, file.c_str(), 0);
}

}  // namespace

std::optional<StateDir> StateDir::runtime(std::string* error) {
  return open(from_environment("ZTC_RUN_DIR", "/run/ztc"), error);
}

std::optional<StateDir> StateDir::persistent(std::string* error) {
  return open(from_environment("ZTC_STATE_DIR", "/var/lib/ztc"), error);
}

std::optional<StateDir> StateDir::open(const std::string& path, std::string* error) {
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    *error = "cannot create " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    struct stat link {};
    bool symlink = errno == ELOOP || (lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode));
    *error = symlink ? path +
                           " is a symbolic link; refusing to use it (remove it: ztc creates "
                           "its own directory)"
                     : "cannot open " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  struct stat info {};
  if (fstat(fd, &info) != 0) {
    *error = "cannot inspect " + path + ": " + std::strerror(errno);
    close(fd);
    return std::nullopt;
  }
  if (info.st_uid != geteuid()) {
    *error = path + " is owned by uid " + std::to_string(info.st_uid) + ", not by uid " +
             std::to_string(geteuid()) + " (ztc's); refusing to use it";
  } else if (info.st_mode & (S_IWGRP | S_IWOTH)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
    *error = path + " is writable by others (mode " + mode + "); refusing to use it";
  } else {
    return StateDir(path, fd);
  }
  close(fd);
  return std::nullopt;
}

StateDir::StateDir(StateDir&& other) noexcept : path_(std::move(other.path_)), fd_(other.fd_) {
  other.fd_ = -1;
}

StateDir& StateDir::operator=(StateDir&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

StateDir::~StateDir() {
  if (fd_ >= 0) close(fd_);
}

int StateDir::open_file(const std::string& name, std::string* error) const {
  if (!plain_name(name)) {
    *error = "bad state file name '" + name + "'";
    return -1;
  }
  int fd = openat(fd_, name.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) *error = "cannot open " + path_ + "/" + name + ": " + std::strerror(errno);
  return fd;
}

std::optional<std::string> StateDir::read(const std::string& name, std::string* error) const {
  error->clear();
  if (!plain_name(name)) {
    *error = "bad state file name '" + name + "'";
    return std::nullopt;
  }
  int fd = openat(fd_, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) *error = "cannot read " + path_ + "/" + name + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::string content;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = "cannot read " + path_ + "/" + name + ": " + std::strerror(errno);
      close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return content;
}

bool StateDir::write(const std::string& name, const std::string& content,
                     std::string* error) const {
  if (!plain_name(name)) {
    *error = "bad state file name '" + name + "'";
    return false;
  }
  remove_stale_temporaries(fd_, name);
  const std::string temporary = temporary_prefix(name) + std::to_string(getpid());
  unlinkat(fd_, temporary.c_str(), 0);  // a leftover of a killed ztc with this pid
  int fd =
      openat(fd_, temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    *error = "cannot write " + path_ + "/" + temporary + ": " + std::strerror(errno);
    return false;
  }
  size_t done = 0;
  bool ok = true;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    done += static_cast<size_t>(n);
  }
  ok = ok && fsync(fd) == 0;
  int saved = errno;
  close(fd);
  if (ok && renameat(fd_, temporary.c_str(), fd_, name.c_str()) == 0) return true;
  if (!ok) errno = saved;
  *error = "cannot write " + path_ + "/" + name + ": " + std::strerror(errno);
  unlinkat(fd_, temporary.c_str(), 0);
  return false;
}

bool StateDir::remove(const std::string& name, std::string* error) const {
  if (!plain_name(name)) {
    *error = "bad state file name '" + name + "'";
    return false;
  }
  if (unlinkat(fd_, name.c_str(), 0) == 0 || errno == ENOENT) return true;
  *error = "cannot remove " + path_ + "/" + name + ": " + std::strerror(errno);
  return false;
}

std::optional<NetnsIdentity> current_netns(std::string* error) {
  struct stat info {};
  if (stat("/proc/thread-self/ns/net", &info) != 0) {
    *error = std::string("cannot tell the network namespace: ") + std::strerror(errno);
    return std::nullopt;
  }
  NetnsIdentity netns;
  netns.inode = info.st_ino;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    socklen_t size = sizeof netns.cookie;
    if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &netns.cookie, &size) != 0) netns.cookie = 0;
    close(fd);
  }
  return netns;
}

std::optional<NetnsRecordFile> NetnsRecordFile::open(const std::string& prefix,
                                                     std::string* error) {
  std::optional<NetnsIdentity> netns = current_netns(error);
  if (!netns) return std::nullopt;
  std::optional<StateDir> directory = StateDir::runtime(error);
  if (!directory) return std::nullopt;
  return NetnsRecordFile(std::move(*directory), prefix, *netns);
}

NetnsRecordFile::NetnsRecordFile(StateDir directory, const std::string& prefix, NetnsIdentity netns)
    : directory_(std::move(directory)),
      file_name_(prefix + "-" + std::to_string(netns.inode)),
      cookie_(netns.cookie) {}

std::optional<nlohmann::json> NetnsRecordFile::read(std::string* error) const {
  std::optional<std::string> text = directory_.read(file_name_, error);
  if (!text) return std::nullopt;
  return nlohmann::json::parse(*text, nullptr, false);
}

bool NetnsRecordFile::is_current(const nlohmann::json& document) const {
  return document.is_object() && document.value("netns_cookie", uint64_t{0}) == cookie_;
}

bool NetnsRecordFile::write(nlohmann::json document, std::string* error) const {
  document["netns_cookie"] = cookie_;
  return directory_.write(file_name_, document.dump(1) + "\n", error);
}

bool NetnsRecordFile::remove(std::string* error) const {
  return directory_.remove(file_name_, error);
}

}  // namespace ztc
