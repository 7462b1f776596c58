#include "testsupport/libnft_in_netns.h"

#include <boost/test/unit_test.hpp>

#include "backend/netns.h"

namespace ztc::testing {

std::unique_ptr<nft::LibNftKernel> libnft_in(const ScopedTestNetns& netns) {
  NetnsSwitch in(netns.path());
  BOOST_TEST_REQUIRE(in.ok(), in.error());
  return std::make_unique<nft::LibNftKernel>();
}

const char* const kLoadableTable =
    "table ip ztc_t {}\n"
    "delete table ip ztc_t\n"
    "table ip ztc_t {\n"
    "  set pods {\n"
    "    type ipv4_addr\n"
    "    elements = { 10.244.1.5 comment \"pod-uid-5\", 10.244.1.6 }\n"
    "  }\n"
    "  chain prerouting {\n"
    "    type filter hook prerouting priority -150; policy accept;\n"
    "    ip saddr @pods counter\n"
    "  }\n"
    "}\n";

}  // namespace ztc::testing
