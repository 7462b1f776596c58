// An Explanation as text (in the policy's own lines) and as JSON.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "backend/explain.h"

namespace ztc::explain {
namespace {

std::string where(const Location& location) {
  if (!location.known()) return "";
  return location.file->path() + ":" + std::to_string(location.line);
}

std::string source_line(const Location& location) {
  if (!location.known()) return "";
  std::string_view line = location.file->line(location.line);
  size_t begin = line.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return "";
  size_t end = line.find_last_not_of(" \t");
  return std::string(line.substr(begin, end - begin + 1));
}

std::string packet_text(const Packet& p) {
  std::string text = p.iif ? "arrives on " + *p.iif : std::string("sent by the node");
  if (p.protocol) text += ", " + *p.protocol;
  text += ", " + (p.saddr ? p.saddr->address_str() : std::string("?"));
  if (p.sport) text += ":" + std::to_string(*p.sport);
  text += " > " + p.daddr.address_str();
  if (p.dport) text += ":" + std::to_string(*p.dport);
  return text + ", mark " + hex(p.mark) + ", ct mark " + hex(p.ct_mark);
}

std::string route_summary(const RouteChoice& r) {
  if (r.local) return "for the node itself (table local)";
  if (!r.reachable) return "no route";
  std::string text = "table " + r.table;
  if (r.rule) text += " (rule " + std::to_string(*r.rule) + ")";
  if (r.dev) text += ", dev " + *r.dev;
  if (r.via) text += " via " + r.via->address_str();
  if (r.src) text += " src " + r.src->address_str();
  if (!r.dev && r.table == "main") text += ", device not known offline";
  return text;
}

nlohmann::json optional_text(const std::optional<std::string>& text) {
  return text ? nlohmann::json(*text) : nlohmann::json(nullptr);
}

nlohmann::json optional_address(const std::optional<IpPrefix>& address) {
  return address ? nlohmann::json(address->address_str()) : nlohmann::json(nullptr);
}

}  // namespace

std::string render_text(const Explanation& e) {
  std::ostringstream out;
  out << "packet: " << packet_text(e.packet) << "\n";
  out << "table " << e.table << "\n";
  std::string section;
  for (const Step& step : e.steps) {
    std::string header = step.hook == "routing" ? std::string("routing") : step.hook + " hook";
    if (step.hook != "routing" && step.depth == 0) {
      header += ", chain " + step.chain;
      if (step.priority) header += " (priority " + std::to_string(*step.priority) + ")";
    }
    if (step.depth == 0 && header != section) {
      out << "\n" << header << "\n";
      section = header;
    }
    std::string verdict = step.matched ? "yes" : "no";
    if (step.depth > 0) {
      out << std::string(2 + 2 * step.depth, ' ') << "chain " << step.chain << ": " << verdict
          << ": " << step.effect << "\n";
      continue;
    }
    std::string origin = where(step.location);
    std::string text =
        step.hook == "routing" && !step.location.known() ? step.chain : source_line(step.location);
    if (step.hook == "routing" && step.location.known() && step.chain.rfind("table ", 0) == 0) {
      verdict = "route";
    }
    out << "  " << (origin.empty() ? "(kernel)" : origin) << "  " << text << "\n";
    out << "      " << verdict << ": " << step.effect << "\n";
  }
  out << "\nresult: ";
  switch (e.verdict) {
    case Verdict::local: out << "delivered to the node"; break;
    case Verdict::egress: out << "leaves by " << route_summary(e.route); break;
    case Verdict::drop: out << "dropped"; break;
    case Verdict::unreachable: out << "no route (the kernel answers unreachable)"; break;
  }
  out << "\n  mark " << hex(e.mark) << ", ct mark " << hex(e.ct_mark) << "\n";
  for (const std::string& nat : e.nat) out << "  nat: " << nat << "\n";
  if (!e.notes.empty()) {
    out << "notes:\n";
    for (const std::string& note : e.notes) out << "  - " << note << "\n";
  }
  return out.str();
}

std::string render_json(const Explanation& e) {
  nlohmann::ordered_json out;
  const Packet& p = e.packet;
  out["packet"] = {{"iif", optional_text(p.iif)},
                   {"local", p.local()},
                   {"protocol", optional_text(p.protocol)},
                   {"saddr", optional_address(p.saddr)},
                   {"daddr", p.daddr.address_str()},
                   {"sport", p.sport ? nlohmann::json(*p.sport) : nlohmann::json(nullptr)},
                   {"dport", p.dport ? nlohmann::json(*p.dport) : nlohmann::json(nullptr)},
                   {"mark", hex(p.mark)},
                   {"ct_mark", hex(p.ct_mark)}};
  out["table"] = e.table;
  out["verdict"] = verdict_name(e.verdict);
  out["mark"] = hex(e.mark);
  out["ct_mark"] = hex(e.ct_mark);
  const RouteChoice& r = e.route;
  bool routed = r.reachable && !r.table.empty();
  out["route"] = {{"rule", routed && r.rule ? nlohmann::json(*r.rule) : nlohmann::json(nullptr)},
                  {"table", routed ? nlohmann::json(r.table) : nlohmann::json(nullptr)},
                  {"dev", optional_text(r.dev)},
                  {"via", optional_address(r.via)},
                  {"src", optional_address(r.src)},
                  {"location", r.location.known() ? nlohmann::json(where(r.location))
                                                  : nlohmann::json(nullptr)}};
  out["nat"] = e.nat;
  out["notes"] = e.notes;
  nlohmann::ordered_json steps = nlohmann::ordered_json::array();
  for (const Step& step : e.steps) {
    nlohmann::ordered_json s;
    s["hook"] = step.hook;
    s["chain"] = step.chain;
    s["location"] =
        step.location.known() ? nlohmann::json(where(step.location)) : nlohmann::json(nullptr);
    s["policy"] = step.location.known() ? nlohmann::json(source_line(step.location))
                                        : nlohmann::json(nullptr);
    s["matched"] = step.matched;
    s["effect"] = step.effect;
    if (step.priority) s["priority"] = *step.priority;
    s["depth"] = step.depth;
    steps.push_back(std::move(s));
  }
  out["steps"] = std::move(steps);
  return out.dump(2) + "\n";
}

}  // namespace ztc::explain
