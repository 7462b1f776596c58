// NftKernel over libnftables. Rulesets go in as a memfd file, not a buffer:
// nft 1.0.6 reports file input as "file:LINE:COL-COL:" with the real offending
// line, but buffer input with no position and the buffer's first line echoed
// (see nft_errors.h), so only file input maps errors to exact policy lines.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "backend/nft_kernel.h"

namespace ztc::nft {

// libnftables, bound to the network namespace of the thread that constructs it
// (each call switches to that namespace if the caller has moved since).
class LibNftKernel : public NftKernel {
 public:
  LibNftKernel();
  ~LibNftKernel() override;
  LibNftKernel(const LibNftKernel&) = delete;
  LibNftKernel& operator=(const LibNftKernel&) = delete;

  ApplyResult run(const std::string& buffer, bool dry_run) override;
  std::optional<std::string> list_table(Family family, const std::string& name, bool json) override;
  std::vector<Element> list_set_elements(Family family, const std::string& table,
                                         const std::string& set) override;
  std::optional<std::string> list_definitions() override;

 private:
  int netns_fd_ = -1;
};

}  // namespace ztc::nft
