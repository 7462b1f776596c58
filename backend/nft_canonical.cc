#include "backend/nft_canonical.h"

#include <sched.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "backend/nft_applier.h"

namespace ztc::nft {

std::optional<std::string> canonical_listing(const std::string& buffer, Family family,
                                             const std::string& table, std::string* error) {
  std::optional<std::string> listing;
  std::string failure;
  // unshare(CLONE_NEWNET) moves only the calling thread; the thread (and with
  // it the scratch namespace) is gone when it returns.
  std::thread worker([&] {
    if (unshare(CLONE_NEWNET) != 0) {
      failure = std::string("cannot create a scratch network namespace: ") + std::strerror(errno);
      return;
    }
    LibNftKernel kernel;
    ApplyResult result = kernel.run(buffer, /*dry_run=*/false);
    if (!result.success) {
      failure = result.error;
      return;
    }
    listing = kernel.list_table(family, table, /*json=*/false);
    if (!listing) failure = "the table did not list back";
  });
  worker.join();
  if (!listing && error) *error = failure;
  return listing;
}

}  // namespace ztc::nft
