// ztc's own directories on the node (DESIGN.md, "State on the node"):
//   /run/ztc      what must not outlive a boot: the lock, the sysctl values
//                 ztc changed (to put them back on unload), the load record,
//                 the definitions memo
//   /var/lib/ztc  what must outlive one (reserved for member lists)
// Each is created 0700 when absent. One that is a symlink, not a directory,
// owned by another user than ztc's, or writable by group or others is
// refused: whoever can plant a file there could make root write elsewhere or
// stall every ztc. Files inside are opened relative to the directory's
// descriptor with O_NOFOLLOW (never created through a symlink) and written
// whole by rename, so a reader sees the old content or the new, never half.
//
// ZTC_RUN_DIR and ZTC_STATE_DIR replace the two paths, for tests that plant
// symlinks or foreign owners without disturbing the node's real directory;
// the same checks apply to them.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

namespace ztc {

class StateDir {
 public:
  static std::optional<StateDir> runtime(std::string* error);     // /run/ztc
  static std::optional<StateDir> persistent(std::string* error);  // /var/lib/ztc
  // `path` created (0700) if absent, then checked as described above.
  static std::optional<StateDir> open(const std::string& path, std::string* error);

  StateDir(StateDir&& other) noexcept;
  StateDir& operator=(StateDir&& other) noexcept;
  StateDir(const StateDir&) = delete;
  StateDir& operator=(const StateDir&) = delete;
  ~StateDir();

  const std::string& path() const { return path_; }

  // A file opened read-write, created 0600 if absent (never through a
  // symlink); the caller closes it. -1 with `error`.
  int open_file(const std::string& name, std::string* error) const;
  // The whole file; nullopt without an error when it does not exist.
  std::optional<std::string> read(const std::string& name, std::string* error) const;
  // Replaces the file by rename (a temporary beside it, synced first), and
  // removes the temporaries of NAME that killed writers left.
  bool write(const std::string& name, const std::string& content, std::string* error) const;
  // Removes the file; absent is fine.
  bool remove(const std::string& name, std::string* error) const;

 private:
  StateDir(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
};

// The network namespace of the calling thread. The inode names it while it
// lives and is reused once it is gone; the cookie (SO_NETNS_COOKIE) is never
// reused within a boot, 0 where the kernel cannot say (before 5.14).
struct NetnsIdentity {
  uint64_t inode = 0;
  uint64_t cookie = 0;
};
std::optional<NetnsIdentity> current_netns(std::string* error);

// A JSON record of one network namespace: PREFIX-<INODE> in a StateDir,
// stamped with the namespace's cookie, so a new namespace with a reused inode
// does not inherit the record of a dead one.
class NetnsRecordFile {
 public:
  // For the calling thread's namespace, in StateDir::runtime().
  static std::optional<NetnsRecordFile> open(const std::string& prefix, std::string* error);
  NetnsRecordFile(StateDir directory, const std::string& prefix, NetnsIdentity netns);

  std::string path() const { return directory_.path() + "/" + file_name_; }
  // The document as stored (not always an object); nullopt without an error
  // when there is no file, with `error` when it cannot be read.
  std::optional<nlohmann::json> read(std::string* error) const;
  // Whether a document read is this namespace's, not a dead one's.
  bool is_current(const nlohmann::json& document) const;
  // Replaces the record with `document` (an object), stamped.
  bool write(nlohmann::json document, std::string* error) const;
  bool remove(std::string* error) const;

 private:
  StateDir directory_;
  std::string file_name_;
  uint64_t cookie_;
};

}  // namespace ztc
