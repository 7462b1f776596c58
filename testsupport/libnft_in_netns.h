// libnftables in a test namespace, for the tests of what the real kernel and
// libnftables answer (linked into tests only).
#pragma once

#include <memory>

#include "backend/libnft_kernel.h"
#include "testsupport/test_netns.h"

namespace ztc::testing {

// A LibNftKernel made inside `netns`: its sockets are made there and stay
// there after the thread comes back.
std::unique_ptr<nft::LibNftKernel> libnft_in(const ScopedTestNetns& netns);

// A transaction that loads on any namespace (`table ip ztc_t`, a set with two
// elements, one with a comment, and a chain on prerouting), so that a failing
// one after it has something to leave alone.
extern const char* const kLoadableTable;

}  // namespace ztc::testing
