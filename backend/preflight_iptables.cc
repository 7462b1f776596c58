// The marks and base chains of iptables rules, from `iptables-legacy-save` /
// `iptables-nft-save` text. There is no library for the legacy backend's
// tables (libiptc is not a stable API and not packaged for this), and the save
// format is the tools' documented, stable interface, so its text is parsed.
#include <map>
#include <sstream>

#include "backend/preflight_node.h"

namespace ztc::preflight {
namespace {

// Words of one rule line; "..." quoted words (comments) are one word.
std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool quoted = false, any = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '\\' && i + 1 < line.size()) {
        word += line[++i];
      } else if (c == '"') {
        quoted = false;
      } else {
        word += c;
      }
    } else if (c == '"') {
      quoted = true;
      any = true;
    } else if (c == ' ' || c == '\t') {
      if (any) words.push_back(word);
      word.clear();
      any = false;
    } else {
      word += c;
      any = true;
    }
  }
  if (any) words.push_back(word);
  return words;
}

uint32_t parse_number(const std::string& text) {
  try {
    return static_cast<uint32_t>(std::stoul(text, nullptr, 0));
  } catch (...) {
    return 0;
  }
}

// "0x200/0xf00" -> value, mask (mask all ones when absent).
std::pair<uint32_t, uint32_t> value_mask(const std::string& text) {
  size_t slash = text.find('/');
  if (slash == std::string::npos) return {parse_number(text), 0xffffffffu};
  return {parse_number(text.substr(0, slash)), parse_number(text.substr(slash + 1))};
}

struct ChainFacts {
  bool reads = false;
  uint32_t written = 0;
  bool nats = false;
  std::vector<std::string> targets;
};

// The fixed priorities xtables registers its tables at (NF_IP_PRI_*).
std::optional<int> table_priority(const std::string& table, Hook hook) {
  if (table == "raw") return -300;
  if (table == "mangle") return -150;
  if (table == "nat") return hook == Hook::prerouting || hook == Hook::output ? -100 : 100;
  if (table == "filter") return 0;
  if (table == "security") return 50;
  return std::nullopt;
}

Hook builtin_hook(const std::string& chain) {
  if (chain == "PREROUTING") return Hook::prerouting;
  if (chain == "INPUT") return Hook::input;
  if (chain == "FORWARD") return Hook::forward;
  if (chain == "OUTPUT") return Hook::output;
  if (chain == "POSTROUTING") return Hook::postrouting;
  return Hook::other;
}

}  // namespace

