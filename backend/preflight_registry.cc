// The registry of known owners. Every value below is the project's default as
// its own code or documentation states it; the source of each entry is in its
// `sources`. A value we could not find a source for is left out, not guessed.
#include "backend/preflight_registry.h"

namespace ztc::preflight {
namespace {

MarkUse mark(MarkField field, bool writes, uint32_t value, uint32_t mask, std::string node,
             std::string owner) {
  return {field, writes, value, mask, std::move(node), std::move(owner)};
}

NodeIpRule rule(IpFamily family, uint32_t priority, std::optional<uint32_t> fwmark,
                std::optional<uint32_t> fwmask, bool selector, uint32_t table, std::string node) {
  NodeIpRule out;
  out.family = family;
  out.priority = priority;
  out.fwmark = fwmark;
  out.fwmask = fwmask;
  out.has_selector = selector;
  out.table = table;
  out.node = std::move(node);
  return out;
}

NodeBaseChain chain(std::string family, Hook hook, int priority, std::string node,
                    std::string owner, bool reads, uint32_t written_bits, bool nats) {
  NodeBaseChain out;
  out.family = std::move(family);
  out.hook = hook;
  out.priority = priority;
  out.node = std::move(node);
  out.owner_hint = std::move(owner);
  out.reads_marks = reads;
  out.writes_marks = written_bits != 0;
  out.written_bits = written_bits;
  out.nats = nats;
  return out;
}

std::vector<KnownOwner> build() {
  std::vector<KnownOwner> owners;
  const IpFamily v4 = IpFamily::v4;

  {
    KnownOwner o;
    o.name = "cilium";
    o.display = "Cilium";
    o.sources = {
        "cilium/cilium pkg/datapath/linux/linux_defaults/mark.go (MagicMarkHostMask 0x0F00, "
        "MagicMarkIsToProxy 0x0200, identity in the other bits)",
        "cilium/cilium pkg/datapath/linux/linux_defaults/linux_defaults.go (RouteTableToProxy "
        "2004, RouteTableFromProxy 2005, RulePriorityProxyIngress 9, RulePriorityLocalLookup "
        "100: the local rule moved from 0)",
        "cilium/cilium pkg/datapath/iptables/iptables.go (CILIUM_PRE_mangle, CILIUM_POST_nat, "
        "... chains)",
        "https://docs.cilium.io/en/stable/operations/system_requirements/ (VXLAN 8472/udp, "
        "Geneve 6081/udp)"};
    o.chain_prefixes = {"CILIUM_", "OLD_CILIUM_"};
    o.devices = {"cilium_vxlan", "cilium_geneve", "cilium_host", "cilium_net"};
    NodeFootprint& f = o.footprint;
    f.marks.push_back(mark(MarkField::packet, true, 0x200, 0x0f00,
                           "Cilium's mark field 0x0f00 (to-proxy 0x200, from proxy 0xa00/0xb00, "
                           "from host 0xc00)",
                           "cilium"));
    f.marks.push_back(mark(MarkField::packet, true, 0, 0xffff00ff,
                           "Cilium's security identity, carried in mark bits 0xffff00ff with its "
                           "proxy marks",
                           "cilium"));
    f.rules.push_back(rule(v4, 9, 0x200, 0xf00, true, 2004,
                           "ip rule 9: fwmark 0x200/0xf00 lookup 2004 (Cilium to-proxy)"));
    f.rules.push_back(
        rule(v4, 100, std::nullopt, std::nullopt, false, 255,
             "ip rule 100: from all lookup local (Cilium moves the local rule here)"));
    f.route_tables.push_back({v4, 2004, 1, "local default dev lo table 2004 (Cilium to-proxy)"});
    f.route_tables.push_back({v4, 2005, 1, "table 2005 (Cilium from-proxy)"});
    f.tunnels.push_back({"cilium_vxlan", "vxlan", 8472});
    f.tunnels.push_back({"cilium_geneve", "geneve", 6081});
    f.chains.push_back(chain("ip", Hook::prerouting, -150,
                             "iptables -t mangle PREROUTING -> CILIUM_PRE_mangle (Cilium)",
                             "CILIUM_PRE_mangle", true, 0x0f00, false));
    owners.push_back(std::move(o));
  }
  {
    KnownOwner o;
    o.name = "calico";
    o.display = "Calico";
    o.sources = {
        "projectcalico/calico felix/config/config_params.go (IptablesMarkMask "
        "`mark-bitmask;0xffff0000`)",
        "aws/amazon-vpc-cni-k8s pkg/networkutils/network.go (\"Calico uses 0xffff0000\")",
        "https://docs.tigera.io/calico/latest/reference/felix/configuration (VXLANPort 4789, "
        "device vxlan.calico; chains cali-*)"};
    o.chain_prefixes = {"cali-"};
    o.nft_tables = {"calico"};
    o.devices = {"vxlan.calico", "vxlan-v6.calico", "tunl0"};
    NodeFootprint& f = o.footprint;
    f.marks.push_back(mark(MarkField::packet, true, 0, 0xffff0000,
                           "Calico's mark bits 0xffff0000 (Felix IptablesMarkMask)", "calico"));
    f.tunnels.push_back({"vxlan.calico", "vxlan", 4789});
    f.chains.push_back(chain("ip", Hook::prerouting, -150,
                             "iptables -t mangle PREROUTING -> cali-PREROUTING (Calico)",
                             "cali-PREROUTING", true, 0xffff0000, false));
    owners.push_back(std::move(o));
  }
  {
    KnownOwner o;
    o.name = "kube-proxy-iptables";
    o.display = "kube-proxy (iptables)";
    o.sources = {
        "kubernetes/kubernetes pkg/proxy/iptables/proxier.go (KUBE-MARK-MASQ sets the masquerade "
        "bit, KUBE-POSTROUTING tests and clears it, then MASQUERADE)",
        "https://kubernetes.io/docs/reference/command-line-tools-reference/kube-proxy/ "
        "(--iptables-masquerade-bit, default 14: 0x4000)"};
    o.chain_prefixes = {"KUBE-"};
    NodeFootprint& f = o.footprint;
    f.marks.push_back(mark(MarkField::packet, true, 0x4000, 0x4000,
                           "iptables -t nat -A KUBE-MARK-MASQ -j MARK --or-mark 0x4000",
                           "KUBE-MARK-MASQ"));
    f.marks.push_back(mark(MarkField::packet, false, 0x4000, 0x4000,
                           "iptables -t nat -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j "
                           "RETURN",
                           "KUBE-POSTROUTING"));
    f.chains.push_back(chain("ip", Hook::prerouting, -100,
                             "iptables -t nat PREROUTING -> KUBE-SERVICES (kube-proxy)",
                             "KUBE-SERVICES", false, 0x4000, true));
    f.chains.push_back(chain("ip", Hook::postrouting, 100,
                             "iptables -t nat POSTROUTING -> KUBE-POSTROUTING (kube-proxy)",
                             "KUBE-POSTROUTING", true, 0x4000, true));
    owners.push_back(std::move(o));
  }
  {
    KnownOwner o;
    o.name = "kube-proxy-nftables";
    o.display = "kube-proxy (nftables)";
    o.sources = {
        "kubernetes/kubernetes pkg/proxy/nftables/proxier.go (table kube-proxy; base chains "
        "filter-* at dstnat-10, filter-output-post-dnat at dstnat+10, nat-prerouting and "
        "nat-output at dstnat, nat-postrouting at srcnat; mark-for-masquerade `mark set mark or "
        "0x4000`, masquerading `mark and 0x4000 == 0 return`)"};
    o.nft_tables = {"kube-proxy"};
    NodeFootprint& f = o.footprint;
    f.marks.push_back(mark(MarkField::packet, true, 0x4000, 0x4000,
                           "nft table ip kube-proxy chain mark-for-masquerade: mark set mark or "
                           "0x4000",
                           "kube-proxy"));
    f.marks.push_back(mark(MarkField::packet, false, 0, 0x4000,
                           "nft table ip kube-proxy chain masquerading: mark and 0x4000 == 0 "
                           "return",
                           "kube-proxy"));
    f.chains.push_back(chain("ip", Hook::prerouting, -110,
                             "nft table ip kube-proxy chain filter-prerouting (filter, priority "
                             "-110)",
                             "kube-proxy", false, 0, false));
    f.chains.push_back(chain("ip", Hook::prerouting, -100,
                             "nft table ip kube-proxy chain nat-prerouting (nat, priority -100)",
                             "kube-proxy", false, 0x4000, true));
    f.chains.push_back(chain("ip", Hook::output, -100,
                             "nft table ip kube-proxy chain nat-output (nat, priority -100)",
                             "kube-proxy", false, 0x4000, true));
    f.chains.push_back(chain("ip", Hook::postrouting, 100,
                             "nft table ip kube-proxy chain nat-postrouting (nat, priority 100)",
                             "kube-proxy", true, 0x4000, true));
    owners.push_back(std::move(o));
  }
  {
    KnownOwner o;
    o.name = "flannel";
    o.display = "Flannel";
    o.sources = {
        "flannel-io/flannel Documentation/backends.md (vxlan: device flannel.<VNI>, VNI 1, "
        "\"Port ... On Linux, defaults to kernel default, currently 8472\")"};
    o.chain_prefixes = {"FLANNEL-"};
    o.devices = {"flannel.1"};
    o.footprint.tunnels.push_back({"flannel.1", "vxlan", 8472});
    owners.push_back(std::move(o));
  }
  {
    KnownOwner o;
    o.name = "ovn-kubernetes";
    o.display = "OVN-Kubernetes";
    o.sources = {
        "ovn-org/ovn-kubernetes go-controller metrics (geneveInterfaceName \"genev_sys_6081\": "
        "the OVS geneve device on udp/6081)",
        "https://github.com/istio/istio/issues/45831 (ambient's geneve on 6081 collides with "
        "OVN-Kubernetes')"};
    o.devices = {"genev_sys_6081", "ovn-k8s-mp0", "br-int"};
    o.footprint.tunnels.push_back({"genev_sys_6081", "geneve", 6081});
    owners.push_back(std::move(o));
  }
  {
    KnownOwner o;
    o.name = "aws-vpc-cni";
    o.display = "AWS VPC CNI";
    o.sources = {
        "aws/amazon-vpc-cni-k8s pkg/networkutils/network.go (AWS_VPC_K8S_CNI_CONNMARK, "
        "defaultConnmark 0x80: CONNMARK on the primary ENI, restored to the packet mark for "
        "`fwmark 0x80/0x80 lookup main` at priority 1024; chains AWS-CONNMARK-CHAIN-*, "
        "AWS-SNAT-CHAIN-*)",
        "aws/amazon-vpc-cni-k8s docs/cni-proposal.md (rules 512 to-pod lookup main, 1024 fwmark, "
        "1536 from-pod lookup per-ENI table)"};
    o.chain_prefixes = {"AWS-CONNMARK-CHAIN", "AWS-SNAT-CHAIN"};
    NodeFootprint& f = o.footprint;
    f.marks.push_back(mark(MarkField::conntrack, true, 0x80, 0x80,
                           "iptables -t mangle AWS-CONNMARK-CHAIN: CONNMARK --set-xmark 0x80/0x80",
                           "AWS-CONNMARK-CHAIN-0"));
    f.marks.push_back(mark(MarkField::packet, true, 0x80, 0x80,
                           "iptables -t mangle PREROUTING: CONNMARK --restore-mark --mask 0x80",
                           "AWS-CONNMARK-CHAIN-0"));
    f.rules.push_back(rule(v4, 1024, 0x80, 0x80, true, 254,
                           "ip rule 1024: fwmark 0x80/0x80 lookup main (AWS VPC CNI)"));
    owners.push_back(std::move(o));
  }
  {
    KnownOwner o;
    o.name = "systemd-networkd";
    o.display = "systemd-networkd";
    o.sources = {
        "https://www.freedesktop.org/software/systemd/man/latest/networkd.conf.html "
        "(ManageForeignRoutingPolicyRules= and ManageForeignRoutes=, both default yes: rules and "
        "routes networkd did not configure are removed)",
        "cilium/cilium pkg/datapath/linux/linux_defaults/linux_defaults.go (RTProto: Cilium uses "
        "proto kernel so networkd leaves its rules alone)"};
    o.footprint.rule_removers.push_back(
        "systemd-networkd with ManageForeignRoutingPolicyRules=yes (its default)");
    owners.push_back(std::move(o));
  }
  return owners;
}

bool has_prefix(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

const std::vector<KnownOwner>& known_owners() {
  static const std::vector<KnownOwner> owners = build();
  return owners;
}

const KnownOwner* find_owner(const std::string& name) {
  for (const KnownOwner& owner : known_owners()) {
    if (owner.name == name) return &owner;
  }
  return nullptr;
}

std::string owner_of_name(const std::string& name) {
  if (name.empty()) return "";
  if (has_prefix(name, "rule:")) {  // rule:PRIORITY:TABLE, for mark uses of ip rules
    size_t colon = name.find(':', 5);
    if (colon == std::string::npos) return "";
    return owner_of_rule(static_cast<uint32_t>(std::stoul(name.substr(5, colon - 5))),
                         static_cast<uint32_t>(std::stoul(name.substr(colon + 1))));
  }
  for (const KnownOwner& owner : known_owners()) {
    for (const std::string& table : owner.nft_tables) {
      if (name == table) return owner.display;
    }
    for (const std::string& prefix : owner.chain_prefixes) {
      if (has_prefix(name, prefix)) return owner.display;
    }
    for (const std::string& device : owner.devices) {
      if (name == device) return owner.display;
    }
  }
  return "";
}

std::string owner_of_rule(uint32_t priority, uint32_t table) {
  for (const KnownOwner& owner : known_owners()) {
    for (const NodeIpRule& known : owner.footprint.rules) {
      if (known.priority == priority && known.table == table) return owner.display;
    }
  }
  return "";
}

}  // namespace ztc::preflight
