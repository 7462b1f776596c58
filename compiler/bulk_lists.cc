#include "compiler/bulk_lists.h"

#include <string_view>
#include <unordered_set>

#include "ZtcLexer.h"
#include "antlr4-runtime.h"

namespace ztc {
namespace {

namespace g = ztc::grammar;

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }
bool is_word(char c) {
  return is_name_start(c) || is_digit(c) || c == '.' || c == ':' || c == '/';
}

// The lexer's keywords ('set', 'comment', ...), from its vocabulary.
const std::unordered_set<std::string>& keywords() {
  static const std::unordered_set<std::string> words = [] {
    std::unordered_set<std::string> out;
    antlr4::ANTLRInputStream empty("");
    g::ZtcLexer lexer(&empty);
    const antlr4::dfa::Vocabulary& vocabulary = lexer.getVocabulary();
    for (size_t type = 1; type <= vocabulary.getMaxTokenType(); ++type) {
      std::string literal = vocabulary.getLiteralName(type);  // 'set', with the quotes
      if (literal.size() > 2 && is_name_start(literal[1])) {
        out.insert(literal.substr(1, literal.size() - 2));
      }
    }
    return out;
  }();
  return words;
}

// `word` (a maximal run of [A-Za-z0-9_.:/]) as the one token the lexer makes of
// it, or 0 when the lexer would make it something else or several tokens. No
// token the lexer has can extend past such a run, and the four rules below
// cannot match the same text, so a whole-run match is the lexer's token.
size_t classify_word(std::string_view word) {
  size_t n = word.size();
  auto digits_from = [&](size_t i) {  // [0-9]+ up to the end
    if (i >= n) return false;
    for (; i < n; ++i) {
      if (!is_digit(word[i])) return false;
    }
    return true;
  };
  if (is_name_start(word[0])) {  // ID: [a-zA-Z_] [a-zA-Z_0-9]*, keywords first
    for (char c : word) {
      if (!is_name_start(c) && !is_digit(c)) return 0;
    }
    if (word == "comment") return g::ZtcLexer::COMMENT;
    return keywords().count(std::string(word)) ? 0 : g::ZtcLexer::ID;
  }
  if (word.find(':') != std::string_view::npos) {
    // IPV6_LITERAL: HEX_GROUP? ':' HEX_GROUP? ':' [0-9a-fA-F:.]* ('/' [0-9]+)?
    size_t i = 0;
    while (i < n && is_hex(word[i])) ++i;
    if (i >= n || word[i] != ':') return 0;
    ++i;
    while (i < n && is_hex(word[i])) ++i;
    if (i >= n || word[i] != ':') return 0;
    ++i;
    while (i < n && (is_hex(word[i]) || word[i] == ':' || word[i] == '.')) ++i;
    if (i == n) return g::ZtcLexer::IPV6_LITERAL;
    return word[i] == '/' && digits_from(i + 1) ? g::ZtcLexer::IPV6_LITERAL : 0;
  }
  if (word.find('.') != std::string_view::npos) {
    // IPV4_LITERAL: DEC_OCTET '.' DEC_OCTET '.' DEC_OCTET '.' DEC_OCTET ('/' [0-9]+)?
    size_t i = 0;
    for (int octet = 0; octet < 4; ++octet) {
      if (octet > 0) {
        if (i >= n || word[i] != '.') return 0;
        ++i;
      }
      size_t begin = i;
      while (i < n && i - begin < 3 && is_digit(word[i])) ++i;
      if (i == begin) return 0;
    }
    if (i == n) return g::ZtcLexer::IPV4_LITERAL;
    return word[i] == '/' && digits_from(i + 1) ? g::ZtcLexer::IPV4_LITERAL : 0;
  }
  // NUMBER: '0' [xX] [0-9a-fA-F]+ | [0-9]+
  if (n > 2 && word[0] == '0' && (word[1] == 'x' || word[1] == 'X')) {
    for (size_t i = 2; i < n; ++i) {
      if (!is_hex(word[i])) return 0;
    }
    return g::ZtcLexer::NUMBER;
  }
  return digits_from(0) ? g::ZtcLexer::NUMBER : 0;
}

// Walks `text` (the lexer's input) keeping ANTLR's line and column.
class Cursor {
 public:
  explicit Cursor(const std::string& text) : text_(&text) {}
  bool done() const { return pos_ >= text_->size(); }
  char peek() const { return (*text_)[pos_]; }
  size_t pos() const { return pos_; }
  int line() const { return line_; }
  int column() const { return column_; }
  void advance() {
    if ((*text_)[pos_++] == '\n') {
      ++line_;
      column_ = 0;
    } else {
      ++column_;
    }
  }
  // WS and LINE_COMMENT, as the lexer skips them.
  void skip_blanks() {
    while (!done()) {
      char c = peek();
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        advance();
      } else if (c == '#') {
        while (!done() && peek() != '\r' && peek() != '\n') advance();
      } else {
        return;
      }
    }
  }
  // STRING: '"' (~["\\\r\n] | '\\' ~[\r\n])* '"'. False when unterminated.
  bool skip_string() {
    advance();  // the opening quote
    while (!done()) {
      char c = peek();
      if (c == '"') {
        advance();
        return true;
      }
      if (c == '\r' || c == '\n') return false;
      if (c == '\\') {
        advance();
        if (done() || peek() == '\r' || peek() == '\n') return false;
      }
      advance();
    }
    return false;
  }
  std::string_view word() {
    size_t begin = pos_;
    while (!done() && is_word(peek())) advance();
    return std::string_view(*text_).substr(begin, pos_ - begin);
  }

