#include "compiler/parse.h"

#include <algorithm>
#include <string>

#include "ZtcLexer.h"
#include "ZtcParser.h"
#include "antlr4-runtime.h"
#include "compiler/bulk_lists.h"
#include "compiler/transformer.h"

namespace ztc {
namespace {

namespace g = ztc::grammar;

// The lexer works on a copy where every byte outside printable ASCII (other
// than whitespace) is masked: ANTLR would otherwise decode UTF-8 and its
// columns would stop being byte columns, and invalid UTF-8 would throw.
// The language is ASCII; strings and comments take their bytes from the
// original text (Transformer::string_literal).
constexpr char kMaskedByte = '\x01';

std::string lexer_input(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x7f || (byte < 0x20 && c != '\t' && c != '\n' && c != '\r')) c = kMaskedByte;
  }
  return out;
}

// lexer_input() is ASCII, so ANTLR can read its bytes as they are.
// ANTLRInputStream would decode them into a UTF-32 copy, growing it as it
// goes: ~20 bytes of memory per byte of input (1.3 GB for a file at
// kMaxPolicyBytes), where this stream takes none.
class AsciiStream : public antlr4::CharStream {
 public:
  explicit AsciiStream(const std::string& text) : text_(text) {}

  void consume() override {
    if (position_ >= text_.size()) throw antlr4::IllegalStateException("cannot consume EOF");
    ++position_;
  }
  size_t LA(ssize_t i) override {
    if (i == 0) return 0;  // undefined
    ssize_t at = static_cast<ssize_t>(position_) + (i < 0 ? i : i - 1);
    if (at < 0 || at >= static_cast<ssize_t>(text_.size())) return antlr4::IntStream::EOF;
    return static_cast<unsigned char>(text_[static_cast<size_t>(at)]);
  }
  ssize_t mark() override { return -1; }
  void release(ssize_t) override {}
  size_t index() override { return position_; }
  void seek(size_t index) override { position_ = std::min(index, text_.size()); }
  size_t size() override { return text_.size(); }
  std::string getSourceName() const override { return antlr4::IntStream::UNKNOWN_SOURCE_NAME; }
  std::string getText(const antlr4::misc::Interval& interval) override {
    if (interval.a < 0 || interval.b < interval.a) return "";
    size_t start = static_cast<size_t>(interval.a);
    if (start >= text_.size()) return "";
    size_t stop = std::min(static_cast<size_t>(interval.b), text_.size() - 1);
    return text_.substr(start, stop - start + 1);
  }
  std::string toString() const override { return text_; }

 private:
  const std::string& text_;
  size_t position_ = 0;
};

std::string describe_token(antlr4::Token* token, const SourceFile& file) {
  if (token->getType() == antlr4::Token::EOF) return "end of file";
  if (token->getType() == g::ZtcLexer::UNKNOWN) {
    auto index = token->getStartIndex();
    auto byte = static_cast<unsigned char>(file.text().at(index));
    if (byte < 0x20 || byte >= 0x7f) {
      char buf[8];
      snprintf(buf, sizeof buf, "0x%02x", byte);
      return std::string("byte ") + buf;
    }
    if (byte == '"') return "unterminated string";
    return "'" + std::string(1, static_cast<char>(byte)) + "'";
  }
  std::string text = token->getText();
  if (text.size() > 40) text = text.substr(0, 40) + "...";
  return "'" + text + "'";
}

// Turns ANTLR's messages into "unexpected X, expected one of A, B" at the
// offending token, using the parser's own expected-token set.
class SyntaxErrorListener : public antlr4::BaseErrorListener {
 public:
  SyntaxErrorListener(SourceFilePtr file, Diagnostics& diagnostics)
      : file_(std::move(file)), diagnostics_(diagnostics) {}

  void syntaxError(antlr4::Recognizer* recognizer, antlr4::Token* offending, size_t line,
                   size_t column, const std::string& message, std::exception_ptr) override {
    ++count_;
    Location where{file_, static_cast<int>(line), static_cast<int>(column) + 1};
    auto* parser = dynamic_cast<antlr4::Parser*>(recognizer);
    if (parser == nullptr || offending == nullptr) {
      diagnostics_.error(where, "syntax error: " + message);
      return;
    }
    std::string text = "syntax error: unexpected " + describe_token(offending, *file_);
    std::string expected = expected_tokens(parser);
    if (!expected.empty()) text += ", expected " + expected;
    diagnostics_.error(where, text);
  }

