#include "compiler/dump.h"

#include <sstream>

#include "compiler/overloaded.h"
#include "model/values.h"

namespace ztc {
namespace {

std::string pos(const Location& location) {
  return std::to_string(location.line) + ":" + std::to_string(location.column);
}

std::string value(const ast::Value& v) {
  switch (v.kind) {
    case ast::Value::Kind::string: return "\"" + v.text + "\"";
    case ast::Value::Kind::set_ref: return "@" + v.text;
    default: return v.text;
  }
}

template <class T, class F>
std::string join(const std::vector<T>& items, F&& show, const char* separator = ", ") {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += show(items[i]);
  }
  return out;
}

std::string mark_expr(const ast::MarkExpr& expr) { return join(expr.terms, value, " | "); }

std::string ports(const std::vector<ast::PortRange>& ranges) {
  return join(ranges, [](const ast::PortRange& r) {
    return value(r.first) + (r.last ? "-" + value(*r.last) : "");
  });
}

const char* mark_op(ast::MarkOp op) {
  switch (op) {
    case ast::MarkOp::has: return "has";
    case ast::MarkOp::lacks: return "lacks";
    case ast::MarkOp::equal: return "==";
    case ast::MarkOp::not_equal: return "!=";
  }
  return "?";
}

const char* mark_assign(ast::MarkAssign op) {
  switch (op) {
    case ast::MarkAssign::or_bits: return "|=";
    case ast::MarkAssign::set_whole: return "=";
    case ast::MarkAssign::clear_bits: return "&= ~";
  }
  return "?";
}

const char* verdict(ast::Verdict v) {
  switch (v) {
    case ast::Verdict::return_: return "return";
    case ast::Verdict::accept: return "accept";
    case ast::Verdict::drop: return "drop";
  }
  return "?";
}

std::string ast_match(const ast::Match& match) {
  return std::visit(Overloaded{
                        [](const ast::InterfaceMatch& m) {
                          return std::string(m.output ? "oif" : "iif") +
                                 (m.negated ? " != " : " ") + join(m.interfaces, value);
                        },
                        [](const ast::AddressMatch& m) {
                          return std::string(m.destination ? "daddr" : "saddr") +
                                 (m.negated ? " != " : " ") + join(m.addresses, value);
                        },
                        [](const ast::ProtocolMatch& m) {
                          std::string out = m.protocol;
                          if (m.has_ports) {
                            out += m.destination_port ? " dport" : " sport";
                            out += (m.negated ? " != " : " ") + ports(m.ports);
                          }
                          return out;
                        },
                        [](const ast::BypassMatch&) { return std::string("bypass"); },
                        [](const ast::MarkMatch& m) {
                          return std::string(m.conntrack ? "ct mark " : "mark ") + mark_op(m.op) +
                                 " " + mark_expr(m.value);
                        },
                    },
                    match);
}

std::string ast_action(const ast::Action& action) {
  return std::visit(
      Overloaded{
          [](const ast::MarkAction& a) {
            return std::string(a.conntrack ? "ct mark " : "mark ") + mark_assign(a.op) +
                   (a.op == ast::MarkAssign::clear_bits ? "" : " ") + mark_expr(a.value);
          },
          [](const ast::CtCopyAction& a) {
            return std::string(a.save ? "ct save " : "ct restore ") + mark_expr(a.bits);
          },
          [](const ast::VerdictAction& a) { return std::string(verdict(a.verdict)); },
          [](const ast::NoNatAction&) { return std::string("no nat"); },
          [](const ast::DnatAction& a) {
            // [addr]:port, as written, keeps an IPv6 address apart from its port.
            bool bracket = a.port && a.address.kind == ast::Value::Kind::ipv6;
            std::string address = bracket ? "[" + value(a.address) + "]" : value(a.address);
            return "dnat to " + address + (a.port ? ":" + value(*a.port) : "");
          },
          [](const ast::CounterAction&) { return std::string("counter"); },
      },
      action);
}

void dump_rule(std::ostringstream& out, const ast::CaptureRule& rule) {
  out << pos(rule.location) << "   ";
  for (const ast::Match& m : rule.matches) out << ast_match(m) << " ";
  out << "=> " << join(rule.actions, ast_action) << "\n";
}

}  // namespace

