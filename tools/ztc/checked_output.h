// Output that knows whether it arrived. Everything ztc prints goes to stdout
// or to `-o FILE` through a CheckedOutput, and main() checks it once at the
// end: a member list cut short by a full disk, fed back to `set sync`, would
// un-enrol pods, so a write that fails (or writes part) is exit 1, not 0.
#pragma once

#include <streambuf>
#include <string>

namespace ztc {

class CheckedOutput : public std::streambuf {
 public:
  // Writes to `fd` (not closed here). `name` is what a message calls it.
  CheckedOutput(int fd, std::string name);
  ~CheckedOutput() override;
  CheckedOutput(const CheckedOutput&) = delete;
  CheckedOutput& operator=(const CheckedOutput&) = delete;

  // Writes what is buffered; false (and error() says why) if any write
  // since the start failed.
  bool finish();
  const std::string& error() const { return error_; }

 protected:
  int_type overflow(int_type c) override;
  std::streamsize xsputn(const char* data, std::streamsize size) override;
  int sync() override;

 private:
  bool write_all(const char* data, size_t size);
  bool drain();

  int fd_;
  std::string name_;
  std::string error_;  // the first failure; later writes are not attempted
  char buffer_[1 << 16];
};

// Creates or truncates `path` and writes `text` to it completely, closing it;
// false with the reason in *error ("cannot write 'out.nft': No space left on
// device").
bool write_whole_file(const std::string& path, const std::string& text, std::string* error);

}  // namespace ztc
