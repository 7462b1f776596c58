// Reading one nft set quickly: does the table and the set exist, is a given
// element a member (and with which comment), and every member.
//
// libnftables 1.0.6 can only answer these by fetching the whole set: with
// 100k members `nft get element` takes 0.66 s and the JSON listing 1.3 s,
// while the kernel answers a one-element NFT_MSG_GETSETELEM in microseconds.
// Enrolling one pod into 100k must cost milliseconds, so `ztc set` reads
// through a SetReader (real: nfnetlink directly, via libnl) and writes through
// libnftables (NftKernel::run, one transaction), like everything else.
//
// Values are written as nft prints them and as nft::Element holds them:
// 10.0.0.1, fd00::1, 6081, "istioin" (ifname: quoted).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/nft_model.h"

namespace ztc::netlink {
class Socket;
}

namespace ztc::nft {

// nullopt on success, else the reason ("Operation not permitted").
using ReadError = std::optional<std::string>;

struct SetDescription {
  bool table_exists = false;
  std::string table_comment;  // ztc's tables say kOwnerComment
  bool set_exists = false;
  // nft type of the key (ipv4_addr, ipv6_addr, inet_service, ifname), or
  // "type N" for a type ztc does not read.
  std::string type;
  uint32_t flags = 0;       // NFT_SET_* (interval, timeout, ...)
  std::string set_comment;  // ztc's managed sets: their member routes record
};

class SetReader {
 public:
  virtual ~SetReader() = default;
  // Succeeds when the table or set is missing (the description says so).
  virtual ReadError describe(Family family, const std::string& table, const std::string& set,
                             SetDescription* out) = 0;
  // found->at(i): the member equal to values[i] with its comment, or nullopt.
  // One kernel lookup per value: for a few values in a large set.
  virtual ReadError find(Family family, const std::string& table, const std::string& set,
                         const std::vector<std::string>& values,
                         std::vector<std::optional<Element>>* found) = 0;
  // Every member, in the kernel's order.
  virtual ReadError list(Family family, const std::string& table, const std::string& set,
                         std::vector<Element>* members) = 0;
};

// nfnetlink through libnl, bound to the network namespace of the thread that
// opens it (the CLI enters --netns first).
class NetlinkSetReader : public SetReader {
 public:
  // nullptr with `error` when the socket cannot be opened.
  static std::unique_ptr<NetlinkSetReader> open(std::string* error);
  ~NetlinkSetReader() override;
  NetlinkSetReader(const NetlinkSetReader&) = delete;
  NetlinkSetReader& operator=(const NetlinkSetReader&) = delete;

  ReadError describe(Family family, const std::string& table, const std::string& set,
                     SetDescription* out) override;
  ReadError find(Family family, const std::string& table, const std::string& set,
                 const std::vector<std::string>& values,
                 std::vector<std::optional<Element>>* found) override;
  ReadError list(Family family, const std::string& table, const std::string& set,
                 std::vector<Element>* members) override;

  int requests() const { return requests_; }  // netlink requests sent (for tests)

 private:
  explicit NetlinkSetReader(std::unique_ptr<netlink::Socket> socket);
  // The key type and length of a set, cached per set (describe fills it).
  struct KeyFormat {
    uint32_t type = 0;
    uint32_t length = 0;
  };
  ReadError key_format(Family family, const std::string& table, const std::string& set,
                       KeyFormat* format);

  std::unique_ptr<netlink::Socket> socket_;
  int requests_ = 0;
  std::map<std::string, KeyFormat> formats_;
};

// Element values <-> the key bytes the kernel stores, by nft key type
// (datatype id: 7 ipv4_addr, 8 ipv6_addr, 13 inet_service, 41 ifname).
// Exposed for tests. nullopt for a value that is not of the type.
std::optional<std::string> encode_key(uint32_t key_type, uint32_t key_length,
                                      const std::string& value);
std::optional<std::string> decode_key(uint32_t key_type, const std::string& bytes);
std::string key_type_name(uint32_t key_type);  // "ipv4_addr", or "type N"

}  // namespace ztc::nft
