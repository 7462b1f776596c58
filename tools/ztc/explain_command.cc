#include "tools/ztc/explain_command.h"

#include <ostream>
#include <set>

#include "backend/enroll.h"
#include "backend/explain_live.h"
#include "backend/netns.h"
#include "backend/nft_set_reader.h"
#include "model/values.h"
#include "tools/ztc/policy_input.h"

namespace ztc {
namespace {

const char* kPacketWords =
    "iif NAME | local, tcp | udp | icmp, saddr ADDR, daddr ADDR, sport N, dport N, mark VALUE, "
    "ct mark VALUE";

// Marks are written in hex as often as in decimal; the policy's u32 parser
// takes decimal, so 0x... is converted first.
std::optional<uint32_t> parse_mark(const std::string& text, std::string* error) {
  std::string decimal = text;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    std::string digits = text.substr(2);
    bool ok = !digits.empty() && digits.size() <= 8 &&
              digits.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
    if (!ok) {
      *error = "not a 32-bit number";
      return std::nullopt;
    }
    decimal = std::to_string(std::stoul(digits, nullptr, 16));
  }
  auto canonical = canonical_value(ir::ValueType::u32, decimal, error);
  if (!canonical) return std::nullopt;
  return static_cast<uint32_t>(std::stoul(*canonical));
}

std::optional<IpPrefix> parse_address(const std::string& text, std::string* error) {
  std::string why;
  auto v4 = canonical_value(ir::ValueType::ipv4, text, &why);
  if (v4) return parse_ip_prefix(*v4);
  auto v6 = canonical_value(ir::ValueType::ipv6, text, error);
  if (v6) return parse_ip_prefix(*v6);
  if (text.find(':') == std::string::npos) *error = why;
  return std::nullopt;
}

void print_diagnostics(const Diagnostics& diagnostics, std::ostream& err) {
  for (const Diagnostic& d : diagnostics.all()) {
    if (!d.location.file) err << "ztc: ";
    err << render(d);
  }
}

}  // namespace

bool parse_packet_words(const std::vector<std::string>& words, explain::Packet* packet,
                        std::string* error) {
  std::set<std::string> seen;
  bool local = false;
  bool have_daddr = false;
  for (size_t i = 0; i < words.size(); ++i) {
    std::string word = words[i];
    if (word == "ct") {
      if (i + 1 >= words.size() || words[i + 1] != "mark") {
        *error = "packet word 'ct': expected `ct mark VALUE`";
        return false;
      }
      word = "ct mark";
      ++i;
    }
    if (!seen.insert(word == "udp" || word == "icmp" ? "tcp"
                     : word == "local"               ? "iif"
                                                     : word)
             .second) {
      *error = "packet word '" + word + "': given twice" +
               (word == "local" || word == "iif" ? " (iif NAME or local, once)" : "") +
               (word == "tcp" || word == "udp" || word == "icmp" ? " (one protocol)" : "");
      return false;
    }
    if (word == "local") {
      local = true;
      continue;
    }
    if (word == "tcp" || word == "udp" || word == "icmp") {
      packet->protocol = word;
      continue;
    }
    bool takes_value = word == "iif" || word == "saddr" || word == "daddr" || word == "sport" ||
                       word == "dport" || word == "mark" || word == "ct mark";
    if (!takes_value) {
      *error = "unknown packet word '" + word + "' (expected " + kPacketWords + ")";
      return false;
    }
    if (i + 1 >= words.size()) {
      *error = "packet word '" + word + "' needs a value";
      return false;
    }
    const std::string& value = words[++i];
    std::string why;
    auto bad = [&](const std::string& reason) {
      *error = "packet word '" + word + " " + value + "': " + reason;
      return false;
    };
    if (word == "iif") {
      if (!valid_ifname(value)) {
        return bad("not an interface name (1 to 15 characters; no '/', ':', '\"', '#' or spaces)");
      }
      packet->iif = value;
    } else if (word == "saddr" || word == "daddr") {
      auto address = parse_address(value, &why);
      if (!address) return bad(why);
      if (word == "saddr") {
        packet->saddr = address;
      } else {
        packet->daddr = *address;
        have_daddr = true;
      }
    } else if (word == "sport" || word == "dport") {
      auto port = canonical_value(ir::ValueType::port, value, &why);
      if (!port) return bad(why);
      (word == "sport" ? packet->sport : packet->dport) = static_cast<uint16_t>(std::stoul(*port));
    } else {
      auto mark = parse_mark(value, &why);
      if (!mark) return bad(why);
      (word == "mark" ? packet->mark : packet->ct_mark) = *mark;
    }
  }
  if (!local && !packet->iif) {
    *error = "the packet needs `iif NAME` (it arrives on NAME) or `local` (the node sends it)";
    return false;
  }
  if (!have_daddr) {
    *error = "the packet needs `daddr ADDR`";
    return false;
  }
  if (packet->saddr && packet->saddr->family != packet->daddr.family) {
    *error = "saddr and daddr are of different families";
    return false;
  }
  if (packet->protocol == std::optional<std::string>("icmp") && (packet->sport || packet->dport)) {
    *error = "packet word 'icmp': ICMP has no ports (sport/dport)";
    return false;
  }
  if ((packet->sport || packet->dport) && !packet->protocol) {
    *error = "ports need a protocol: tcp or udp";
    return false;
  }
  return true;
}

