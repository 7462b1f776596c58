// `nft monitor trace` lines, and how ztc trace tells them (backend/trace.h).
#include <cstdlib>
#include <sstream>

#include "backend/trace.h"

namespace ztc::trace {
namespace {

std::string trimmed(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(" \t");
  return std::string(text.substr(begin, end - begin + 1));
}

}  // namespace

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

Narrator::Narrator(const nft::Table& table)
    : table_ref_(nft::table_spec(table.family, table.name)) {
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
