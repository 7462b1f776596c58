#include "backend/libnft_kernel.h"

#include <nftables/libnftables.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <string>

#include "backend/netns.h"
#include "backend/nft_json_listing.h"

namespace ztc::nft {
namespace {

// Owns one libnftables context; contexts open their netlink socket at creation,
// so one is made per call, inside the kernel object's namespace.
class Context {
 public:
  explicit Context(unsigned output_flags) : ctx_(nft_ctx_new(NFT_CTX_DEFAULT)) {
    if (!ctx_) return;
    nft_ctx_buffer_output(ctx_);
    nft_ctx_buffer_error(ctx_);
    nft_ctx_output_set_flags(ctx_, output_flags);
  }
  ~Context() {
    if (ctx_) nft_ctx_free(ctx_);
  }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  nft_ctx* get() const { return ctx_; }
  std::string output() const {
    const char* text = nft_ctx_get_output_buffer(ctx_);
    return text ? text : "";
  }
  std::string error() const {
    const char* text = nft_ctx_get_error_buffer(ctx_);
    return text ? text : "";
  }

 private:
  nft_ctx* ctx_;
};

// nft object names that can be pasted into a command without quoting.
bool plain_name(const std::string& name) {
  if (name.empty() || name.size() > 255) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) {
      return false;
    }
  }
  return true;
}

// The buffer as an anonymous in-memory file. libnftables reports file input with
// "path:LINE:COL-COL:" and the real offending line; buffer input gets neither.
int buffer_as_memfd(const std::string& buffer) {
  int fd = memfd_create("ztc-ruleset", MFD_CLOEXEC);
  if (fd < 0) return -1;
  size_t done = 0;
  while (done < buffer.size()) {
    ssize_t n = write(fd, buffer.data() + done, buffer.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      close(fd);
      return -1;
    }
    done += static_cast<size_t>(n);
  }
  return fd;
}

void replace_all(std::string* text, const std::string& from, const std::string& to) {
  for (size_t at = text->find(from); at != std::string::npos; at = text->find(from, at)) {
    text->replace(at, from.size(), to);
    at += to.size();
  }
}

}  // namespace

LibNftKernel::LibNftKernel() { netns_fd_ = open_current_netns(nullptr); }

LibNftKernel::~LibNftKernel() {
  if (netns_fd_ >= 0) close(netns_fd_);
}

ApplyResult LibNftKernel::run(const std::string& buffer, bool dry_run) {
  ApplyResult result;
  NetnsSwitch in_namespace(netns_fd_);
  if (!in_namespace.ok()) {
    result.error = "Error: " + in_namespace.error() + "\n";
    return result;
  }
  Context ctx(0);
  if (!ctx.get()) {
    result.error = "Error: cannot create a libnftables context\n";
    return result;
  }
  nft_ctx_set_dry_run(ctx.get(), dry_run);
  int fd = buffer_as_memfd(buffer);
  int rc;
  if (fd >= 0) {
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    rc = nft_run_cmd_from_filename(ctx.get(), path.c_str());
    close(fd);
    result.error = ctx.error();
    // The memfd path means nothing to a reader.
    replace_all(&result.error, path + ":", "ruleset:");
  } else {
    rc = nft_run_cmd_from_buffer(ctx.get(), buffer.c_str());
    result.error = ctx.error();
  }
  result.output = ctx.output();
  result.success = rc == 0;
  if (!result.success && result.error.empty()) result.error = "Error: libnftables failed\n";
  return result;
}

std::optional<std::string> LibNftKernel::list_table(Family family, const std::string& name,
                                                    bool json) {
  if (!plain_name(name)) return std::nullopt;
  NetnsSwitch in_namespace(netns_fd_);
  if (!in_namespace.ok()) return std::nullopt;
  unsigned flags = NFT_CTX_OUTPUT_STATELESS;
  if (json) flags |= NFT_CTX_OUTPUT_JSON;
  Context ctx(flags);
  if (!ctx.get()) return std::nullopt;
  std::string command = "list table " + table_spec(family, name);
  if (nft_run_cmd_from_buffer(ctx.get(), command.c_str()) != 0) return std::nullopt;
  return ctx.output();
}

std::vector<Element> LibNftKernel::list_set_elements(Family family, const std::string& table,
                                                     const std::string& set) {
  if (!plain_name(table) || !plain_name(set)) return {};
  NetnsSwitch in_namespace(netns_fd_);
  if (!in_namespace.ok()) return {};
  Context ctx(NFT_CTX_OUTPUT_JSON);
  if (!ctx.get()) return {};
  std::string command = "list set " + object_spec(family, table, set);
  if (nft_run_cmd_from_buffer(ctx.get(), command.c_str()) != 0) return {};
  return parse_set_elements_json(ctx.output());
}

std::optional<std::string> LibNftKernel::list_definitions() {
  NetnsSwitch in_namespace(netns_fd_);
  if (!in_namespace.ok()) return std::nullopt;
  Context ctx(NFT_CTX_OUTPUT_STATELESS | NFT_CTX_OUTPUT_TERSE);
  if (!ctx.get()) return std::nullopt;
  if (nft_run_cmd_from_buffer(ctx.get(), "list ruleset") != 0) return std::nullopt;
  return ctx.output();
}

}  // namespace ztc::nft
