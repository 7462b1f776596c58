#include "backend/member_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ostream>

namespace ztc {
namespace {

std::string file_name(const SetTarget& target) {
  return std::string(nft::family_name(target.table->family)) + "." + target.table->name + "." +
         target.set->name + ".members";
}

bool write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// A directory fd, refusing a symlink in its last component.
int open_dir(const std::string& dir) {
  return open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

}  // namespace

std::string member_state_dir(bool other_netns) {
  if (const char* dir = std::getenv("ZTC_STATE_DIR"); dir && *dir) return dir;
  return other_netns ? "" : "/var/lib/ztc";
}

std::string member_state_path(const std::string& dir, const SetTarget& target) {
  return dir + "/" + file_name(target);
}

bool save_member_state(const std::string& dir, const SetTarget& target, nft::SetReader& reader,
                       std::string* error) {
  const std::string path = member_state_path(dir, target);
  Diagnostics diagnostics;
  auto members = list_members(target, reader, diagnostics);
  if (!members) {
    *error = "cannot save " + path + ": " + diagnostics.render();
    while (!error->empty() && error->back() == '\n') error->pop_back();
    return false;
  }
  std::string text;
  for (const nft::Element& member : *members) text += member_line(member) + "\n";

  auto fail = [&](const std::string& what) {
    *error = "cannot " + what + ": " + std::strerror(errno);
    return false;
  };
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return fail("create " + dir);
  int dir_fd = open_dir(dir);
  if (dir_fd < 0) return fail("open " + dir);
  const std::string name = file_name(target);
  const std::string temporary = "." + name + "." + std::to_string(getpid()) + ".tmp";
  int fd = openat(dir_fd, temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                  0644);
  if (fd < 0) {
    fail("write " + dir + "/" + temporary);
    close(dir_fd);
    return false;
  }
  bool written = write_all(fd, text) && fsync(fd) == 0;
  int saved_errno = errno;
  close(fd);
  if (!written || renameat(dir_fd, temporary.c_str(), dir_fd, name.c_str()) != 0) {
    if (written) saved_errno = errno;
    unlinkat(dir_fd, temporary.c_str(), 0);
    close(dir_fd);
    errno = saved_errno;
    return fail("write " + path);
  }
  fsync(dir_fd);  // the rename itself survives a crash
  close(dir_fd);
  return true;
}

void keep_member_state(const std::string& dir, const SetTarget& target, nft::SetReader& reader,
                       bool changed, std::ostream& err) {
  if (dir.empty()) return;
  struct stat info {};
  if (!changed && stat(member_state_path(dir, target).c_str(), &info) == 0) return;
  std::string error;
  if (!save_member_state(dir, target, reader, &error)) {
    err << "ztc: warning: " << error << " (the members stay; a reboot would not restore them)\n";
  }
}

}  // namespace ztc
