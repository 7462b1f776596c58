#include "backend/trace.h"

#include <nftables/libnftables.h>
#include <signal.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "backend/nft_applier.h"
#include "model/ip_address.h"

namespace ztc::trace {
namespace {

std::string table_ref(nft::Family family, const std::string& table) {
  return std::string(nft::family_name(family)) + " " + table;
}

bool all_digits(const std::string& text) {
  return !text.empty() && text.size() <= 10 &&
         text.find_first_not_of("0123456789") == std::string::npos;
}

bool interface_name(const std::string& text) {
  if (text.empty() || text.size() > 15) return false;
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' &&
        c != '@')
      return false;
  }
  return true;
}

std::string trimmed(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(" \t");
  return std::string(text.substr(begin, end - begin + 1));
}

}  // namespace

std::optional<std::string> match_text(const std::vector<std::string>& words, nft::Family family,
                                      std::string* error) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (word == "tcp" || word == "udp") {
      parts.push_back("meta l4proto " + word);
      continue;
    }
    if (word == "icmp") {
      parts.push_back("meta l4proto { icmp, ipv6-icmp }");
      continue;
    }
    bool ct = word == "ct";
    if (ct && (i + 1 >= words.size() || words[i + 1] != "mark")) {
      *error = "packet word 'ct': expected `ct mark VALUE`";
      return std::nullopt;
    }
    if (ct) ++i;
    std::string key = ct ? "ct mark" : word;
    if (key != "iif" && key != "saddr" && key != "daddr" && key != "sport" && key != "dport" &&
        key != "mark" && key != "ct mark") {
      *error = "unknown packet word '" + word +
               "' (expected iif NAME, tcp, udp, icmp, saddr A, daddr A, sport N, dport N, mark V, "
               "ct mark V)";
      return std::nullopt;
    }
    if (i + 1 >= words.size()) {
      *error = "packet word '" + key + "' needs a value";
      return std::nullopt;
    }
    const std::string& value = words[++i];
    if (key == "iif") {
      if (!interface_name(value)) {
        *error = "packet word 'iif " + value + "': not an interface name";
        return std::nullopt;
      }
      parts.push_back("iifname \"" + value + "\"");
    } else if (key == "saddr" || key == "daddr") {
      std::optional<IpPrefix> address = parse_ip_prefix(value);
      if (!address) {
        *error = "packet word '" + key + " " + value + "': not an address or prefix";
        return std::nullopt;
      }
      bool v6 = address->family == IpFamily::v6;
      if ((v6 && family == nft::Family::ip) || (!v6 && family == nft::Family::ip6)) {
        *error = "packet word '" + key + " " + value + "': the table (" + nft::family_name(family) +
                 ") sees no packet of that family";
        return std::nullopt;
      }
      parts.push_back(std::string(v6 ? "ip6 " : "ip ") + key + " " + address->str());
    } else if (key == "sport" || key == "dport") {
      if (!all_digits(value) || std::stoul(value) > 65535) {
        *error = "packet word '" + key + " " + value + "': not a port";
        return std::nullopt;
      }
      parts.push_back("th " + key + " " + value);
    } else {
      char* end = nullptr;
      errno = 0;
      unsigned long mark = std::strtoul(value.c_str(), &end, 0);
      if (value.empty() || *end != '\0' || errno != 0 || mark > 0xffffffffUL) {
        *error = "packet word '" + key + " " + value + "': not a 32-bit value";
        return std::nullopt;
      }
      parts.push_back(std::string(ct ? "ct mark " : "meta mark ") + std::to_string(mark));
    }
  }
  std::string text;
  for (const std::string& part : parts) text += (text.empty() ? "" : " ") + part;
  return text;
}

