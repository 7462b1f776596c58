// libnftables' error text, read back to the policy lines that produced the
// offending nft lines.
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

#include <string_view>
#include <vector>

#include "model/diagnostics.h"
#include "model/source.h"

namespace ztc::nft {

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

}  // namespace ztc::nft
