#include "backend/sysctl.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <vector>

namespace ztc {
namespace {

// Families whose third part is an interface name (which may itself hold dots).
const char* const kPerInterface[] = {"net.ipv4.conf.", "net.ipv6.conf.", "net.ipv4.neigh.",
                                     "net.ipv6.neigh."};

struct SplitKey {
  std::vector<std::string> parts;
  bool per_interface = false;  // parts[3] is an interface name
};

std::vector<std::string> split_dots(const std::string& text) {
  std::vector<std::string> parts(1);
  for (char c : text) {
    if (c == '.') {
      parts.emplace_back();
    } else {
      parts.back() += c == '/' ? '.' : c;  // sysctl(8): '/' in a dotted key is a dot
    }
  }
  return parts;
}

std::optional<SplitKey> split_key(const std::string& key) {
  SplitKey split;
  for (const char* prefix : kPerInterface) {
    std::string p = prefix;
    if (key.compare(0, p.size(), p) != 0) continue;
    std::string rest = key.substr(p.size());
    size_t last_dot = rest.rfind('.');
    if (last_dot == std::string::npos) return std::nullopt;
    split.parts = split_dots(p.substr(0, p.size() - 1));
    std::string ifname = rest.substr(0, last_dot);
    for (char& c : ifname) {
      if (c == '/') c = '.';
    }
    split.parts.push_back(ifname);
    split.parts.push_back(rest.substr(last_dot + 1));
    split.per_interface = true;
    return split;
  }
  split.parts = split_dots(key);
  return split;
}

std::string collapse_spaces(const std::string& text) {
  std::string out;
  bool pending_space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      pending_space = !out.empty();
    } else {
      if (pending_space) out += ' ';
      pending_space = false;
      out += c;
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> sysctl_path(const std::string& key, std::string* error) {
  std::optional<SplitKey> split = split_key(key);
  if (!split || split->parts.size() < 2 || split->parts[0] != "net") {
    if (error) *error = "sysctl key '" + key + "' is not a net.* key";
    return std::nullopt;
  }
  std::string path = "/proc/sys";
  for (const std::string& part : split->parts) {
    if (part.empty() || part == "." || part == ".." || part.find('/') != std::string::npos ||
        part.find('\0') != std::string::npos) {
      if (error) *error = "malformed sysctl key '" + key + "'";
      return std::nullopt;
    }
    path += "/" + part;
  }
  return path;
}

std::optional<std::string> sysctl_interface(const std::string& key) {
  std::optional<SplitKey> split = split_key(key);
  if (!split || !split->per_interface) return std::nullopt;
  const std::string& name = split->parts[3];
  if (name == "all" || name == "default") return std::nullopt;
  return name;
}

std::optional<std::string> read_sysctl_value(const std::string& key, std::string* error) {
  std::optional<std::string> path = sysctl_path(key, error);
  if (!path) return std::nullopt;
  int fd = open(path->c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (error) *error = "cannot read " + *path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::string value;
  char buffer[512];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (error) *error = "cannot read " + *path + ": " + std::strerror(errno);
      close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    value.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
  return value;
}

std::optional<std::string> write_sysctl_value(const std::string& key, const std::string& value) {
  std::string error;
  std::optional<std::string> path = sysctl_path(key, &error);
  if (!path) return error;
  int fd = open(path->c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return "cannot write " + *path + ": " + std::strerror(errno);
  std::string text = value + "\n";
  ssize_t n;
  do {
    n = write(fd, text.data(), text.size());
  } while (n < 0 && errno == EINTR);
  int saved = errno;
  close(fd);
  if (n < 0) return "cannot write " + *path + ": " + std::strerror(saved);
  if (static_cast<size_t>(n) != text.size()) return "short write to " + *path;
  return std::nullopt;
}

bool sysctl_values_equal(const std::string& a, const std::string& b) {
  return collapse_spaces(a) == collapse_spaces(b);
}

}  // namespace ztc