std::string add_buffer(nft::Family family, const std::string& table, const std::string& match,
                       int pid) {
  std::string ref = table_ref(family, table);
  std::string out;
  for (const char* hook : {"prerouting", "output"}) {
    std::string chain = std::string(kChainPrefix) + hook;
    out += "add chain " + ref + " " + chain + " { type filter hook " + hook + " priority " +
           std::to_string(kTracePriority) + "; policy accept; }\n";
    out += "add rule " + ref + " " + chain + " " + (match.empty() ? "" : match + " ") +
           "meta nftrace set 1 comment \"ztc trace pid " + std::to_string(pid) + "\"\n";
  }
  return out;
}

std::map<std::string, int> trace_chains(const std::string& listing) {
  // Found by search, not line by line: a load passes listings with 100k
  // set members here.
  std::map<std::string, int> chains;
  const std::string chain_line = std::string("\n\tchain ") + kChainPrefix;
  const std::string pid_comment = "comment \"ztc trace pid ";
  for (size_t at = listing.find(chain_line); at != std::string::npos;
       at = listing.find(chain_line, at + 1)) {
    size_t name_begin = at + 8;  // after "\n\tchain "
    std::string name = listing.substr(name_begin, listing.find(' ', name_begin) - name_begin);
    size_t block_end = listing.find("\n\t}", name_begin);
    size_t comment = listing.find(pid_comment, name_begin);
    chains[name] = comment != std::string::npos && comment < block_end
                       ? std::atoi(listing.c_str() + comment + pid_comment.size())
                       : 0;
  }
  return chains;
}

std::string remove_buffer(nft::Family family, const std::string& table,
                          const std::vector<std::string>& chains) {
  std::string out;
  for (const std::string& chain : chains) {
    out += "delete chain " + table_ref(family, table) + " " + chain + "\n";
  }
  return out;
}

std::vector<std::string> stale_chains(const std::map<std::string, int>& chains) {
  std::vector<std::string> stale;
  for (const auto& [chain, pid] : chains) {
    bool alive = pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
    if (!alive) stale.push_back(chain);
  }
  return stale;
}

std::optional<Event> parse_event(const std::string& line) {
  std::istringstream words(line);
  std::string trace, id_word, family, table;
  Event event;
  if (!(words >> trace >> id_word >> event.id >> family >> table >> event.chain >> event.kind)) {
    return std::nullopt;
  }
  if (trace != "trace" || id_word != "id") return std::nullopt;
  event.table = family + " " + table;
  if (!event.kind.empty() && event.kind.back() == ':') event.kind.pop_back();
  std::string rest;
  std::getline(words, rest);
  event.text = trimmed(rest);
  return event;
}

Narrator::Narrator(const nft::Table& table) : table_ref_(table_ref(table.family, table.name)) {
  for (const nft::NamedCounter& counter : table.counters) {
    counter_rules_[counter.name] = counter.location;
  }
}

namespace {

// The value after `key ` in an nft packet line ("ip saddr 10.0.0.1 ..."); the
// last one when `last`.
std::optional<std::string> word_after(const std::string& text, const std::string& key,
                                      bool last = false) {
  std::string needle = key + " ";
  size_t at = last ? text.rfind(needle) : text.find(needle);
  while (at != std::string::npos && at > 0 && text[at - 1] != ' ') {
    at = last ? (at == 0 ? std::string::npos : text.rfind(needle, at - 1))
              : text.find(needle, at + 1);
  }
  if (at == std::string::npos) return std::nullopt;
  size_t begin = at + needle.size();
  return text.substr(begin, text.find(' ', begin) - begin);
}

std::optional<route::PacketKey> key_of(const std::string& packet_line) {
  route::PacketKey key;
  bool has_daddr = false;
  for (const char* family : {"ip", "ip6"}) {
    auto daddr = word_after(packet_line, std::string(family) + " daddr");
    auto saddr = word_after(packet_line, std::string(family) + " saddr");
    std::optional<IpPrefix> parsed = daddr ? parse_ip_prefix(*daddr) : std::nullopt;
    if (parsed) key.daddr = *parsed, has_daddr = true;
    if (saddr) key.saddr = parse_ip_prefix(*saddr);
  }
  if (!has_daddr) return std::nullopt;
  if (auto iif = word_after(packet_line, "iif")) {
    // A packet on lo was sent by the node and routed when it was sent; the
    // kernel refuses an input lookup of 127/8 from lo ("Invalid argument").
    if (iif->size() >= 2 && iif->front() == '"' && *iif != "\"lo\"") {
      key.iif = iif->substr(1, iif->size() - 2);
    }
  }
  return key;
}

}  // namespace