 private:
  const std::string* text_;
  size_t pos_ = 0;
  int line_ = 1;
  int column_ = 0;
};

// One token of an element list: a value, `comment`, ',' or '}'; type 0 when
// the lexer would not produce exactly one such token here.
BulkToken next_list_token(Cursor& cursor) {
  cursor.skip_blanks();
  BulkToken token;
  token.start = cursor.pos();
  token.line = cursor.line();
  token.column = cursor.column();
  if (cursor.done()) return token;
  char c = cursor.peek();
  if (c == ',' || c == '}') {
    token.type = c == ',' ? g::ZtcLexer::COMMA : g::ZtcLexer::RBRACE;
    cursor.advance();
  } else if (c == '"') {
    if (cursor.skip_string()) token.type = g::ZtcLexer::STRING;
  } else if (is_word(c)) {
    token.type = classify_word(cursor.word());
  }
  token.stop = cursor.pos() - 1;
  return token;
}

bool is_list_value(size_t type) {
  return type == g::ZtcLexer::STRING || type == g::ZtcLexer::NUMBER ||
         type == g::ZtcLexer::IPV4_LITERAL || type == g::ZtcLexer::IPV6_LITERAL ||
         type == g::ZtcLexer::ID;
}

// Reads `(setElement (COMMA setElement)* COMMA?)? '}'` from just after a '{'.
// The cursor ends after the '}'; false when the list is not exactly that, or
// has more than `max` elements.
bool read_element_list(Cursor& cursor, std::vector<BulkElement>& out, size_t max) {
  enum { kValueOrEnd, kAfterValue, kCommentString, kAfterComment } state = kValueOrEnd;
  for (;;) {
    BulkToken token = next_list_token(cursor);
    switch (state) {
      case kValueOrEnd:
        if (token.type == g::ZtcLexer::RBRACE) return true;
        if (!is_list_value(token.type) || out.size() >= max) return false;
        out.push_back(BulkElement{token, std::nullopt});
        state = kAfterValue;
        break;
      case kAfterValue:
      case kAfterComment:
        if (token.type == g::ZtcLexer::RBRACE) return true;
        if (token.type == g::ZtcLexer::COMMA) {
          state = kValueOrEnd;
        } else if (state == kAfterValue && token.type == g::ZtcLexer::COMMENT) {
          state = kCommentString;
        } else {
          return false;
        }
        break;
      case kCommentString:
        if (token.type != g::ZtcLexer::STRING) return false;
        out.back().comment = token;
        state = kAfterComment;
        break;
    }
  }
}

}  // namespace

