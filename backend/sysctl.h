// Kernel parameters under /proc/sys/net, by their sysctl(8) key.
// Keys are dotted, but interface names may contain dots (veth.1, eth0.100), so
// the per-interface families are split by their known shape:
//   net.ipv4.conf.<ifname>.<leaf>, net.ipv6.conf.<ifname>.<leaf>,
//   net.ipv4.neigh.<ifname>.<leaf>, net.ipv6.neigh.<ifname>.<leaf>
// and anything else has every dot turned into a slash. As in sysctl(8), a '/'
// inside a dotted key stands for a literal dot.
// /proc/sys/net resolves against the network namespace of the calling thread.
#pragma once

#include <optional>
#include <string>

namespace ztc {

// "/proc/sys/net/ipv4/conf/veth.1/rp_filter", or nullopt with a reason for keys
// outside net.*, with empty parts, or with "." / ".." parts.
std::optional<std::string> sysctl_path(const std::string& key, std::string* error);

// The interface a per-interface key names ("istioin"), nullopt for other keys and
// for the pseudo interfaces "all" and "default".
std::optional<std::string> sysctl_interface(const std::string& key);

// Current value with trailing whitespace removed; nullopt with a reason.
std::optional<std::string> read_sysctl_value(const std::string& key, std::string* error);
// nullopt on success, else the reason.
std::optional<std::string> write_sysctl_value(const std::string& key, const std::string& value);

// Values compare as the kernel prints them: runs of whitespace are one space.
bool sysctl_values_equal(const std::string& a, const std::string& b);

}  // namespace ztc
