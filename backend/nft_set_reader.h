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

#include "backend/nft_applier.h"
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

// An in-memory NftKernel whose `add element` / `delete element` buffers change
// in-memory sets the way nft would (all of a buffer or nothing: deleting an
// absent element fails the whole transaction; adding a present one keeps its
// comment), and that reads them back as a SetReader. Other buffers are only
// recorded (see FakeNftKernel: calls, committed, fail_call).
class FakeSetKernel : public FakeNftKernel, public SetReader {
 public:
  struct FakeSet {
    std::string type = "ipv4_addr";
    std::string comment;
    std::vector<Element> members;
  };

  ApplyResult run(const std::string& buffer, bool dry_run) override;
  std::vector<Element> list_set_elements(Family family, const std::string& table,
                                         const std::string& set) override;
  ReadError describe(Family family, const std::string& table, const std::string& set,
                     SetDescription* out) override;
  ReadError find(Family family, const std::string& table, const std::string& set,
                 const std::vector<std::string>& values,
                 std::vector<std::optional<Element>>* found) override;
  ReadError list(Family family, const std::string& table, const std::string& set,
                 std::vector<Element>* members) override;

  // Setup. Key "FAMILY TABLE" ("ip ztunnel") -> table comment.
  void add_table(Family family, const std::string& table, std::string comment = kOwnerComment);
  FakeSet& add_set(Family family, const std::string& table, const std::string& set,
                   std::string type = "ipv4_addr");
  // nullptr when absent.
  const FakeSet* set(Family family, const std::string& table, const std::string& set) const;

  int element_writes = 0;                 // committed buffers that changed elements
  int finds = 0;                          // values looked up one by one
  int lists = 0;                          // whole-set listings
  std::optional<std::string> read_error;  // when set, every read fails with it

 private:
  std::map<std::string, std::string> tables_;  // "ip ztunnel" -> comment
  std::map<std::string, FakeSet> sets_;        // "ip ztunnel pods"
};

}  // namespace ztc::nft
