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
      if (type == antlr4::Token::EOF) {
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

// The lexer, token stream and parser of one attempt (the tree lives in the parser).
struct ParseRun {
  explicit ParseRun(const std::string& text)
      : input(text), lexer(&input), tokens(&lexer), parser(&tokens) {
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

  antlr4::ANTLRInputStream input;
  g::ZtcLexer lexer;
  antlr4::CommonTokenStream tokens;
  g::ZtcParser parser;
};

ast::Policy parse(const SourceFilePtr& file, Diagnostics& diagnostics, bool bulk_lists) {
  std::string input = lexer_input(file->text());
  BulkLists bulk;
  if (bulk_lists) bulk = take_bulk_lists(input);
  if (!bulk.lists.empty()) {
    ParseRun run(input);
    g::ZtcParser::PolicyContext* tree = run.fast();
    if (tree != nullptr && claimed_by_set_statements(tree, bulk)) {
      Transformer transformer(file, diagnostics, &bulk);
      return transformer.policy(tree);
    }
    input = lexer_input(file->text());  // ANTLR reads everything, as without lists
  }

  // Fast path: SLL prediction, giving up at the first error; a policy that
  // fails it is parsed again with full LL and recovery, to report every error.
  ParseRun run(input);
  g::ZtcParser::PolicyContext* tree = run.fast();
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
    // A tree repaired by error recovery can miss any child: do not build an
    // AST from it. The syntax errors are what the user needs first.
    if (listener.count() > 0) return {};
  }
  Transformer transformer(file, diagnostics);
  return transformer.policy(tree);
}

}  // namespace

ast::Policy parse_source(const SourceFilePtr& file, Diagnostics& diagnostics) {
  return parse(file, diagnostics, /*bulk_lists=*/true);
}

ast::Policy parse_source_antlr_only(const SourceFilePtr& file, Diagnostics& diagnostics) {
  return parse(file, diagnostics, /*bulk_lists=*/false);
}

}  // namespace ztc