std::vector<std::pair<size_t, route::PacketKey>> Narrator::packet_keys() const {
  std::vector<std::pair<size_t, route::PacketKey>> keys;
  for (const auto& [number, key] : keys_) keys.emplace_back(number, key);
  return keys;
}

std::string Narrator::line(const Event& event) {
  bool ours = event.table == table_ref_;
  bool tracer = ours && event.chain.rfind(kChainPrefix, 0) == 0;
  auto number = numbers_.find(event.id);
  if (number == numbers_.end()) {
    // A packet is numbered when the trace rule marks it (its first event).
    if (!tracer || event.kind != "packet") return "";
    number = numbers_.emplace(event.id, numbers_.size() + 1).first;
    if (auto key = key_of(event.text)) keys_[number->second] = *key;
  }
  auto key = keys_.find(number->second);
  auto mark = word_after(event.text, "meta mark", true);
  if (key != keys_.end() && mark) {
    key->second.mark = static_cast<uint32_t>(std::strtoul(mark->c_str(), nullptr, 0));
  }
  std::string prefix = "packet " + std::to_string(number->second) + ": ";
  if (tracer) {
    return event.kind == "packet" ? prefix + event.text : "";
  }
  std::string where = ours ? event.chain : "table " + event.table + " chain " + event.chain;
  if (event.kind == "rule" && ours) {
    const std::string key = "counter name \"";
    size_t at = event.text.find(key);
    if (at != std::string::npos) {
      size_t end = event.text.find('"', at + key.size());
      auto rule = counter_rules_.find(event.text.substr(at + key.size(), end - at - key.size()));
      if (rule != counter_rules_.end() && rule->second.known()) {
        std::string verdict;
        size_t open = event.text.rfind(" (verdict ");
        if (open != std::string::npos) verdict = " " + event.text.substr(open + 1);
        const Location& location = rule->second;
        return prefix + "  " + where + ": " + location.file->path() + ":" +
               std::to_string(location.line) + ": " + trimmed(location.file->line(location.line)) +
               verdict;
      }
    }
  }
  if (event.kind == "packet") return "";  // the packet line of each later chain repeats it
  return prefix + "  " + where + ": " + event.kind + " " + event.text;
}

}  // namespace ztc::trace

namespace ztc::trace {

std::vector<std::string> remove_stale(nft::NftKernel& kernel, nft::Family family,
                                      const std::string& table, std::string* error) {
  std::optional<std::string> listing = kernel.list_table(family, table, false);
  if (!listing) return {};
  std::map<std::string, int> chains = trace_chains(*listing);
  std::vector<std::string> stale = stale_chains(chains);
  if (stale.empty()) return {};
  nft::ApplyResult removed = kernel.run(remove_buffer(family, table, stale), false);
  if (!removed.success) {
    *error = "cannot remove the stale trace chains: " + removed.error;
    return {};
  }
  std::vector<std::string> lines;
  for (const std::string& chain : stale) {
    int pid = chains[chain];
    lines.push_back("removed the stale trace chain " + chain + " of table " +
                    table_ref(family, table) +
                    (pid > 0 ? " (its ztc trace, pid " + std::to_string(pid) + ", is gone)" : ""));
  }
  return lines;
}

}  // namespace ztc::trace

namespace ztc::trace {

void monitor_into(int fd) {
  FILE* output = fdopen(fd, "w");
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (output && ctx) {
    nft_ctx_set_output(ctx, output);
    nft_ctx_buffer_error(ctx);
    nft_run_cmd_from_buffer(ctx, "monitor trace");
  }
  if (ctx) nft_ctx_free(ctx);
  if (output) fclose(output);
}

}  // namespace ztc::trace
