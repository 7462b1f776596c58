// Large set element lists, read without ANTLR (part of the parse stage).
//
// A managed set may start with 100k members. Through ANTLR each element costs
// a UTF-32 copy, a lexer walk, token objects, a rule context and terminal
// nodes: ~80% of compiling such a policy. take_bulk_lists finds well-formed
// lists of at least kBulkMinElements, reads them by the lexer's own rules for
// exactly the tokens a list may hold, and cuts them out of the text ANTLR will
// read, keeping their newlines so that every other token keeps its line and
// column. ANTLR then parses `set x: T = { }`; parse.cc checks that each cut
// list was a set statement's and the transformer takes the elements from here.
// Anything unexpected (a token the scanner does not know, a syntax error
// anywhere) makes parse.cc parse the untouched text with ANTLR alone.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "compiler/parse.h"

namespace ztc {

constexpr size_t kBulkMinElements = 32;

// A token of an element list read here instead of by ANTLR, with what the
// transformer needs of an ANTLR token.
struct BulkToken {
  size_t type = 0;  // ZtcLexer token type
  size_t start = 0, stop = 0;  // byte offsets in the file, stop inclusive
  int line = 0;
  int column = 0;  // 0-based, as ANTLR's charPositionInLine
};
struct BulkElement {
  BulkToken member;
  std::optional<BulkToken> comment;  // the STRING after `comment`
};
// The element lists take_bulk_lists cut out of the text ANTLR reads (keeping the
// newlines, so lines and columns stay), by the offset of their `{` in that
// text, and how to map an offset there back to the file.
struct BulkLists {
  std::unordered_map<size_t, std::vector<BulkElement>> lists;
  // (offset in ANTLR's text just after a cut, bytes cut before it in all)
  std::vector<std::pair<size_t, size_t>> cuts;

  size_t file_offset(size_t offset) const {
    size_t shift = 0;
    for (const auto& [after, removed] : cuts) {
      if (offset < after) break;
      shift = removed;
    }
    return offset + shift;
  }
};

// Finds `set NAME : TYPE [managed] = {` followed by a well-formed element list
// of at least kBulkMinElements in `lexer_text` (the file as the lexer reads
// it), records each list and cuts it out of `lexer_text`.
// At most `max_elements` in all are read (memory stays bounded whatever the
// file holds); lists past them are left to ANTLR, which refuses a policy of
// more tokens than that (parse.h).
BulkLists take_bulk_lists(std::string& lexer_text, size_t max_elements = kMaxPolicyTokens);

}  // namespace ztc