int run_explain(const ExplainOptions& options, std::ostream& out, std::ostream& err) {
  explain::Packet packet;
  std::string error;
  if (!parse_packet_words(options.packet, &packet, &error)) {
    err << "ztc: error: " << error << "\nRun 'ztc explain --help' for usage.\n";
    return kExitUsage;
  }
  std::vector<std::pair<std::string, std::string>> members;
  for (const std::string& member : options.members) {
    std::optional<std::pair<std::string, std::string>> pair = split_name_value(member);
    if (!pair || pair->second.empty()) {
      err << "ztc: error: --member " << member << ": expected SET=ELEMENT\n";
      return kExitUsage;
    }
    members.push_back(std::move(*pair));
  }

  Diagnostics diagnostics;
  auto compiled = compile_from_options(options.policy, diagnostics);
  if (!compiled) {
    print_diagnostics(diagnostics, err);
    return kExitFailure;
  }
  explain::NodeFacts facts;
  for (const auto& [set, element] : members) {
    auto target = find_managed_set(compiled->table, compiled->routing, set, diagnostics);
    if (!target) continue;
    for (const nft::Element& e :
         check_members(*target, {MemberInput{element, {}, {}}}, diagnostics)) {
      facts.members[set].push_back(e.value);
    }
  }
  if (diagnostics.has_errors()) {
    print_diagnostics(diagnostics, err);
    return kExitFailure;
  }

  if (!options.netns.empty()) {
    if (!enter_netns(options.netns, &error)) {
      err << "ztc: error: cannot enter network namespace '" << options.netns << "': " << error
          << "\n";
      return kExitFailure;
    }
    explain::LiveRouting live;
    if (auto failed = explain::read_live_routing(&live)) {
      err << "ztc: error: " << *failed << "\n";
      return kExitFailure;
    }
    facts.local_addresses = std::move(live.local_addresses);
    facts.main_routes = std::move(live.main_routes);
    auto reader = nft::NetlinkSetReader::open(&error);
    if (!reader) {
      err << "ztc: error: " << error << "\n";
      return kExitFailure;
    }
    const nft::Table& table = compiled->table;
    for (const nft::Set& set : table.sets) {
      if (!set.managed) continue;
      nft::SetDescription description;
      if (auto failed = reader->describe(table.family, table.name, set.name, &description)) {
        err << "ztc: error: cannot read set '" << set.name << "': " << *failed << "\n";
        return kExitFailure;
      }
      if (!description.set_exists) {
        err << "ztc: warning: " << (description.table_exists ? "set '" + set.name + "'" : "table")
            << " not loaded in namespace '" << options.netns << "': no live members\n";
        continue;
      }
      std::vector<nft::Element> live_members;
      if (auto failed = reader->list(table.family, table.name, set.name, &live_members)) {
        err << "ztc: error: cannot read set '" << set.name << "': " << *failed << "\n";
        return kExitFailure;
      }
      for (const nft::Element& e : live_members) {
        std::string value = e.value;
        if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
        facts.members[set.name].push_back(value);
      }
    }
  }
  explain::Explanation explanation =
      explain::explain(compiled->table, compiled->routing, packet, facts);
  out << (options.json ? explain::render_json(explanation) : explain::render_text(explanation));
  return kExitOk;
}

}  // namespace ztc
