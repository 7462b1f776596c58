#include "tools/ztc/policy_input.h"

#include <iostream>

namespace ztc {

std::optional<CompiledPolicy> compile_from_options(const PolicyOptions& options,
                                                   Diagnostics& diagnostics) {
  RealFileSystem disk;
  if (options.file != "-") {
    return compile_policy(options.file, disk, options.overrides, diagnostics, options.include_dirs);
  }
  // stdin: read it (bounded) into memory; includes still resolve on disk,
  // relative to the current directory.
  std::string text;
  char buffer[1 << 16];
  while (std::cin.read(buffer, sizeof buffer) || std::cin.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(std::cin.gcount()));
    if (text.size() > kMaxPolicyBytes) {
      diagnostics.error(Location{}, "<stdin>: policy too large (the limit is " +
                                        std::to_string(kMaxPolicyBytes >> 20) + " MiB)");
      return std::nullopt;
    }
  }
  class StdinFileSystem : public FileSystem {
   public:
    StdinFileSystem(std::string text, FileSystem& disk) : text_(std::move(text)), disk_(disk) {}
    bool read(const std::string& path, std::string* contents, std::string* error) override {
      if (path == "<stdin>") {
        *contents = text_;
        return true;
      }
      return disk_.read(path, contents, error);
    }
    bool resolve(const std::string& path, std::string* resolved, std::string* error) override {
      if (path == "<stdin>") {
        *resolved = path;
        return true;
      }
      return disk_.resolve(path, resolved, error);
    }

   private:
    std::string text_;
    FileSystem& disk_;
  } files(std::move(text), disk);
  return compile_policy("<stdin>", files, options.overrides, diagnostics, options.include_dirs);
}

}  // namespace ztc