std::string dump_ast(const ast::Policy& policy) {
  std::ostringstream out;
  for (const ast::Statement& statement : policy.statements) {
    std::visit(
        Overloaded{
            [&](const ast::Include& s) {
              out << pos(s.location) << " include \"" << s.path << "\"\n";
            },
            [&](const ast::Param& s) {
              out << pos(s.location) << " param " << s.name.text << ": " << s.type.text;
              if (s.default_value) out << " = " << value(*s.default_value);
              out << "\n";
            },
            [&](const ast::TableDecl& s) {
              out << pos(s.location) << " table " << s.family << " " << s.name.text << "\n";
            },
            [&](const ast::MarkDecl& s) {
              out << pos(s.location) << " mark " << s.name.text << " = " << mark_expr(s.value);
              if (s.mask) out << " / " << mark_expr(*s.mask);
              out << "\n";
            },
            [&](const ast::IfaceDecl& s) {
              out << pos(s.location) << " iface " << s.name.text << " = " << value(s.value) << "\n";
            },
            [&](const ast::GroupDecl& s) {
              out << pos(s.location) << " group " << s.name.text << " = { "
                  << join(s.members, value) << " }\n";
            },
            [&](const ast::AddrDecl& s) {
              out << pos(s.location) << " addr " << s.name.text << " = " << value(s.value) << "\n";
            },
            [&](const ast::SetDecl& s) {
              out << pos(s.location) << " set " << s.name.text << ": " << s.type.text
                  << (s.managed ? " managed" : "") << (s.any_address ? " any_address" : "") << " ("
                  << s.elements.size() << " elements)\n";
            },
            [&](const ast::BypassDecl& s) {
              out << pos(s.location) << " bypass " << s.protocol << " " << ports(s.ports) << "\n";
            },
            [&](const ast::CaptureBlock& s) {
              out << pos(s.location) << (s.nat ? " nat " : " capture ")
                  << join(s.hooks, [](const ast::Name& n) { return n.text; }) << "\n";
              for (const ast::CaptureRule& rule : s.rules) dump_rule(out, rule);
            },
            [&](const ast::RuleDecl& s) {
              out << pos(s.location) << " rule " << (s.family ? *s.family + " " : "")
                  << value(s.priority);
              if (s.from) out << " from " << value(*s.from);
              if (s.iif) out << " iif " << value(*s.iif);
              if (s.fwmark) out << " fwmark " << mark_expr(*s.fwmark);
              if (s.fwmask) out << " / " << mark_expr(*s.fwmask);
              out << (s.is_goto ? " goto " : " lookup ") << value(s.target) << "\n";
            },
            [&](const ast::RouteBlock& s) {
              out << pos(s.location) << " route " << (s.family ? *s.family + " " : "")
                  << value(s.table);
              if (s.for_set) out << " for " << s.for_set->text;
              out << "\n";
              for (const ast::RouteEntry& e : s.entries) {
                out << pos(e.location) << "   " << value(e.destination);
                if (e.via) out << " via " << value(*e.via);
                if (e.device) out << " dev " << value(*e.device);
                if (e.onlink) out << " onlink";
                if (e.scope) out << " scope " << e.scope->text;
                if (e.source) out << " src " << value(*e.source);
                if (e.metric) out << " metric " << value(*e.metric);
                out << "\n";
              }
            },
            [&](const ast::SysctlBlock& s) {
              out << pos(s.location) << " sysctl " << join(s.targets, value) << " { "
                  << join(s.settings,
                          [](const ast::SysctlSetting& x) {
                            return x.key.text + "=" + value(x.value);
                          })
                  << " }\n";
            },
        },
        statement);
  }
  return out.str();
}

namespace {

std::string ir_match(const ir::Match& match) {
  auto port_list = [](const std::vector<ir::PortRange>& ranges) {
    return join(ranges, [](const ir::PortRange& r) {
      return r.first == r.second ? std::to_string(r.first)
                                 : std::to_string(r.first) + "-" + std::to_string(r.second);
    });
  };
  return std::visit(
      Overloaded{
          [](const ir::InterfaceMatch& m) {
            std::string items =
                m.set.empty() ? "{" +
                                    join(
                                        m.names, [](const std::string& s) { return s; }, ",") +
                                    "}"
                              : "@" + m.set;
            return std::string(m.output ? "oif" : "iif") + (m.negated ? " != " : " ") + items;
          },
          [](const ir::AddressMatch& m) {
            std::string items =
                m.set.empty()
                    ? "{" +
                          join(
                              m.prefixes, [](const IpPrefix& p) { return p.str(); }, ",") +
                          "}"
                    : "@" + m.set;
            return std::string(m.destination ? "daddr" : "saddr") + (m.negated ? " != " : " ") +
                   items;
          },
          [&](const ir::ProtocolMatch& m) {
            std::string out = m.protocol;
            if (m.has_ports) {
              out += std::string(m.destination_port ? " dport" : " sport") +
                     (m.negated ? " != {" : " {") + port_list(m.ports) + "}";
            }
            return out;
          },
          [&](const ir::BypassMatch& m) {
            return "bypass {" +
                   join(
                       m.bypass,
                       [&](const ir::Bypass& b) { return b.protocol + " " + port_list(b.ports); }) +
                   "}";
          },
          [](const ir::MarkMatch& m) {
            return std::string(m.conntrack ? "ct mark" : "mark") + " & " + hex(m.mask) +
                   (m.op == ast::MarkOp::has || m.op == ast::MarkOp::equal ? " == " : " != ") +
                   hex(m.value);
          },
      },
      match);
}

std::string ir_action(const ir::Action& action) {
  return std::visit(
      Overloaded{
          [](const ir::MarkAction& a) {
            std::string target = a.conntrack ? "ct mark" : "mark";
            switch (a.op) {
              case ast::MarkAssign::or_bits:
                return a.mask == a.value
                           ? target + " |= " + hex(a.value)
                           : target + " = " + target + " & ~" + hex(a.mask) + " | " + hex(a.value);
              case ast::MarkAssign::set_whole: return target + " = " + hex(a.value);
              case ast::MarkAssign::clear_bits: return target + " &= ~" + hex(a.mask);
            }
            return target;
          },
          [](const ir::CtCopy& a) {
            return std::string(a.save ? "ct save " : "ct restore ") + hex(a.mask) +
                   (a.source_bits_set ? " (source bits known set)" : " (bit by bit)");
          },
          [](const ir::Verdict& a) { return std::string(verdict(a.verdict)); },
          [](const ir::NoNat&) { return std::string("no nat"); },
          [](const ir::Dnat& a) {
            bool bracket = a.port && a.address.family == IpFamily::v6;
            std::string address = bracket ? "[" + a.address.str() + "]" : a.address.str();
            return "dnat to " + address + (a.port ? ":" + std::to_string(*a.port) : "");
          },
          [](const ir::Counter&) { return std::string("counter"); },
      },
      action);
}

}  // namespace

