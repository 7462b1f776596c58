// Routing: `rule` statements and `route` tables.
#include "compiler/transformer.h"

namespace ztc {

ast::Value Transformer::table_ref(g::ZtcParser::TableRefContext* ctx) {
  if (ctx->NUMBER()) return number(ctx->NUMBER());
  return ast::Value{ast::Value::Kind::name, ctx->getText(), 0, false, at(ctx)};
}

ast::RuleDecl Transformer::rule(g::ZtcParser::RuleStmtContext* ctx) {
  using P = g::ZtcParser;
  ast::RuleDecl out;
  if (ctx->ipFamily()) out.family = ctx->ipFamily()->getText();
  out.priority = number(ctx->NUMBER());
  for (auto* selector : ctx->ruleSelector()) {
    if (auto* c = dynamic_cast<P::RuleFromContext*>(selector)) {
      out.from = address(c->address());
    } else if (auto* c = dynamic_cast<P::RuleIifContext*>(selector)) {
      out.iif = iface(c->iface());
    } else if (auto* c = dynamic_cast<P::RuleFwmarkContext*>(selector)) {
      auto exprs = c->markExpr();
      out.fwmark = mark_expr(exprs.at(0));
      if (exprs.size() > 1) out.fwmask = mark_expr(exprs[1]);
    }
  }
  auto* action = ctx->ruleAction();
  out.is_goto = action->GOTO() != nullptr;
  if (action->tableRef()) {
    out.target = table_ref(action->tableRef());
  } else if (action->NUMBER()) {
    out.target = number(action->NUMBER());
  } else {
    out.target = ast::Value{ast::Value::Kind::name, action->ID()->getText(), 0, false,
                            at(action->ID())};
  }
  out.location = at(ctx);
  return out;
}

ast::RouteBlock Transformer::route(g::ZtcParser::RouteStmtContext* ctx) {
  ast::RouteBlock out;
  if (ctx->ipFamily()) out.family = ctx->ipFamily()->getText();
  out.table = table_ref(ctx->tableRef());
  if (ctx->FOR()) out.for_set = name(ctx->ID());
  for (auto* entry : ctx->routeEntry()) out.entries.push_back(route_entry(entry));
  out.location = at(ctx);
  return out;
}

ast::RouteEntry Transformer::route_entry(g::ZtcParser::RouteEntryContext* ctx) {
  using P = g::ZtcParser;
  ast::RouteEntry out;
  auto* dest = ctx->routeDest();
  if (dest->DEFAULT()) {
    out.destination = ast::Value{ast::Value::Kind::default_route, "default", 0, false, at(dest)};
  } else if (dest->MEMBER()) {
    out.destination = ast::Value{ast::Value::Kind::member, "member", 0, false, at(dest)};
  } else {
    out.destination = value(dest->value());
  }
  for (auto* attr : ctx->routeAttr()) {
    if (auto* c = dynamic_cast<P::RouteViaContext*>(attr)) {
      out.via = value(c->value());
    } else if (auto* c = dynamic_cast<P::RouteDevContext*>(attr)) {
      out.device = iface(c->iface());
    } else if (dynamic_cast<P::RouteOnlinkContext*>(attr)) {
      out.onlink = true;
    } else if (auto* c = dynamic_cast<P::RouteScopeContext*>(attr)) {
      out.scope = name(c->ID());
    } else if (auto* c = dynamic_cast<P::RouteSrcContext*>(attr)) {
      out.source = value(c->value());
    } else if (auto* c = dynamic_cast<P::RouteMetricContext*>(attr)) {
      out.metric = number(c->NUMBER());
    }
  }
  out.location = at(ctx);
  return out;
}

}  // namespace ztc