std::set<std::string> read_iptables_save(const std::string& backend, bool ipv6,
                                         const std::string& text, NodeFootprint* out) {
  std::set<std::string> tables;
  std::set<std::string> tables_with_rules;
  int rules = 0;
  const std::string program = (ipv6 ? "ip6tables" : "iptables") + backend.substr(backend.find('-'));
  std::string table;
  std::map<std::string, ChainFacts> facts;
  std::set<std::string> chains;
  auto finish_table = [&]() {
    for (const std::string& name : chains) {
      Hook hook = builtin_hook(name);
      std::optional<int> priority = table_priority(table, hook);
      if (hook == Hook::other || !priority) continue;
      NodeBaseChain chain;
      chain.family = ipv6 ? "ip6" : "ip";
      chain.hook = hook;
      chain.priority = *priority;
      std::set<std::string> seen;
      std::vector<std::string> pending{name};
      bool any_rule = false;
      while (!pending.empty()) {
        std::string next = pending.back();
        pending.pop_back();
        if (!seen.insert(next).second) continue;
        auto it = facts.find(next);
        if (it == facts.end()) continue;
        any_rule = true;
        chain.reads_marks |= it->second.reads;
        chain.written_bits |= it->second.written;
        chain.nats |= it->second.nats;
        for (const std::string& target : it->second.targets) {
          if (chain.owner_hint.empty()) chain.owner_hint = target;
          pending.push_back(target);
        }
      }
      if (!any_rule) continue;
      chain.writes_marks = chain.written_bits != 0;
      chain.node = program + " -t " + table + " " + name + " (priority " +
                   std::to_string(*priority) + ")" +
                   (chain.owner_hint.empty() ? "" : " -> " + chain.owner_hint);
      out->chains.push_back(std::move(chain));
    }
    facts.clear();
    chains.clear();
  };
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '*') {
      table = line.substr(1);
      tables.insert(table);
      continue;
    }
    if (line == "COMMIT") {
      finish_table();
      continue;
    }
    if (line[0] == ':') {
      chains.insert(line.substr(1, line.find(' ') - 1));
      continue;
    }
    std::vector<std::string> words = split_words(line);
    if (words.size() < 2 || words[0] != "-A") continue;
    ++rules;
    tables_with_rules.insert(table);
    const std::string& chain = words[1];
    ChainFacts& chain_facts = facts[chain];
    std::vector<MarkUse> uses;
    auto use = [&](MarkField field, bool writes, uint32_t value, uint32_t mask) {
      MarkUse u;
      u.field = field;
      u.writes = writes;
      u.value = value;
      u.mask = mask;
      uses.push_back(u);
      if (writes) {
        chain_facts.written |= mask;
      } else {
        chain_facts.reads = true;
      }
    };
    std::string module, target;
    uint32_t nfmask = 0xffffffffu, ctmask = 0xffffffffu;
    bool save = false, restore = false;
    for (size_t i = 2; i < words.size(); ++i) {
      const std::string& word = words[i];
      const std::string next = i + 1 < words.size() ? words[i + 1] : "";
      if (word == "-m") {
        module = next;
        ++i;
      } else if (word == "-j" || word == "-g") {
        target = next;
        module.clear();
        ++i;
        if (target == "DNAT" || target == "SNAT" || target == "MASQUERADE" ||
            target == "REDIRECT" || target == "NETMAP") {
          chain_facts.nats = true;
        } else if (chains.count(target)) {
          chain_facts.targets.push_back(target);
        }
      } else if (word == "--mark" && (module == "mark" || module == "connmark")) {
        auto [value, mask] = value_mask(next);
        use(module == "mark" ? MarkField::packet : MarkField::conntrack, false, value, mask);
        ++i;
      } else if ((target == "MARK" || target == "CONNMARK") &&
                 (word == "--set-xmark" || word == "--set-mark")) {
        auto [value, mask] = value_mask(next);
        use(target == "MARK" ? MarkField::packet : MarkField::conntrack, true, value, mask | value);
        ++i;
      } else if (target == "MARK" && (word == "--or-mark" || word == "--xor-mark")) {
        use(MarkField::packet, true, parse_number(next), parse_number(next));
        ++i;
      } else if (target == "MARK" && word == "--and-mark") {
        use(MarkField::packet, true, 0, ~parse_number(next));
        ++i;
      } else if (target == "CONNMARK" && word == "--save-mark") {
        save = true;
      } else if (target == "CONNMARK" && word == "--restore-mark") {
        restore = true;
      } else if (target == "CONNMARK" &&
                 (word == "--nfmask" || word == "--ctmask" || word == "--mask")) {
        uint32_t mask = parse_number(next);
        if (word != "--ctmask") nfmask = mask;
        if (word != "--nfmask") ctmask = mask;
        ++i;
      } else if (target == "TPROXY" && word == "--tproxy-mark") {
        auto [value, mask] = value_mask(next);
        use(MarkField::packet, true, value, mask | value);
        ++i;
      }
    }
    // CONNMARK save: ct = (ct & ~ctmask) ^ (mark & nfmask); restore the reverse.
    if (save) {
      use(MarkField::packet, false, 0, nfmask);
      use(MarkField::conntrack, true, 0, ctmask);
    }
    if (restore) {
      use(MarkField::conntrack, false, 0, ctmask);
      use(MarkField::packet, true, 0, nfmask);
    }
    for (MarkUse& u : uses) {
      u.node = program + " -t " + table + " " + line;
      u.owner_hint = chain;
      out->marks.push_back(std::move(u));
    }
  }
  if (rules > 0) {
    bool merged = false;
    std::string names;
    for (const std::string& name : tables_with_rules) names += (names.empty() ? "" : ", ") + name;
    for (NodeIptables& known : out->iptables) {
      if (known.backend != backend) continue;
      known.rules += rules;
      known.tables += (known.tables.empty() ? "" : "; ") + std::string(ipv6 ? "ip6: " : "") + names;
      merged = true;
    }
    if (!merged) out->iptables.push_back({backend, rules, (ipv6 ? "ip6: " : "") + names});
  }
  return tables;
}

}  // namespace ztc::preflight
