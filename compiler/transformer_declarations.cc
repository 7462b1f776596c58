// Declarations: include, param, table, mark, iface, group, addr, set, bypass,
// sysctl; and the dispatch of every statement.
#include "compiler/transformer.h"

namespace ztc {

void Transformer::statement(g::ZtcParser::StatementContext* ctx, ast::Policy& out) {
  auto& statements = out.statements;
  if (auto* c = ctx->includeStmt()) {
    statements.push_back(ast::Include{string_literal(c->STRING()).text, at(c)});
  } else if (auto* c = ctx->paramStmt()) {
    statements.push_back(param(c));
  } else if (auto* c = ctx->tableStmt()) {
    statements.push_back(table(c));
  } else if (auto* c = ctx->markStmt()) {
    statements.push_back(mark(c));
  } else if (auto* c = ctx->ifaceStmt()) {
    statements.push_back(ast::IfaceDecl{name(c->ID()), iface(c->iface()), at(c)});
  } else if (auto* c = ctx->groupStmt()) {
    statements.push_back(group(c));
  } else if (auto* c = ctx->addrStmt()) {
    statements.push_back(ast::AddrDecl{name(c->ID()), value(c->value()), at(c)});
  } else if (auto* c = ctx->setStmt()) {
    statements.push_back(set(c));
  } else if (auto* c = ctx->bypassStmt()) {
    statements.push_back(bypass(c));
  } else if (auto* c = ctx->captureStmt()) {
    statements.push_back(capture(c));
  } else if (auto* c = ctx->ruleStmt()) {
    statements.push_back(rule(c));
  } else if (auto* c = ctx->routeStmt()) {
    statements.push_back(route(c));
  } else if (auto* c = ctx->sysctlStmt()) {
    statements.push_back(sysctl(c));
  }
  // A lone `;` is an empty statement.
}

ast::Param Transformer::param(g::ZtcParser::ParamStmtContext* ctx) {
  ast::Param out;
  out.name = name(ctx->ID());
  out.type = ast::Name{ctx->typeName()->getText(), at(ctx->typeName())};
  if (ctx->value()) out.default_value = value(ctx->value());
  out.location = at(ctx);
  return out;
}

ast::TableDecl Transformer::table(g::ZtcParser::TableStmtContext* ctx) {
  return ast::TableDecl{ctx->family->getText(), name(ctx->ID()), at(ctx)};
}

ast::MarkDecl Transformer::mark(g::ZtcParser::MarkStmtContext* ctx) {
  ast::MarkDecl out;
  out.name = name(ctx->ID());
  auto exprs = ctx->markExpr();
  out.value = mark_expr(exprs.at(0));
  if (exprs.size() > 1) out.mask = mark_expr(exprs[1]);
  out.location = at(ctx);
  return out;
}

ast::GroupDecl Transformer::group(g::ZtcParser::GroupStmtContext* ctx) {
  ast::GroupDecl out;
  out.name = name(ctx->ID());
  for (auto* member : ctx->iface()) out.members.push_back(iface(member));
  out.location = at(ctx);
  return out;
}

ast::SetDecl Transformer::set(g::ZtcParser::SetStmtContext* ctx) {
  ast::SetDecl out;
  out.name = name(ctx->ID());
  out.type = ast::Name{ctx->typeName()->getText(), at(ctx->typeName())};
  out.managed = ctx->MANAGED() != nullptr;
  out.any_address = ctx->ANY_ADDRESS() != nullptr;
  auto elements = ctx->setElement();
  out.elements.reserve(elements.size());
  for (auto* element : elements) {
    ast::SetElement e{token_value(element->member), std::nullopt};
    if (element->comment) e.comment = string_literal(element->comment).text;
    out.elements.push_back(std::move(e));
  }
  if (bulk_ != nullptr && ctx->LBRACE() != nullptr) {
    auto found = bulk_->lists.find(ctx->LBRACE()->getSymbol()->getStartIndex());
    if (found != bulk_->lists.end()) {
      out.elements.reserve(out.elements.size() + found->second.size());
      for (const BulkElement& element : found->second) {
        ast::SetElement e{token_value(element.member), std::nullopt};
        if (element.comment) e.comment = token_value(*element.comment).text;
        out.elements.push_back(std::move(e));
      }
    }
  }
  out.location = at(ctx);
  return out;
}

ast::BypassDecl Transformer::bypass(g::ZtcParser::BypassStmtContext* ctx) {
  return ast::BypassDecl{ctx->protocol()->getText(), port_list(ctx->portList()), at(ctx)};
}

ast::SysctlBlock Transformer::sysctl(g::ZtcParser::SysctlStmtContext* ctx) {
  ast::SysctlBlock out;
  for (auto* target : ctx->sysctlTarget()) {
    if (target->iface()) {
      out.targets.push_back(iface(target->iface()));
    } else {
      // `all` and `default` are the kernel's own conf entries, not interfaces.
      out.targets.push_back(
          ast::Value{ast::Value::Kind::string, target->getText(), 0, false, at(target)});
    }
  }
  for (auto* setting : ctx->sysctlSetting()) {
    out.settings.push_back(ast::SysctlSetting{name(setting->ID()), number(setting->NUMBER())});
  }
  out.location = at(ctx);
  return out;
}

}  // namespace ztc