  int count() const { return count_; }

 private:
  static std::string expected_tokens(antlr4::Parser* parser) {
    antlr4::misc::IntervalSet expected;
    try {
      expected = parser->getExpectedTokens();
    } catch (...) {
      return "";
    }
    const antlr4::dfa::Vocabulary& vocabulary = parser->getVocabulary();
    std::vector<std::string> names;
    for (ssize_t type : expected.toList()) {
      if (type == static_cast<ssize_t>(antlr4::Token::EOF)) {  // EOF is size_t(-1)
        names.push_back("end of file");
        continue;
      }
      std::string literal = vocabulary.getLiteralName(type);
      if (!literal.empty()) {
        names.push_back(literal);
        continue;
      }
      std::string symbolic = vocabulary.getSymbolicName(type);
      if (symbolic == "ID") {
        names.push_back("a name");
      } else if (symbolic == "NUMBER") {
        names.push_back("a number");
      } else if (symbolic == "STRING") {
        names.push_back("a string");
      } else if (symbolic == "IPV4_LITERAL") {
        names.push_back("an IPv4 address");
      } else if (symbolic == "IPV6_LITERAL") {
        names.push_back("an IPv6 address");
      }
    }
    if (names.empty()) return "";
    // Between statements every statement keyword is possible: say so briefly.
    if (std::find(names.begin(), names.end(), "'capture'") != names.end() &&
        std::find(names.begin(), names.end(), "'table'") != names.end()) {
      return "the start of a statement (table, param, mark, iface, set, capture, rule, route, ...)";
    }
    if (names.size() == 1) return names[0];
    constexpr size_t kMaxListed = 12;
    std::string out = "one of ";
    for (size_t i = 0; i < names.size() && i < kMaxListed; ++i) {
      if (i > 0) out += ", ";
      out += names[i];
    }
    if (names.size() > kMaxListed) out += ", ...";
    return out;
  }

  SourceFilePtr file_;
  Diagnostics& diagnostics_;
  int count_ = 0;
};

// Every recorded list is the element list of a set statement in `tree`.
bool claimed_by_set_statements(g::ZtcParser::PolicyContext* tree, const BulkLists& bulk) {
  size_t claimed = 0;
  for (auto* statement : tree->statement()) {
    auto* set = statement->setStmt();
    if (set == nullptr || set->LBRACE() == nullptr) continue;
    claimed += bulk.lists.count(set->LBRACE()->getSymbol()->getStartIndex());
  }
  return claimed == bulk.lists.size();
}

// Ends the input (the parser sees end of file) at the token past `max_tokens`
// or at one longer than kMaxTokenBytes (parse.h), and says why and where.
class BoundedLexer : public g::ZtcLexer {
 public:
  BoundedLexer(antlr4::CharStream* input, size_t max_tokens)
      : g::ZtcLexer(input), max_tokens_(max_tokens) {}

  std::unique_ptr<antlr4::Token> nextToken() override {
    if (refusal_.empty()) {
      std::unique_ptr<antlr4::Token> next = g::ZtcLexer::nextToken();
      if (next->getType() == antlr4::Token::EOF) return next;
      size_t bytes = next->getStopIndex() + 1 - next->getStartIndex();
      if (bytes > kMaxTokenBytes) {
        refuse(*next, "a token of " + std::to_string(bytes) + " bytes (the limit is " +
                          std::to_string(kMaxTokenBytes) + ")");
      } else if (++count_ > max_tokens_) {
        refuse(*next, "policy too large: more than " + std::to_string(kMaxPolicyTokens) +
                          " tokens (with its includes)");
      } else {
        return next;
      }
    }
    emitEOF();  // the parser sees the end of the file here
    return std::move(token);
  }

  size_t count() const { return count_; }
  // Empty unless the input was cut short; then why, and where.
  const std::string& refusal() const { return refusal_; }
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  void refuse(const antlr4::Token& at, std::string why) {
    refusal_ = std::move(why);
    line_ = static_cast<int>(at.getLine());
    column_ = static_cast<int>(at.getCharPositionInLine()) + 1;
  }

