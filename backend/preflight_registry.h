// Known owners: the marks, rule priorities, tables, devices, ports and chains
// other node networking projects install, each read from that project's code or
// documentation (the `sources` of each entry). Used to name the owner in a
// finding, and offline by `ztc compile --against cilium,calico`.
#pragma once

#include <string>
#include <vector>

#include "backend/preflight.h"

namespace ztc::preflight {

struct KnownOwner {
  std::string name;     // what --against takes: cilium, calico, kube-proxy-iptables, ...
  std::string display;  // what a finding says: Cilium, Calico, ...
  std::vector<std::string> sources;         // repository + path, or documentation URL
  std::vector<std::string> nft_tables;      // nft table names it creates
  std::vector<std::string> chain_prefixes;  // iptables chain name prefixes
  std::vector<std::string> devices;         // link names it creates
  // What it installs, as a node reader would see it (its defaults).
  NodeFootprint footprint;
};

const std::vector<KnownOwner>& known_owners();
const KnownOwner* find_owner(const std::string& name);

// The display name of the owner of a table, chain or device name, or of an ip
// rule named "rule:PRIORITY:TABLE"; "" if unknown.
std::string owner_of_name(const std::string& name);
// The owner of an ip rule at this priority with this table; "" if unknown.
std::string owner_of_rule(uint32_t priority, uint32_t table);

}  // namespace ztc::preflight
