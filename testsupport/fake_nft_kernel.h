// In-memory NftKernels for unit tests (linked into tests only, never into ztc).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backend/nft_kernel.h"
#include "backend/nft_set_reader.h"

namespace ztc::nft {

// In-memory stand-in for unit tests: records every buffer, fails when told to,
// and answers listings from maps the test fills.
class FakeNftKernel : public NftKernel {
 public:
  struct Call {
    std::string buffer;
    bool dry_run = false;
  };

  ApplyResult run(const std::string& buffer, bool dry_run) override;
  std::optional<std::string> list_table(Family family, const std::string& name, bool json) override;
  std::vector<Element> list_set_elements(Family family, const std::string& table,
                                         const std::string& set) override;

  // Every run() in order, and the buffers that "committed" (successful, not dry).
  std::vector<Call> calls;
  std::vector<std::string> committed;

  // Fail the Nth run() from now (1 = the next one) with `error_text`, which should
  // look like libnftables' (see above); 0 = never. fail_always fails every call.
  void fail_call(int nth, std::string error_text);
  void fail_always(std::string error_text);

  // Listings: key "FAMILY NAME" ("ip ztunnel"), value the text or JSON returned.
  std::map<std::string, std::string> tables_text;
  std::map<std::string, std::string> tables_json;
  // Key "FAMILY TABLE SET".
  std::map<std::string, std::vector<Element>> set_elements;

 private:
  int fail_countdown_ = 0;
  bool fail_every_ = false;
  std::string fail_text_;
};

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
