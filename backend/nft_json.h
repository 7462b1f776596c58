// Prints an nft::Table as libnftables JSON (`nft -j -f`, `man libnftables-json`)
// that replaces the owned table in one transaction, like the text emitter:
// add table, delete table, add table, then its sets, chains and rules.
// Loading either output gives the same `nft list table`; chain comments have
// no JSON counterpart that nft 1.0.6 keeps out of the kernel, so they are
// left out here.
#pragma once

#include <string>

#include "model/nft_model.h"

namespace ztc::nft {

// Pretty-printed with an indent of 2, ending in a newline.
std::string emit_json(const Table& table);

}  // namespace ztc::nft
