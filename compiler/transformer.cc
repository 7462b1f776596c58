#include "compiler/transformer.h"

#include <limits>

#include "ZtcLexer.h"

namespace ztc {

Location Transformer::at(antlr4::Token* token) const {
  if (token == nullptr) return Location{file_, 0, 0};
  return Location{file_, static_cast<int>(token->getLine()),
                  static_cast<int>(token->getCharPositionInLine()) + 1};
}

ast::Policy Transformer::policy(g::ZtcParser::PolicyContext* ctx) {
  ast::Policy out;
  for (auto* statement_ctx : ctx->statement()) statement(statement_ctx, out);
  return out;
}

ast::Name Transformer::name(antlr4::tree::TerminalNode* id) const {
  return ast::Name{id->getText(), at(id)};
}

ast::Value Transformer::number(antlr4::tree::TerminalNode* digits) {
  return number(digits->getSymbol());
}

ast::Value Transformer::number(antlr4::Token* digits) {
  ast::Value out;
  out.kind = ast::Value::Kind::number;
  out.text = digits->getText();
  out.location = at(digits);
  const std::string& text = out.text;
  bool hex = text.size() > 2 && (text[1] == 'x' || text[1] == 'X');
  uint64_t base = hex ? 16 : 10;
  constexpr uint64_t kMax = std::numeric_limits<uint32_t>::max();
  for (size_t i = hex ? 2 : 0; i < text.size(); ++i) {
    char c = text[i];
    uint64_t digit = (c >= '0' && c <= '9') ? c - '0' : (c | 0x20) - 'a' + 10;
    out.number = out.number * base + digit;
    // Everything ztc handles fits in 32 bits; stop before uint64 wraps.
    if (out.number > kMax) {
      out.overflow = true;
      break;
    }
  }
  return out;
}

ast::Value Transformer::string_literal(antlr4::Token* token) const {
  size_t begin = token->getStartIndex();
  size_t end = token->getStopIndex();
  if (bulk_ != nullptr) {
    begin = bulk_->file_offset(begin);
    end = bulk_->file_offset(end);
  }
  return string_literal(begin, end, at(token));
}

ast::Value Transformer::string_literal(size_t open_quote, size_t close_quote,
                                       Location location) const {
  ast::Value out;
  out.kind = ast::Value::Kind::string;
  out.location = std::move(location);
  // Take the bytes from the original source: the lexer saw a copy with
  // non-ASCII bytes masked (see parse.cc).
  const std::string& text = file_->text();
  for (size_t i = open_quote + 1; i < close_quote && i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < close_quote) ++i;
    out.text += text[i];
  }
  return out;
}

ast::Value Transformer::token_value(antlr4::Token* token) {
  switch (token->getType()) {
    case g::ZtcLexer::STRING: return string_literal(token);
    case g::ZtcLexer::NUMBER: return number(token);
    default: break;
  }
  ast::Value out;
  out.location = at(token);
  out.text = token->getText();
  out.kind = token->getType() == g::ZtcLexer::IPV4_LITERAL   ? ast::Value::Kind::ipv4
             : token->getType() == g::ZtcLexer::IPV6_LITERAL ? ast::Value::Kind::ipv6
                                                              : ast::Value::Kind::name;
  return out;
}

ast::Value Transformer::token_value(const BulkToken& bulk) {
  Location location{file_, bulk.line, bulk.column + 1};
  if (bulk.type == g::ZtcLexer::STRING) return string_literal(bulk.start, bulk.stop, location);
  // The other kinds only need the token's text and position.
  antlr4::CommonToken token(bulk.type, file_->text().substr(bulk.start, bulk.stop - bulk.start + 1));
  token.setLine(bulk.line);
  token.setCharPositionInLine(bulk.column);
  return token_value(&token);
}

ast::Value Transformer::value(g::ZtcParser::ValueContext* ctx) {
  if (ctx->STRING()) return string_literal(ctx->STRING());
  if (ctx->NUMBER()) return number(ctx->NUMBER());
  ast::Value out;
  out.location = at(ctx);
  out.text = ctx->getText();
  if (ctx->IPV4_LITERAL()) {
    out.kind = ast::Value::Kind::ipv4;
  } else if (ctx->IPV6_LITERAL()) {
    out.kind = ast::Value::Kind::ipv6;
  } else {
    out.kind = ast::Value::Kind::name;
  }
  return out;
}

ast::Value Transformer::iface(g::ZtcParser::IfaceContext* ctx) {
  if (ctx->STRING()) return string_literal(ctx->STRING());
  return ast::Value{ast::Value::Kind::name, ctx->getText(), 0, false, at(ctx)};
}

ast::MarkExpr Transformer::mark_expr(g::ZtcParser::MarkExprContext* ctx) {
  ast::MarkExpr out;
  out.location = at(ctx);
  for (auto* term : ctx->markTerm()) {
    if (term->NUMBER()) {
      out.terms.push_back(number(term->NUMBER()));
    } else {
      out.terms.push_back(ast::Value{ast::Value::Kind::name, term->getText(), 0, false, at(term)});
    }
  }
  return out;
}

ast::PortRange Transformer::port_range(g::ZtcParser::PortRangeContext* ctx) {
  auto port_value = [this](g::ZtcParser::PortValueContext* v) {
    if (v->NUMBER()) return number(v->NUMBER());
    return ast::Value{ast::Value::Kind::name, v->getText(), 0, false, at(v)};
  };
  ast::PortRange out;
  auto values = ctx->portValue();
  out.first = port_value(values.at(0));
  if (values.size() > 1) out.last = port_value(values[1]);
  return out;
}

std::vector<ast::PortRange> Transformer::port_list(g::ZtcParser::PortListContext* ctx) {
  std::vector<ast::PortRange> out;
  for (auto* range : ctx->portRange()) out.push_back(port_range(range));
  return out;
}

ast::Value Transformer::address(g::ZtcParser::AddressContext* ctx) {
  if (ctx->AT()) {
    return ast::Value{ast::Value::Kind::set_ref, ctx->ID()->getText(), 0, false, at(ctx)};
  }
  return value(ctx->value());
}

}  // namespace ztc
