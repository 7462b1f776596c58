"""The ambient node, built from network namespaces (see README.md for the diagram).

One Topology = one complete, isolated copy: node, ztunnel pod, enrolled pod A, non-enrolled pod B,
remote node (other node's pods, peer node IP, default gateway, "internet"), and for the first edition
the cputunnel peer. Two copies are built per comparison, one per side, with identical addressing.
Interface names are per namespace, so both copies use the same names.
"""

from dataclasses import dataclass

import netns

# ---- addressing (identical in every copy) ---------------------------------------------------
HOST = "10.244.1.1"        # node's pod-CIDR gateway IP ("host IP")
ZT = "10.244.1.12"         # ztunnel pod
POD_A = "10.244.1.21"      # enrolled in the mesh
POD_B = "10.244.1.22"      # not enrolled
RPOD = "10.244.0.5"        # a pod on the remote node
NODE_UP = "192.168.50.131" # node's uplink address
PEER = "192.168.50.130"    # remote node (first edition: the paired node, rule 98 / table 105)
GW = "192.168.50.2"        # default gateway (also on the remote namespace)
NET = "203.0.113.10"       # somewhere outside the cluster, behind the gateway
VIP = "10.96.0.10"         # kube-proxy service VIP (tcp/80 -> RPOD:8080, udp/53 -> RPOD:5353)
IN_NODE, IN_ZT = "192.168.126.1", "192.168.126.2"    # istioin / pistioin
OUT_NODE, OUT_ZT = "192.168.127.1", "192.168.127.2"  # istioout / pistioout
CPU_GW, CPU_NODE = "192.168.128.1", "192.168.128.2"  # first edition: cputunnel peer / node end

# ---- interface names in the node namespace ----------------------------------------------------
ZT_VETH = "vzt"       # node end of the ztunnel pod's veth (veth1ae58883 in the dump)
POD_A_VETH = "vpa"
POD_B_VETH = "vpb"
UPLINK = "upl0"       # ens32 in the dump
CPUTUN = "cputunnel"

VNI_IN, VNI_OUT = 1000, 1001
TUN_PORT = 6081                 # geneve's port; VXLAN stands in for geneve (no geneve driver here)
TUN_SRCPORTS = (50000, 50999)   # VXLAN source ports: kept clear of the probe port range

# Probe ports: every probe flow has its own source port in this range (see probes.py).
PROBE_PORTS = (40000, 40999)

EDITIONS = ("second", "first")

ROLES_BASE = ("node", "zt", "pod_a", "pod_b", "remote")


def mac(n):
    return f"02:7a:6c:00:{n >> 8:02x}:{n & 0xff:02x}"


# One MAC per interface, so every neighbour entry can be static (no ARP in the lab).
MACS = {
    ("node", ZT_VETH): mac(1), ("zt", "eth0"): mac(2),
    ("node", POD_A_VETH): mac(3), ("pod_a", "eth0"): mac(4),
    ("node", POD_B_VETH): mac(5), ("pod_b", "eth0"): mac(6),
    ("node", UPLINK): mac(7), ("remote", "eth0"): mac(8),
    ("node", CPUTUN): mac(9), ("cpu", "eth0"): mac(10),
    ("node", "istioin"): mac(11), ("zt", "pistioin"): mac(12),
    ("node", "istioout"): mac(13), ("zt", "pistioout"): mac(14),
}

# Receivers drop probe packets before their own stack sees them (no RST / ICMP answers that would
# change the node's conntrack state); packet sockets record them first (taps run before netfilter).
RECEIVER_NFT = f"""
table ip zlab_rx {{
	chain drop_probes {{
		type filter hook prerouting priority -500; policy accept;
		th sport {PROBE_PORTS[0]}-{PROBE_PORTS[1]} drop
		th dport {PROBE_PORTS[0]}-{PROBE_PORTS[1]} drop
	}}
}}
"""


