#include "backend/trace.h"

#include <nftables/libnftables.h>
#include <signal.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "backend/nft_kernel.h"
#include "model/ip_address.h"

namespace ztc::trace {
namespace {

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

}  // namespace

std::optional<Selector> selector(const std::vector<std::string>& words, nft::Family family,
                                 std::string* error) {
  Selector out;
  std::vector<std::string> parts;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (word == "local") {
      out.hooks = {"output"};
      continue;
    }
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
               "' (expected iif NAME, local, tcp, udp, icmp, saddr A, daddr A, sport N, dport N, "
               "mark V, ct mark V)";
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
  for (const std::string& part : parts) out.match += (out.match.empty() ? "" : " ") + part;
  return out;
}

std::string add_buffer(nft::Family family, const std::string& table, const Selector& selector,
                       int pid) {
  std::string ref = nft::table_spec(family, table);
  const std::string& match = selector.match;
  std::string out;
  for (const std::string& hook : selector.hooks) {
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
    out += "delete chain " + nft::object_spec(family, table, chain) + "\n";
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
                    nft::table_spec(family, table) +
                    (pid > 0 ? " (its ztc trace, pid " + std::to_string(pid) + ", is gone)" : ""));
  }
  return lines;
}

}  // namespace ztc::trace

namespace ztc::trace {

int trace_listeners(const std::string& proc_net_netlink) {
  constexpr int kNetlinkNetfilter = 12;     // NETLINK_NETFILTER
  constexpr unsigned long kTraceGroup = 9;  // NFNLGRP_NFTRACE: bit 8 of Groups
  std::istringstream lines(proc_net_netlink);
  std::string line;
  std::getline(lines, line);  // the header
  int listeners = 0;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string socket, groups;
    int protocol = -1;
    long port = 0;
    if (!(fields >> socket >> protocol >> port >> groups)) continue;
    if (protocol == kNetlinkNetfilter &&
        (std::strtoul(groups.c_str(), nullptr, 16) >> (kTraceGroup - 1)) & 1) {
      ++listeners;
    }
  }
  return listeners;
}

namespace {

// Runs the monitor until it fails (it returns only then).
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

// Trace listeners in the network namespace this process is in.
int trace_listeners_here() {
  std::ifstream file("/proc/self/net/netlink");
  std::stringstream text;
  text << file.rdbuf();
  return trace_listeners(text.str());
}

}  // namespace

bool start_monitor(int fd, std::chrono::milliseconds limit) {
  const int before = trace_listeners_here();
  std::thread(monitor_into, fd).detach();
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (trace_listeners_here() <= before) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace ztc::trace
