#include "tools/ztc/checked_output.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ztc {

CheckedOutput::CheckedOutput(int fd, std::string name) : fd_(fd), name_(std::move(name)) {
  setp(buffer_, buffer_ + sizeof buffer_);
}

CheckedOutput::~CheckedOutput() { drain(); }

bool CheckedOutput::write_all(const char* data, size_t size) {
  while (size > 0 && error_.empty()) {
    ssize_t written = ::write(fd_, data, size);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      // A zero-byte write of a non-empty buffer makes no progress: treat it as
      // a failure rather than loop.
      error_ = "cannot write " + name_ + ": " +
               (written < 0 ? std::strerror(errno) : std::string("no progress"));
      return false;
    }
    data += written;
    size -= static_cast<size_t>(written);
  }
  return error_.empty();
}

bool CheckedOutput::drain() {
  bool ok = write_all(pbase(), static_cast<size_t>(pptr() - pbase()));
  setp(buffer_, buffer_ + sizeof buffer_);
  return ok;
}

CheckedOutput::int_type CheckedOutput::overflow(int_type c) {
  if (!drain()) return traits_type::eof();
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  *pptr() = traits_type::to_char_type(c);
  pbump(1);
  return c;
}

std::streamsize CheckedOutput::xsputn(const char* data, std::streamsize size) {
  if (size >= static_cast<std::streamsize>(sizeof buffer_)) {
    if (!drain() || !write_all(data, static_cast<size_t>(size))) return 0;
    return size;
  }
  return std::streambuf::xsputn(data, size);
}

int CheckedOutput::sync() { return drain() ? 0 : -1; }

bool CheckedOutput::finish() {
  drain();
  return error_.empty();
}

bool write_whole_file(const std::string& path, const std::string& text, std::string* error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    *error = "cannot write '" + path + "': " + std::strerror(errno);
    return false;
  }
  CheckedOutput out(fd, "'" + path + "'");
  out.sputn(text.data(), static_cast<std::streamsize>(text.size()));
  bool ok = out.finish();
  *error = out.error();
  // Some file systems (NFS, quotas) report a failed write only at close.
  if (::close(fd) != 0 && ok) {
    *error = "cannot write '" + path + "': " + std::strerror(errno);
    ok = false;
  }
  return ok;
}

}  // namespace ztc