@dataclass
class Topology:
    prefix: str      # e.g. zl-1234-r
    edition: str     # "second" (ambient-node) or "first" (ambient-offmesh)

    @property
    def roles(self):
        return ROLES_BASE + (("cpu",) if self.edition == "first" else ())

    @property
    def receivers(self):
        """Namespaces where probe packets can end up (the node is observed by its nft table)."""
        return tuple(r for r in self.roles if r != "node")

    def ns(self, role):
        return f"{self.prefix}-{role}"

    # ------------------------------------------------------------------------------------------
    def build(self):
        netns.create([self.ns(r) for r in self.roles])
        for r in self.roles:
            sysctls = {
                "ipv6/conf/all/disable_ipv6": 1,     # no ND/MLD chatter
                "ipv6/conf/default/disable_ipv6": 1,
                "ipv4/conf/all/rp_filter": 0,
                "ipv4/conf/default/rp_filter": 0,
                "ipv4/ip_forward": 1 if r == "node" else 0,
            }
            netns.write_sysctls(self.ns(r), sysctls)
        netns.ip_batch(self.ns("node"), self._node_cmds())
        netns.ip_batch(self.ns("zt"), self._zt_cmds())
        for role, addr, veth in (("pod_a", POD_A, POD_A_VETH), ("pod_b", POD_B, POD_B_VETH)):
            netns.ip_batch(self.ns(role), self._pod_cmds(role, addr, veth))
        netns.ip_batch(self.ns("remote"), self._remote_cmds())
        if self.edition == "first":
            netns.ip_batch(self.ns("cpu"), self._cpu_cmds())
        for r in self.receivers:
            netns.run(["nft", "-f", "-"], ns=self.ns(r), input=RECEIVER_NFT)

    def destroy(self):
        return netns.delete([self.ns(r) for r in reversed(self.roles)])

    # ------------------------------------------------------------------------------------------
    def _veth(self, node_if, role):
        return (f"link add {node_if} address {MACS[('node', node_if)]} type veth "
                f"peer name eth0 address {MACS[(role, 'eth0')]} netns {self.ns(role)}")

    def _node_cmds(self):
        first = self.edition == "first"
        c = ["link set lo up",
             self._veth(ZT_VETH, "zt"), self._veth(POD_A_VETH, "pod_a"),
             self._veth(POD_B_VETH, "pod_b"), self._veth(UPLINK, "remote")]
        if first:
            c.append(self._veth(CPUTUN, "cpu"))
        # kindnet/ptp style: the host IP sits on every pod veth, one /32 route per pod.
        for dev in (ZT_VETH, POD_A_VETH, POD_B_VETH):
            c += [f"addr add {HOST}/32 dev {dev}", f"link set {dev} up"]
        c += [f"addr add {NODE_UP}/24 dev {UPLINK}", f"link set {UPLINK} up"]
        if first:
            c += [f"addr add {CPU_NODE}/30 dev {CPUTUN}", f"link set {CPUTUN} up"]
        for name, vni, addr in (("istioin", VNI_IN, IN_NODE), ("istioout", VNI_OUT, OUT_NODE)):
            c += [f"link add {name} address {MACS[('node', name)]} type vxlan id {vni} remote {ZT} "
                  f"dstport {TUN_PORT} srcport {TUN_SRCPORTS[0]} {TUN_SRCPORTS[1]} nolearning",
                  f"addr add {addr}/30 dev {name}", f"link set {name} up"]
        c += [f"route add {ZT} dev {ZT_VETH} scope link",
              f"route add {POD_A} dev {POD_A_VETH} scope link",
              f"route add {POD_B} dev {POD_B_VETH} scope link",
              f"route add 10.244.0.0/24 via {PEER} dev {UPLINK}",
              f"route add default via {GW} dev {UPLINK}"]
        neigh = [(ZT, ZT_VETH, ("zt", "eth0")), (POD_A, POD_A_VETH, ("pod_a", "eth0")),
                 (POD_B, POD_B_VETH, ("pod_b", "eth0")), (PEER, UPLINK, ("remote", "eth0")),
                 (GW, UPLINK, ("remote", "eth0")), (IN_ZT, "istioin", ("zt", "pistioin")),
                 (OUT_ZT, "istioout", ("zt", "pistioout"))]
        if first:
            neigh.append((CPU_GW, CPUTUN, ("cpu", "eth0")))
        c += [f"neigh add {a} lladdr {MACS[m]} dev {d} nud permanent" for a, d, m in neigh]
        return c

    def _zt_cmds(self):
        c = ["link set lo up", "link set eth0 up", f"addr add {ZT}/32 dev eth0",
             f"route add {HOST} dev eth0 scope link", f"route add default via {HOST} dev eth0",
             f"neigh add {HOST} lladdr {MACS[('node', ZT_VETH)]} dev eth0 nud permanent"]
        for name, vni, addr, peer in (("pistioin", VNI_IN, IN_ZT, IN_NODE),
                                      ("pistioout", VNI_OUT, OUT_ZT, OUT_NODE)):
            node_if = "istioin" if name == "pistioin" else "istioout"
            c += [f"link add {name} address {MACS[('zt', name)]} type vxlan id {vni} remote {HOST} "
                  f"dstport {TUN_PORT} srcport {TUN_SRCPORTS[0]} {TUN_SRCPORTS[1]} nolearning",
                  f"addr add {addr}/30 dev {name}", f"link set {name} up",
                  f"neigh add {peer} lladdr {MACS[('node', node_if)]} dev {name} nud permanent"]
        # The lab's fake ztunnel picks a tunnel with the socket mark: 0x1 -> pistioin, 0x2 ->
        # pistioout. The tunnel's own (outer) packet inherits the mark, hence the host route.
        for mark, table, via, dev in ((1, 201, IN_NODE, "pistioin"), (2, 202, OUT_NODE, "pistioout")):
            c += [f"rule add pref {1000 + mark} fwmark {mark}/0xff lookup {table}",
                  f"route add {HOST} dev eth0 scope link table {table}",
                  f"route add default via {via} dev {dev} table {table}"]
        return c

    def _pod_cmds(self, role, addr, node_veth):
        return ["link set lo up", "link set eth0 up", f"addr add {addr}/32 dev eth0",
                f"route add {HOST} dev eth0 scope link", f"route add default via {HOST} dev eth0",
                f"neigh add {HOST} lladdr {MACS[('node', node_veth)]} dev eth0 nud permanent"]

    def _remote_cmds(self):
        return ["link set lo up", "link set eth0 up",
                f"addr add {PEER}/24 dev eth0", f"addr add {GW}/24 dev eth0",
                f"addr add {RPOD}/32 dev lo", f"addr add {NET}/32 dev lo",
                f"route add 10.244.1.0/24 via {NODE_UP} dev eth0",
                f"neigh add {NODE_UP} lladdr {MACS[('node', UPLINK)]} dev eth0 nud permanent"]

    def _cpu_cmds(self):
        return ["link set lo up", "link set eth0 up", f"addr add {CPU_GW}/30 dev eth0",
                f"route add default via {CPU_NODE} dev eth0",
                f"neigh add {CPU_NODE} lladdr {MACS[('node', CPUTUN)]} dev eth0 nud permanent"]
