// The typed transformer from ANTLR's parse tree to the AST. Only parse.cc
// and the transformer_*.cc files see generated code; one file per area of the
// language (declarations, capture rules, routing).
#pragma once

#include <string>

#include "ZtcParser.h"
#include "compiler/ast.h"
#include "compiler/bulk_lists.h"
#include "model/diagnostics.h"
#include "model/source.h"

namespace ztc {

namespace g = ztc::grammar;

class Transformer {
 public:
  Transformer(SourceFilePtr file, Diagnostics& diagnostics, const BulkLists* bulk = nullptr)
      : file_(std::move(file)), diagnostics_(diagnostics), bulk_(bulk) {}

  ast::Policy policy(g::ZtcParser::PolicyContext* ctx);

 private:
  // transformer.cc: shared pieces
  Location at(antlr4::Token* token) const;
  Location at(antlr4::ParserRuleContext* ctx) const { return at(ctx->getStart()); }
  Location at(antlr4::tree::TerminalNode* node) const { return at(node->getSymbol()); }
  ast::Name name(antlr4::tree::TerminalNode* id) const;
  ast::Value value(g::ZtcParser::ValueContext* ctx);
  ast::Value number(antlr4::tree::TerminalNode* digits);
  ast::Value string_literal(antlr4::tree::TerminalNode* quoted) const {
    return string_literal(quoted->getSymbol());
  }
  ast::Value string_literal(antlr4::Token* quoted) const;
  // The string whose quotes are at these file offsets.
  ast::Value string_literal(size_t open_quote, size_t close_quote, Location location) const;
  ast::Value number(antlr4::Token* digits);
  // A value given as one token (STRING, NUMBER, address or name).
  ast::Value token_value(antlr4::Token* token);
  ast::Value token_value(const BulkToken& token);
  ast::Value iface(g::ZtcParser::IfaceContext* ctx);
  ast::MarkExpr mark_expr(g::ZtcParser::MarkExprContext* ctx);
  ast::PortRange port_range(g::ZtcParser::PortRangeContext* ctx);
  std::vector<ast::PortRange> port_list(g::ZtcParser::PortListContext* ctx);
  ast::Value address(g::ZtcParser::AddressContext* ctx);

  // transformer_declarations.cc
  void statement(g::ZtcParser::StatementContext* ctx, ast::Policy& out);
  ast::Param param(g::ZtcParser::ParamStmtContext* ctx);
  ast::TableDecl table(g::ZtcParser::TableStmtContext* ctx);
  ast::MarkDecl mark(g::ZtcParser::MarkStmtContext* ctx);
  ast::GroupDecl group(g::ZtcParser::GroupStmtContext* ctx);
  ast::SetDecl set(g::ZtcParser::SetStmtContext* ctx);
  ast::BypassDecl bypass(g::ZtcParser::BypassStmtContext* ctx);
  ast::SysctlBlock sysctl(g::ZtcParser::SysctlStmtContext* ctx);

  // transformer_capture.cc
  ast::CaptureBlock capture(g::ZtcParser::CaptureStmtContext* ctx);
  ast::CaptureRule capture_rule(g::ZtcParser::CaptureRuleContext* ctx);
  ast::Match match(g::ZtcParser::CaptureMatchContext* ctx);
  ast::Action action(g::ZtcParser::CaptureActionContext* ctx);

  // transformer_routing.cc
  ast::RuleDecl rule(g::ZtcParser::RuleStmtContext* ctx);
  ast::RouteBlock route(g::ZtcParser::RouteStmtContext* ctx);
  ast::RouteEntry route_entry(g::ZtcParser::RouteEntryContext* ctx);
  ast::Value table_ref(g::ZtcParser::TableRefContext* ctx);

  SourceFilePtr file_;
  Diagnostics& diagnostics_;
  const BulkLists* bulk_;
};

}  // namespace ztc
