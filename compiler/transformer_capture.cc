// Capture and nat blocks: ordered rules of matches and actions.
#include "compiler/transformer.h"

namespace ztc {

ast::CaptureBlock Transformer::capture(g::ZtcParser::CaptureStmtContext* ctx) {
  ast::CaptureBlock out;
  out.nat = ctx->NAT() != nullptr;
  for (auto* hook : ctx->ID()) out.hooks.push_back(name(hook));
  for (auto* rule_ctx : ctx->captureRule()) out.rules.push_back(capture_rule(rule_ctx));
  out.location = at(ctx);
  return out;
}

ast::CaptureRule Transformer::capture_rule(g::ZtcParser::CaptureRuleContext* ctx) {
  ast::CaptureRule out;
  for (auto* m : ctx->captureMatch()) out.matches.push_back(match(m));
  for (auto* a : ctx->captureAction()) out.actions.push_back(action(a));
  out.location = at(ctx);
  return out;
}

ast::Match Transformer::match(g::ZtcParser::CaptureMatchContext* ctx) {
  using P = g::ZtcParser;
  if (auto* c = dynamic_cast<P::InterfaceInMatchContext*>(ctx)) {
    ast::InterfaceMatch out{false, c->NE() != nullptr, {}, at(c)};
    for (auto* i : c->iface()) out.interfaces.push_back(iface(i));
    return out;
  }
  if (auto* c = dynamic_cast<P::InterfaceOutMatchContext*>(ctx)) {
    ast::InterfaceMatch out{true, c->NE() != nullptr, {}, at(c)};
    for (auto* i : c->iface()) out.interfaces.push_back(iface(i));
    return out;
  }
  if (auto* c = dynamic_cast<P::SourceMatchContext*>(ctx)) {
    ast::AddressMatch out{false, c->NE() != nullptr, {}, at(c)};
    for (auto* a : c->address()) out.addresses.push_back(address(a));
    return out;
  }
  if (auto* c = dynamic_cast<P::DestinationMatchContext*>(ctx)) {
    ast::AddressMatch out{true, c->NE() != nullptr, {}, at(c)};
    for (auto* a : c->address()) out.addresses.push_back(address(a));
    return out;
  }
  if (auto* c = dynamic_cast<P::ProtocolMatchContext*>(ctx)) {
    ast::ProtocolMatch out;
    out.protocol = c->protocol()->getText();
    out.location = at(c);
    if (c->portList()) {
      out.has_ports = true;
      out.destination_port = c->DPORT() != nullptr;
      out.negated = c->NE() != nullptr;
      out.ports = port_list(c->portList());
    }
    return out;
  }
  if (auto* c = dynamic_cast<P::MarkMatchContext*>(ctx)) {
    ast::MarkMatch out;
    out.conntrack = c->CT() != nullptr;
    if (c->HAS()) {
      out.op = ast::MarkOp::has;
    } else if (c->LACKS()) {
      out.op = ast::MarkOp::lacks;
    } else if (c->EQEQ()) {
      out.op = ast::MarkOp::equal;
    } else {
      out.op = ast::MarkOp::not_equal;
    }
    out.value = mark_expr(c->markExpr());
    out.location = at(c);
    return out;
  }
  return ast::BypassMatch{at(ctx)};
}

ast::Action Transformer::action(g::ZtcParser::CaptureActionContext* ctx) {
  using P = g::ZtcParser;
  if (auto* c = dynamic_cast<P::MarkAssignActionContext*>(ctx)) {
    ast::MarkAction out;
    out.conntrack = c->CT() != nullptr;
    out.op = c->OR_ASSIGN() ? ast::MarkAssign::or_bits : ast::MarkAssign::set_whole;
    out.value = mark_expr(c->markExpr());
    out.location = at(c);
    return out;
  }
  if (auto* c = dynamic_cast<P::MarkClearActionContext*>(ctx)) {
    ast::MarkAction out;
    out.conntrack = c->CT() != nullptr;
    out.op = ast::MarkAssign::clear_bits;
    out.value = mark_expr(c->markExpr());
    out.location = at(c);
    return out;
  }
  if (auto* c = dynamic_cast<P::CtCopyActionContext*>(ctx)) {
    return ast::CtCopyAction{c->SAVE() != nullptr, mark_expr(c->markExpr()), at(c)};
  }
  if (auto* c = dynamic_cast<P::VerdictActionContext*>(ctx)) {
    ast::Verdict verdict = c->RETURN()   ? ast::Verdict::return_
                           : c->ACCEPT() ? ast::Verdict::accept
                                         : ast::Verdict::drop;
    return ast::VerdictAction{verdict, at(c)};
  }
  if (auto* c = dynamic_cast<P::NoNatActionContext*>(ctx)) return ast::NoNatAction{at(c)};
  if (auto* c = dynamic_cast<P::DnatActionContext*>(ctx)) {
    auto* target = c->dnatTarget();
    ast::DnatAction out;
    out.address = value(target->value());
    if (auto* port = target->portValue()) {
      out.port = port->NUMBER()
                     ? number(port->NUMBER())
                     : ast::Value{ast::Value::Kind::name, port->getText(), 0, false, at(port)};
    }
    out.location = at(c);
    return out;
  }
  return ast::CounterAction{at(ctx)};
}

}  // namespace ztc