  size_t max_tokens_;
  size_t count_ = 0;
  std::string refusal_;
  int line_ = 0, column_ = 0;
};

// The lexer, token stream and parser of one attempt (the tree lives in the parser).
struct ParseRun {
  ParseRun(const std::string& text, size_t max_tokens)
      : input(text), lexer(&input, max_tokens), tokens(&lexer), parser(&tokens) {
    lexer.removeErrorListeners();  // UNKNOWN catches every byte: the lexer never fails
    parser.removeErrorListeners();
  }

  // SLL prediction, giving up at the first error: nullptr then.
  g::ZtcParser::PolicyContext* fast() {
    parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(
        antlr4::atn::PredictionMode::SLL);
    parser.setErrorHandler(std::make_shared<antlr4::BailErrorStrategy>());
    try {
      return parser.policy();
    } catch (const antlr4::ParseCancellationException&) {
      return nullptr;
    }
  }

  // True (with the error reported) when the lexer refused the input.
  bool refused(const SourceFilePtr& file, Diagnostics& diagnostics) const {
    if (lexer.refusal().empty()) return false;
    diagnostics.error(Location{file, lexer.line(), lexer.column()}, lexer.refusal());
    return true;
  }

  AsciiStream input;  // reads the caller's text, which outlives the run
  BoundedLexer lexer;
  antlr4::CommonTokenStream tokens;
  g::ZtcParser parser;
};

ast::Policy parse(const SourceFilePtr& file, Diagnostics& diagnostics, bool bulk_lists,
                  size_t* tokens_left) {
  const size_t budget = tokens_left ? *tokens_left : kMaxPolicyTokens;
  std::string input = lexer_input(file->text());
  BulkLists bulk;
  if (bulk_lists) bulk = take_bulk_lists(input, budget);
  if (!bulk.lists.empty()) {
    size_t elements = 0;
    for (const auto& [at, list] : bulk.lists) elements += list.size();
    ParseRun run(input, budget - elements);
    g::ZtcParser::PolicyContext* tree = run.fast();
    if (tree != nullptr && run.lexer.refusal().empty() && claimed_by_set_statements(tree, bulk)) {
      if (tokens_left) *tokens_left = budget - elements - run.lexer.count();
      Transformer transformer(file, diagnostics, &bulk);
      return transformer.policy(tree);
    }
    input = lexer_input(file->text());  // ANTLR reads everything, as without lists
  }

  // Fast path: SLL prediction, giving up at the first error; a policy that
  // fails it is parsed again with full LL and recovery, to report every error.
  ParseRun run(input, budget);
  g::ZtcParser::PolicyContext* tree = run.fast();
  if (tokens_left) *tokens_left = budget - std::min(budget, run.lexer.count());
  if (run.refused(file, diagnostics)) return {};
  if (tree == nullptr) {
    antlr4::CommonTokenStream& tokens = run.tokens;
    g::ZtcParser& parser = run.parser;
    tokens.seek(0);
    parser.reset();
    parser.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(
        antlr4::atn::PredictionMode::LL);
    parser.setErrorHandler(std::make_shared<antlr4::DefaultErrorStrategy>());
    SyntaxErrorListener listener(file, diagnostics);
    parser.addErrorListener(&listener);
    tree = parser.policy();
    parser.removeErrorListeners();
    if (tokens_left) *tokens_left = budget - std::min(budget, run.lexer.count());
    if (run.refused(file, diagnostics)) return {};
    // A tree repaired by error recovery can miss any child: do not build an
    // AST from it. The syntax errors are what the user needs first.
    if (listener.count() > 0) return {};
  }
  Transformer transformer(file, diagnostics);
  return transformer.policy(tree);
}

}  // namespace

ast::Policy parse_source(const SourceFilePtr& file, Diagnostics& diagnostics, size_t* tokens_left) {
  ast::Policy policy = parse(file, diagnostics, /*bulk_lists=*/true, tokens_left);
  policy.file = file;
  return policy;
}

ast::Policy parse_source_antlr_only(const SourceFilePtr& file, Diagnostics& diagnostics) {
  return parse(file, diagnostics, /*bulk_lists=*/false, nullptr);
}

}  // namespace ztc