std::string dump_ir_rule(const ir::Rule& rule) {
  std::string text;
  for (const ir::Match& m : rule.matches) text += ir_match(m) + " ";
  return text + "=> " + join(rule.actions, ir_action);
}

std::string dump_ir(const ir::Policy& policy) {
  std::ostringstream out;
  out << "table " << nft::table_spec(policy.family, policy.table) << "\n";
  for (const ir::Param& p : policy.params) {
    out << "param " << p.name << ": " << ir::type_name(p.type) << " = " << p.value
        << (p.from_command_line ? " (-D)" : " (default)") << "\n";
  }
  for (const ir::Mark& m : policy.marks) {
    out << "mark " << m.name << " " << hex(m.value) << "/" << hex(m.mask);
    std::vector<std::string> contains;
    for (const ir::Mark& other : policy.marks) {
      if (&other != &m && (m.value & other.mask) == other.value && other.mask != m.mask &&
          (other.mask & m.mask) == other.mask) {
        contains.push_back(other.name);
      }
    }
    if (!contains.empty())
      out << " contains " << join(contains, [](const std::string& s) { return s; });
    out << "\n";
  }
  for (const ir::Set& s : policy.sets) {
    out << "set " << s.name << ": " << ir::type_name(s.type) << (s.managed ? " managed" : "")
        << (s.any_address ? " any_address" : "") << (s.from_group ? " (group)" : "") << " {"
        << join(
               s.elements, [](const nft::Element& e) { return e.value; }, ",")
        << "}\n";
  }
  for (const ir::Chain& c : policy.chains) {
    out << (c.nat ? "nat " : "capture ") << nft::hook_name(c.hook) << "\n";
    for (const ir::Rule& r : c.rules) {
      out << "  " << pos(r.location) << " " << dump_ir_rule(r) << "\n";
    }
  }
  for (const route::Rule& r : policy.routing.rules) {
    out << "rule " << family_name(r.family) << " " << r.priority;
    if (r.from) out << " from " << r.from->str();
    if (r.iif) out << " iif " << *r.iif;
    if (r.fwmark) out << " fwmark " << hex(*r.fwmark) << "/" << hex(r.fwmask.value_or(0xffffffff));
    if (r.action == route::RuleAction::goto_) {
      out << " goto " << r.goto_priority;
    } else {
      out << " lookup " << r.table;
    }
    out << "\n";
  }
  auto route_line = [&](const route::Route& r, const std::string& destination) {
    out << "route " << family_name(r.family) << " table " << r.table << " " << destination;
    if (r.via) out << " via " << r.via->str();
    if (r.device) out << " dev " << *r.device;
    if (r.onlink) out << " onlink";
    if (r.scope != route::Scope::global) out << " scope " << route::scope_name(r.scope);
    if (r.source) out << " src " << r.source->str();
    if (r.metric) out << " metric " << *r.metric;
    out << "\n";
  };
  for (const route::Route& r : policy.routing.routes) {
    route_line(r, r.destination.length == 0 ? "default" : r.destination.str());
  }
  for (const route::DerivedRoutes& d : policy.routing.derived) route_line(d.route, "@" + d.set);
  for (const route::Sysctl& s : policy.routing.sysctls) {
    out << "sysctl " << s.key << " = " << s.value << "\n";
  }
  return out.str();
}

}  // namespace ztc
