// Prints an nft::Table as an `nft -f` file that replaces the owned table in
// one transaction, and remembers which policy line produced each output line
// so that an error nft reports at "buffer:LINE" can be shown at the policy.
//
// The body is printed the way `nft list table` prints it (tabs, blank lines
// between blocks, marks as 0x%08x, no `==` except after a bitwise operation)
// so that golden files of ztc's output and of the kernel's listing compare
// with few differences. Known differences, all from nft normalizing: base
// chain priorities are printed as numbers (nft lists `mangle`, `dstnat - 10`),
// counters print without `packets 0 bytes 0`, `meta l4proto udp th dport 53`
// is listed as `udp dport 53`, anonymous set elements are listed sorted, and
// chain comments are `#` lines that the kernel never sees.
#pragma once

#include <string>
#include <vector>

#include "model/nft_model.h"
#include "model/source.h"

namespace ztc::nft {

struct TextOutput {
  std::string text;
  // line_origin[i] is the policy Location of output line i + 1; unknown for
  // lines with no origin of their own (closing braces, blank lines).
  std::vector<Location> line_origin;
};

// The whole file: `table F N {}`, `delete table F N`, `table F N { ... }`.
TextOutput emit_text(const Table& table);

// One rule as nft prints it inside a chain (no indentation, no newline).
// `table_family` decides whether nat statements name their family.
std::string format_rule(Family table_family, const Rule& rule);

// One statement of a rule as nft prints it (`meta mark & 0x00000200 == 0x00000200`).
std::string format_statement(Family table_family, const Statement& statement);

// `add element ip ztunnel pods { 10.0.0.1, 10.0.0.2 comment "uid" }` (add) or
// `delete element ip ztunnel pods { 10.0.0.1, 10.0.0.2 }` (!add: comments are
// not part of an element's identity, so they are left out), with a trailing
// newline. Empty when `elements` is empty: nft refuses `{ }`.
std::string emit_set_elements_command(const Table& table, const Set& set,
                                      const std::vector<Element>& elements, bool add);

// A buffer that puts an owned table back as it was, in one transaction: as
// `previous` (a stateless `list table` text taken before a load), or gone when
// there was none. For rolling nft back when a later step (routing) fails.
std::string restore_table_buffer(Family family, const std::string& name,
                                 const std::optional<std::string>& previous);

}  // namespace ztc::nft