// A rough token walk is enough to find the lists: that each one is a set
// statement's is checked by ANTLR on the cut text (parse.cc).
BulkLists take_bulk_lists(std::string& text, size_t max_elements) {
  std::vector<std::pair<size_t, size_t>> regions;  // [after '{', at '}')
  std::vector<std::vector<BulkElement>> found;
  size_t taken = 0;  // elements in `found`
  Cursor cursor(text);
  // The last tokens seen: words, or single punctuation characters.
  std::vector<std::string_view> recent;
  auto matches_set_head = [&] {
    // set NAME : TYPE = {    or    set NAME : TYPE managed = {
    size_t n = recent.size();
    auto at = [&](size_t back) { return recent[n - 1 - back]; };
    if (n >= 6 && at(0) == "{" && at(1) == "=" && at(3) == ":" && at(5) == "set") return true;
    return n >= 7 && at(0) == "{" && at(1) == "=" && at(2) == "managed" && at(4) == ":" &&
           at(6) == "set";
  };
  while (true) {
    cursor.skip_blanks();
    if (cursor.done()) break;
    char c = cursor.peek();
    if (c == '"') {
      if (!cursor.skip_string()) break;  // ANTLR reports it; nothing to gain here
      recent.push_back("\"");
    } else if (is_name_start(c) || is_digit(c)) {
      size_t begin = cursor.pos();
      while (!cursor.done() && (is_name_start(cursor.peek()) || is_digit(cursor.peek()))) {
        cursor.advance();
      }
      recent.push_back(std::string_view(text).substr(begin, cursor.pos() - begin));
    } else {
      recent.push_back(std::string_view(text).substr(cursor.pos(), 1));
      cursor.advance();
    }
    if (recent.size() > 16) recent.erase(recent.begin(), recent.end() - 8);
    if (c != '{' || !matches_set_head()) continue;
    Cursor list = cursor;
    std::vector<BulkElement> elements;
    if (!read_element_list(list, elements, max_elements - taken) ||
        elements.size() < kBulkMinElements) {
      continue;
    }
    taken += elements.size();
    regions.emplace_back(cursor.pos(), list.pos() - 1);
    found.push_back(std::move(elements));
    cursor = list;
    recent.clear();
  }

  // Each list becomes its newlines, then as many spaces as the list had bytes
  // after its last newline: the `}` and everything after it keep their line
  // and column; only offsets move (BulkLists::file_offset maps them back).
  BulkLists out;
  if (regions.empty()) return out;
  std::string cut;
  cut.reserve(text.size());
  size_t copied = 0;
  for (size_t i = 0; i < regions.size(); ++i) {
    auto [begin, end] = regions[i];
    cut.append(text, copied, begin - copied);
    out.lists.emplace(cut.size() - 1, std::move(found[i]));  // the '{'
    size_t last_newline = text.rfind('\n', end);
    if (last_newline == std::string::npos || last_newline < begin) {
      cut.append(end - begin, ' ');  // one line: nothing to gain, keep it blank
    } else {
      for (size_t j = begin; j <= last_newline; ++j) {
        if (text[j] == '\n') cut += '\n';
      }
      cut.append(end - last_newline - 1, ' ');
    }
    copied = end;
    out.cuts.emplace_back(cut.size(), copied - cut.size());
  }
  cut.append(text, copied, std::string::npos);
  text = std::move(cut);
  return out;
}

}  // namespace ztc
