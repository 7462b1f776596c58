// Applying nft rulesets: a kernel interface (real: libnftables; fake: in memory)
// and the mapping of libnftables' error text back to policy lines.
//
// What nft 1.0.6 prints on failure (checked in a throwaway namespace):
//   file input   (nft_run_cmd_from_filename):
//       /proc/self/fd/4:10:10-16: Error: Could not process rule: No such file or directory
//           jump nochain
//                ^^^^^^^
//   buffer input (nft_run_cmd_from_buffer): no file:line prefix at all, and the
//   echoed line is ALWAYS the buffer's first line, with the carets at the columns
//   of the real offending line:
//       Error: Could not process rule: No such file or directory
//       table ip t {}
//                ^^^^^^^
//   (true for syntax, evaluation and kernel errors alike), and records with no
//   position: "netlink: Error: cache initialization failed: Operation not permitted".
// So LibNftKernel hands libnftables the buffer as a memfd file, which gives exact
// lines; for buffer-style text the mapper guesses the line from the caret columns.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/nft_model.h"
#include "model/diagnostics.h"
#include "model/source.h"

namespace ztc::nft {

struct ApplyResult {
  bool success = false;
  std::string error;   // libnftables' error buffer, verbatim (empty on success)
  std::string output;  // libnftables' output buffer (echo, listings)
};

class NftKernel {
 public:
  virtual ~NftKernel() = default;
  // One libnftables transaction: everything in `buffer` commits or nothing does.
  // dry_run: checked by the kernel, not committed (not a full guarantee: see
  // SEMANTICS.md, a chain loop can pass a dry run on a fresh namespace).
  virtual ApplyResult run(const std::string& buffer, bool dry_run) = 0;
  // `nft [-j] -s list table FAMILY NAME`; nullopt when the table does not exist
  // (or cannot be listed). Stateless: counters would make every diff noisy.
  virtual std::optional<std::string> list_table(Family family, const std::string& name,
                                                bool json) = 0;
  // Members of a named set, with their comments; empty when the set does not exist.
  virtual std::vector<Element> list_set_elements(Family family, const std::string& table,
                                                 const std::string& set) = 0;
  // `nft -t -s list ruleset`: every table with its chains, rules and set and
  // map definitions, without set elements. nft 1.0.6 fetches no element for
  // it (0.1 s with 100k members, where `list table` takes 2.6 s even terse).
  // nullopt: cannot say (then a load replaces the whole table).
  virtual std::optional<std::string> list_definitions() { return std::nullopt; }
};

// libnftables, bound to the network namespace of the thread that constructs it
// (each call switches to that namespace if the caller has moved since).
class LibNftKernel : public NftKernel {
 public:
  LibNftKernel();
  ~LibNftKernel() override;
  LibNftKernel(const LibNftKernel&) = delete;
  LibNftKernel& operator=(const LibNftKernel&) = delete;

  ApplyResult run(const std::string& buffer, bool dry_run) override;
  std::optional<std::string> list_table(Family family, const std::string& name,
                                        bool json) override;
  std::vector<Element> list_set_elements(Family family, const std::string& table,
                                         const std::string& set) override;
  std::optional<std::string> list_definitions() override;

 private:
  int netns_fd_ = -1;
};

// In-memory stand-in for unit tests: records every buffer, fails when told to,
// and answers listings from maps the test fills.
class FakeNftKernel : public NftKernel {
 public:
  struct Call {
    std::string buffer;
    bool dry_run = false;
  };

  ApplyResult run(const std::string& buffer, bool dry_run) override;
  std::optional<std::string> list_table(Family family, const std::string& name,
                                        bool json) override;
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

// A buffer that puts an owned table back as it was, in one transaction: as
// `previous` (a stateless `list table` text taken before a load), or gone when
// there was none. For rolling nft back when a later step (routing) fails.
std::string restore_table_buffer(Family family, const std::string& name,
                                 const std::optional<std::string>& previous);

// One error record of libnftables' error buffer.
struct NftErrorRecord {
  Severity severity = Severity::error;
  int line = 0;          // 1-based buffer line from a "file:LINE:COL-COL:" prefix; 0 if none
  int first_column = 0;  // 1-based; 0 if unknown (from the prefix, else from the carets)
  int last_column = 0;
  std::string message;      // "Could not process rule: No such file or directory"
  std::string echoed_line;  // the line libnftables printed under the message
};

std::vector<NftErrorRecord> parse_nft_errors(std::string_view error_text);

// Diagnostics for libnftables' error text, each at the policy Location of the
// buffer line it names: line_origin[i] is the Location of buffer line i + 1.
// Messages read "nft: <reason>"; a note at the same location quotes the generated
// nft line. When the text carries no line number (buffer input), the line is
// guessed from the echoed text and caret columns, and the note says it is a guess.
Diagnostics map_nft_errors(std::string_view error_text, std::string_view buffer,
                           const std::vector<Location>& line_origin);

// Parses `nft -j list set` output into elements (val and comment), exposed for tests.
// Values read as nft prints them: 10.0.0.1, "istioin" (ifname/string types quoted),
// 6081, 10.0.0.0/8, 10.0.0.1-10.0.0.9, a . b.
std::vector<Element> parse_set_elements_json(const std::string& json_text);

}  // namespace ztc::nft
