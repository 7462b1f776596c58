"""Probes: crafted packets sent from inside the lab namespaces, and what became of them.

Every probe is one flow with its own port U (from topology.PROBE_PORTS): its first step is sent from
port U, an optional second step is the peer's answer to port U (a SYN-ACK that matches the node's
conntrack entry, so connmark paths are exercised). Packets are built by hand (IP_HDRINCL raw sockets,
standard library only) so that a probe is exactly one packet, with any source address the scenario
needs (ztunnel speaking with a pod's IP, tunnel traffic with the host's IP, ...).

Observations (per probe, compared between sides):
  - at the node (observer table, env.py): where it entered, where it left (address, port and
    interface after NAT), or that it was delivered to the node; its final mark and ct mark;
  - at the receivers: on which namespace/interface it arrived, with its addresses as received.
"""

import select
import socket
import struct
from dataclasses import dataclass, field

import netns
import topology as T
from topology import HOST, IN_ZT, NET, NODE_UP, OUT_ZT, PEER, POD_A, POD_B, RPOD, VIP, ZT

PACKET_OUTGOING = 4
SO_MARK = 36
ETH_P_IP = 0x0800
TCP_SYN, TCP_ACK = 0x02, 0x10
SEQ_FWD, SEQ_REPLY = 1000, 5000


@dataclass
class Step:
    sender: str          # role of the namespace that sends it
    src: str
    dst: str
    proto: str           # "tcp" | "udp"
    port: int            # service port: destination of a forward step, source of a reply
    reply: bool = False  # an answer to the probe's first step (to port U)
    sockmark: int = 0    # SO_MARK on the sending socket (zt: 1 = via pistioin, 2 = via pistioout)


@dataclass
class Probe:
    name: str
    what: str
    steps: list
    covers: str = ""               # which reference rules (see README) it is there for
    ctbit: bool = False            # the flow's ct mark carries bit 0x1 before capture rules run
    markbit: bool = False          # the packet carries mark bit 0x1000 before capture rules run
    catches: tuple = ()            # naive mistakes this probe must expose
    expect: dict = field(default_factory=dict)  # edition -> ["where mark" per step] (reference)
    port: int = 0                  # U, assigned below


def fwd(sender, src, dst, proto, port, sockmark=0):
    return Step(sender, src, dst, proto, port, sockmark=sockmark)


def rep(sender, src, dst, proto, port):
    return Step(sender, src, dst, proto, port, reply=True)


def both(*per_step):
    return {"second": list(per_step), "first": list(per_step)}


PROBES = [
    # ---- enrolled pod A ------------------------------------------------------------------------
    Probe("podA-tcp-remote", "enrolled pod TCP to a pod on the other node: captured to ztunnel",
          [fwd("pod_a", POD_A, RPOD, "tcp", 80)], "PRE#15 (ipset) nat PRE/POST ACCEPT, rule 101",
          expect=both("zt/pistioout 0x100")),
    Probe("podA-tcp-internet", "enrolled pod TCP leaving the cluster: captured, NOT masqueraded",
          [fwd("pod_a", POD_A, NET, "tcp", 443)], "PRE#15, nat POST ACCEPT vs kind-masq-agent",
          catches=("naive-nat",), expect=both("zt/pistioout 0x100")),
    Probe("podA-tcp-vip", "enrolled pod TCP to the service VIP: captured, NOT DNATed by kube-proxy",
          [fwd("pod_a", POD_A, VIP, "tcp", 80)], "PRE#15, nat PRE ACCEPT vs KUBE-SERVICES",
          catches=("naive-nat",), expect=both("zt/pistioout 0x100")),
    Probe("podA-udp-remote", "enrolled pod UDP: not captured (all UDP gets 0x220)",
          [fwd("pod_a", POD_A, RPOD, "udp", 53)], "PRE#13 (-p udp), FWD save 0x220",
          expect=both("remote/eth0 0x220")),
    Probe("podA-udp-vip", "enrolled pod UDP to the VIP: kube-proxy DNATs it",
          [fwd("pod_a", POD_A, VIP, "udp", 53)], "PRE#13, KUBE-SERVICES DNAT",
          expect=both("remote/eth0 0x220")),
    Probe("podA-tcp-node", "enrolled pod TCP to the node itself",
          [fwd("pod_a", POD_A, HOST, "tcp", 10250)], "PRE#15, local delivery, INPUT (no save)",
          expect=both("node/vpa 0x100")),
    Probe("podA-tcp-ztunnel", "enrolled pod TCP to the ztunnel pod IP (table 101's host route)",
          [fwd("pod_a", POD_A, ZT, "tcp", 15008)], "PRE#15, rule 101 / table 101 ztunnel route",
          expect=both("zt/eth0 0x100")),
    Probe("podA-tcp-peer", "enrolled pod TCP to the peer node IP (first edition: rule 98 first)",
          [fwd("pod_a", POD_A, PEER, "tcp", 10250)], "PRE#15, rule 98/table 105 (first)",
          expect={"second": ["zt/pistioout 0x100"], "first": ["remote/eth0 0x100"]}),
    Probe("podA-tcp-markbit", "enrolled pod TCP whose packet already has mark bit 0x1000",
          [fwd("pod_a", POD_A, RPOD, "tcp", 80)], "PRE#15 is mark |= 0x100, not mark = 0x100",
          markbit=True, expect=both("zt/pistioout 0x1100")),
    Probe("podA-udp-ctbit", "enrolled pod UDP on a flow whose ct mark already has bit 0x1",
          [fwd("pod_a", POD_A, RPOD, "udp", 53)], "FWD save 0x220 keeps other ct bits",
          ctbit=True, catches=("naive-ct",), expect=both("remote/eth0 0x220")),
    Probe("udp6081-podA", "enrolled pod UDP to port 6081 (geneve): returns before the UDP rule",
          [fwd("pod_a", POD_A, RPOD, "udp", 6081)], "PRE#5 (udp dport 6081 RETURN)",
          expect=both("remote/eth0 0x0")),
    # ---- pod B, not enrolled -------------------------------------------------------------------
    Probe("podB-tcp-remote", "non-enrolled pod TCP: untouched",
          [fwd("pod_b", POD_B, RPOD, "tcp", 80)], "falls through PRE, main table",
          expect=both("remote/eth0 0x0")),
    Probe("podB-tcp-internet", "non-enrolled pod TCP leaving the cluster: masqueraded (2nd ed.)",
          [fwd("pod_b", POD_B, NET, "tcp", 443)], "KIND-MASQ-AGENT runs (no capture)",
          expect=both("remote/eth0 0x0")),
    Probe("podB-tcp-vip", "non-enrolled pod TCP to the VIP, and the backend's answer",
          [fwd("pod_b", POD_B, VIP, "tcp", 80), rep("remote", RPOD, POD_B, "tcp", 8080)],
          "KUBE-SERVICES DNAT and its reverse", expect=both("remote/eth0 0x0", "pod_b/eth0 0x0")),
    Probe("podB-udp-node-ctbit", "non-enrolled pod UDP to the node, flow with ct mark bit 0x1",
          [fwd("pod_b", POD_B, HOST, "udp", 53)], "PRE#13, INPUT save 0x220 keeps other ct bits",
          ctbit=True, catches=("naive-ct",), expect=both("node/vpb 0x220")),
    Probe("podB-tcp-podA", "inbound: non-enrolled pod to the enrolled pod goes via istioin",
          [fwd("pod_b", POD_B, POD_A, "tcp", 8080)], "rule 103 / table 100 pod route",
          expect=both("zt/pistioin 0x0")),
    Probe("udp6081-podB", "non-enrolled pod UDP to port 6081",
          [fwd("pod_b", POD_B, RPOD, "udp", 6081)], "PRE#5",
          expect=both("remote/eth0 0x0")),
    # ---- the remote node -----------------------------------------------------------------------
    Probe("remote-tcp-podA", "inbound from the other node to the enrolled pod: via istioin",
          [fwd("remote", RPOD, POD_A, "tcp", 8080)], "rule 103 / table 100",
          expect=both("zt/pistioin 0x0")),
    Probe("remote-udp-podA", "inbound UDP to the enrolled pod: skip bit, straight to the pod",
          [fwd("remote", RPOD, POD_A, "udp", 5353)], "PRE#13, rule 100 goto main",
          expect=both("pod_a/eth0 0x220")),
    Probe("remote-tcp-podB", "inbound to the non-enrolled pod",
          [fwd("remote", RPOD, POD_B, "tcp", 8080)], "main table",
          expect=both("pod_b/eth0 0x0")),
    # ---- ztunnel -------------------------------------------------------------------------------
    Probe("zt-own-tcp", "ztunnel's own connection out, and the remote's answer",
          [fwd("zt", ZT, RPOD, "tcp", 80), rep("remote", RPOD, ZT, "tcp", 80)],
          "PRE#12, FWD save 0x220; answer: PRE#6-7 (connmark 0x220)",
          expect=both("remote/eth0 0x220", "zt/eth0 0x200")),
    Probe("zt-own-tcp-ctbit", "the same on a flow whose ct mark already has bit 0x1",
          [fwd("zt", ZT, RPOD, "tcp", 80), rep("remote", RPOD, ZT, "tcp", 80)],
          "FWD save 0x220 keeps other ct bits; connmark match is a mask match",
          ctbit=True, catches=("naive-ct",), expect=both("remote/eth0 0x220", "zt/eth0 0x200")),
    Probe("zt-own-udp", "ztunnel's own UDP",
          [fwd("zt", ZT, RPOD, "udp", 53)], "PRE#12 (and #13)",
          expect=both("remote/eth0 0x220")),
    Probe("zt-proxy-tcp", "ztunnel with the enrolled pod's source IP, and the remote's answer",
          [fwd("zt", POD_A, RPOD, "tcp", 80), rep("remote", RPOD, POD_A, "tcp", 80)],
          "PRE#10-11, FWD save 0x210; answer: PRE#8-9 (connmark 0x210), rule 102 / table 102",
          expect=both("remote/eth0 0x210", "zt/eth0 0x40")),
    Probe("zt-proxy-tcp-ctbit", "the same on a flow whose ct mark already has bit 0x1",
          [fwd("zt", POD_A, RPOD, "tcp", 80), rep("remote", RPOD, POD_A, "tcp", 80)],
          "FWD save 0x210 keeps other ct bits", ctbit=True, catches=("naive-ct",),
          expect=both("remote/eth0 0x210", "zt/eth0 0x40")),
    Probe("zt-proxy-podA", "ztunnel delivering to the enrolled pod with a peer's source IP, "
          "and the pod's answer (must go back to ztunnel, not be captured again)",
          [fwd("zt", POD_B, POD_A, "tcp", 8080), rep("pod_a", POD_A, POD_B, "tcp", 8080)],
          "PRE#10-11 + rule 100; answer: PRE#8-9 before PRE#15",
          expect=both("pod_a/eth0 0x210", "zt/eth0 0x40")),
    Probe("zt-proxy-markbit", "ztunnel with a pod's source IP, packet already has mark bit 0x1000",
          [fwd("zt", POD_B, RPOD, "tcp", 80)], "PRE#10 is mark |= 0x210; FWD saves only 0x210",
          markbit=True, expect=both("remote/eth0 0x1210")),
    Probe("zt-own-node", "ztunnel's own connection to the node",
          [fwd("zt", ZT, HOST, "tcp", 15000)], "PRE#12, INPUT save 0x220",
          expect=both("node/vzt 0x220")),
    Probe("zt-proxy-node", "ztunnel to the node with a pod's source IP",
          [fwd("zt", POD_A, HOST, "tcp", 15001)], "PRE#10, INPUT save 0x210",
          expect=both("node/vzt 0x210")),
    # ---- the tunnels (VXLAN VNI 1000/1001 on udp/6081 standing in for geneve) ------------------
    Probe("tunnel-in", "from ztunnel through pistioin -> istioin, to pod B",
          [fwd("zt", IN_ZT, POD_B, "tcp", 8080, sockmark=1)],
          "PRE#1-2 (istioin), PRE#5 (outer udp/6081); first edition: 0x240 -> rule 99, cputunnel",
          expect={"second": ["pod_b/eth0 0x200"], "first": ["cpu/eth0 0x240"]}),
    Probe("tunnel-out", "from ztunnel through pistioout -> istioout, to the other node",
          [fwd("zt", OUT_ZT, RPOD, "tcp", 80, sockmark=2)], "PRE#3-4 (istioout), PRE#5",
          expect={"second": ["remote/eth0 0x200"], "first": ["cpu/eth0 0x240"]}),
    Probe("tunnel-in-hostsrc", "through istioin with the host IP as source (accept_local)",
          [fwd("zt", HOST, POD_A, "tcp", 8080, sockmark=1)], "PRE#1-2, accept_local on istioin",
          expect={"second": ["pod_a/eth0 0x200"], "first": ["cpu/eth0 0x240"]}),
    Probe("tunnel-out-podsrc", "through istioout with the enrolled pod's source IP: not re-captured",
          [fwd("zt", POD_A, RPOD, "tcp", 80, sockmark=2)], "PRE#3-4 return before PRE#15",
          expect={"second": ["remote/eth0 0x200"], "first": ["cpu/eth0 0x240"]}),
    Probe("tunnel-out-peer", "through istioout to the peer node IP (first edition: rule 98)",
          [fwd("zt", OUT_ZT, PEER, "tcp", 10250, sockmark=2)], "PRE#3-4; rule 98 / table 105",
          expect={"second": ["remote/eth0 0x200"], "first": ["remote/eth0 0x240"]}),
    # ---- the node's own traffic ------------------------------------------------------------------
    Probe("host-podA", "the host IP probing the enrolled pod (kubelet), and the pod's answer",
          [fwd("node", HOST, POD_A, "tcp", 8080), rep("pod_a", POD_A, HOST, "tcp", 8080)],
          "OUTPUT mark = 0x220, re-routed via main (not istioin)",
          expect=both("pod_a/eth0 0x220", "node/vpa 0x100")),
    Probe("host-podA-sockmark", "the same from a socket that already marks 0x1000",
          [fwd("node", HOST, POD_A, "tcp", 8081, sockmark=0x1000)],
          "OUTPUT --set-xmark 0x220/0xffffffff overwrites the whole mark",
          expect=both("pod_a/eth0 0x220")),
    Probe("host-podA-upsrc", "the node to the enrolled pod from its uplink address",
          [fwd("node", NODE_UP, POD_A, "tcp", 8080)], "OUTPUT does not match: table 100 -> istioin",
          expect=both("zt/pistioin 0x0")),
    Probe("host-remote-upsrc", "the node to the other node from its uplink address",
          [fwd("node", NODE_UP, RPOD, "tcp", 80)], "OUTPUT does not match",
          expect=both("remote/eth0 0x0")),
    Probe("host-vip", "the host IP to the service VIP (nat OUTPUT DNAT after the mark)",
          [fwd("node", HOST, VIP, "tcp", 80)], "OUTPUT 0x220, KUBE-SERVICES in nat OUTPUT",
          expect=both("remote/eth0 0x220")),
]

for _i, _p in enumerate(PROBES):
    _p.port = T.PROBE_PORTS[0] + 1 + _i
assert len({p.name for p in PROBES}) == len(PROBES)
assert PROBES[-1].port <= T.PROBE_PORTS[1]


def probes_for(edition):
    return [p for p in PROBES if edition in p.expect]


# ---- packets -----------------------------------------------------------------------------------
def _csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def build_packet(step, probe):
    sport, dport = (step.port, probe.port) if step.reply else (probe.port, step.port)
    src, dst = socket.inet_aton(step.src), socket.inet_aton(step.dst)
    payload = f"ztc-lab {probe.name}".encode()
    if step.proto == "tcp":
        proto = socket.IPPROTO_TCP
        flags, seq, ack = ((TCP_SYN | TCP_ACK, SEQ_REPLY, SEQ_FWD + 1) if step.reply
                           else (TCP_SYN, SEQ_FWD, 0))
        payload = b""  # a real SYN carries no data
        l4 = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0)
        pseudo = src + dst + struct.pack("!BBH", 0, proto, len(l4))
        l4 = l4[:16] + struct.pack("!H", _csum(pseudo + l4)) + l4[18:]
    else:
        proto = socket.IPPROTO_UDP
        length = 8 + len(payload)
        l4 = struct.pack("!HHHH", sport, dport, length, 0) + payload
        pseudo = src + dst + struct.pack("!BBH", 0, proto, length)
        c = _csum(pseudo + l4) or 0xFFFF
        l4 = l4[:6] + struct.pack("!H", c) + l4[8:]
    total = 20 + len(l4)
    # id 0 and checksum 0: the kernel fills both for IP_HDRINCL sockets.
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, proto, 0, src, dst)
    return iph + l4


def parse_ip(data):
    if len(data) < 20 or data[0] >> 4 != 4:
        return None
    ihl = (data[0] & 0x0F) * 4
    proto = data[9]
    src, dst = socket.inet_ntoa(data[12:16]), socket.inet_ntoa(data[16:20])
    if proto not in (6, 17) or len(data) < ihl + 4:
        return None
    sport, dport = struct.unpack("!HH", data[ihl:ihl + 4])
    return {"proto": "tcp" if proto == 6 else "udp", "src": src, "dst": dst,
            "sport": sport, "dport": dport}


# ---- running -----------------------------------------------------------------------------------
class Wire:
    """Raw senders and packet-socket receivers, each created inside its lab namespace."""

    def __init__(self, topo):
        self.topo = topo
        self.senders, self.receivers = {}, {}
        try:
            for role in topo.roles:
                with netns.inside(topo.ns(role)):
                    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
                    self.senders[role] = s
                    if role in topo.receivers:
                        r = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
                        r.setblocking(False)
                        r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                        self.receivers[role] = r
        except BaseException:
            self.close()
            raise

    def close(self):
        for s in list(self.senders.values()) + list(self.receivers.values()):
            s.close()
        self.senders, self.receivers = {}, {}

    def send(self, step, probe):
        s = self.senders[step.sender]
        s.setsockopt(socket.SOL_SOCKET, SO_MARK, step.sockmark)
        s.sendto(build_packet(step, probe), (step.dst, 0))

    def drain(self, quiet=0.12, limit=3.0):
        """Collect arrivals until nothing arrived for `quiet` seconds (at most `limit`)."""
        got = []
        socks = {s.fileno(): (role, s) for role, s in self.receivers.items()}
        deadline = netns.Deadline(limit)
        while deadline:
            ready, _, _ = select.select(list(socks), [], [], min(quiet, deadline.left()))
            if not ready:
                break
            for fd in ready:
                role, s = socks[fd]
                for _ in range(256):
                    try:
                        data, addr = s.recvfrom(65535)
                    except BlockingIOError:
                        break
                    if addr[2] == PACKET_OUTGOING:
                        continue
                    pkt = parse_ip(data)
                    if pkt and (in_range(pkt["sport"]) or in_range(pkt["dport"])):
                        pkt.update(role=role, ifname=addr[0])
                        got.append(pkt)
        return got


def in_range(port):
    return T.PROBE_PORTS[0] <= port <= T.PROBE_PORTS[1]


def send_all(wire, probes, step_index):
    sent = False
    for p in probes:
        if step_index < len(p.steps):
            wire.send(p.steps[step_index], p)
            sent = True
    return sent


def run(topo, probes, between=None):
    """Send every probe (all first steps, then all second steps); return raw arrivals.

    `between(probe)` if given is called after each probe is complete and probes are then sent one at
    a time (coverage mode)."""
    arrivals = []
    wire = Wire(topo)
    try:
        if between is None:
            for k in range(max(len(p.steps) for p in probes)):
                if send_all(wire, probes, k):
                    arrivals += wire.drain()
        else:
            for p in probes:
                for k in range(len(p.steps)):
                    send_all(wire, [p], k)
                    arrivals += wire.drain(quiet=0.06)
                between(p)
    finally:
        wire.close()
    return arrivals


# ---- observations ------------------------------------------------------------------------------
def _ep(addr, port):
    return f"{addr}:{port}"


def observe(probes, node_sets, arrivals):
    """{probe name: sorted tuple of observation lines}; and {probe name: [summary per step]}."""
    by_port = {p.port: p for p in probes}
    lines = {p.name: [] for p in probes}
    where = {p.name: {} for p in probes}   # direction -> set of "role/if"
    marks = {p.name: {} for p in probes}   # direction -> set of marks
    cts = {p.name: {} for p in probes}     # direction -> set of ct marks
    seen = {p.name: {} for p in probes}    # direction -> set of (src, dst:port) where it ended

    def owner(sport, dport):
        if sport in by_port:
            return by_port[sport], "->"
        if dport in by_port:
            return by_port[dport], "<-"
        return None, None

    for kind, label in (("pre", "enter"), ("post", "leave"), ("in", "local")):
        for sport, dport, saddr, daddr, ifname in node_sets.get(kind, []):
            p, d = owner(sport, dport)
            if not p:
                continue
            io = "iif" if kind != "post" else "oif"
            lines[p.name].append(f"{d} node {label} {io}={ifname} "
                                 f"{_ep(saddr, sport)} > {_ep(daddr, dport)}")
            if kind == "in":
                where[p.name].setdefault(d, set()).add(f"node/{ifname}")
                seen[p.name].setdefault(d, set()).add((saddr, sport, daddr, dport))
    for kind, label in (("postm", "leave"), ("inm", "local")):
        for sport, dport, mark, ctmark in node_sets.get(kind, []):
            p, d = owner(sport, dport)
            if not p:
                continue
            lines[p.name].append(f"{d} node {label} mark={mark:#x} ct={ctmark:#x}")
            marks[p.name].setdefault(d, set()).add(mark)
            cts[p.name].setdefault(d, set()).add(ctmark)
    for a in arrivals:
        p, d = owner(a["sport"], a["dport"])
        if not p:
            continue
        lines[p.name].append(f"{d} arrived {a['role']}/{a['ifname']} {a['proto']} "
                             f"{_ep(a['src'], a['sport'])} > {_ep(a['dst'], a['dport'])}")
        where[p.name].setdefault(d, set()).add(f"{a['role']}/{a['ifname']}")
        seen[p.name].setdefault(d, set()).add((a["src"], a["sport"], a["dst"], a["dport"]))

    obs, summary = {}, {}
    for p in probes:
        obs[p.name] = tuple(sorted(set(lines[p.name])))
        steps = []
        for k, st in enumerate(p.steps):
            d = "<-" if st.reply else "->"
            w = ",".join(sorted(where[p.name].get(d, ()))) or "nowhere"
            m = ",".join(f"{x:#x}" for x in sorted(marks[p.name].get(d, ()))) or "-"
            c = ",".join(f"{x:#x}" for x in sorted(cts[p.name].get(d, ()))) or "-"
            sport, dport = (st.port, p.port) if st.reply else (p.port, st.port)
            nat = []
            for src, sp, dst, dp in sorted(seen[p.name].get(d, ())):
                if (src, sp) != (st.src, sport):
                    nat.append(f"snat={src}" + (f":{sp}" if sp != sport else ""))
                if (dst, dp) != (st.dst, dport):
                    nat.append(f"dnat={dst}:{dp}")
            steps.append(" ".join([w, m] + nat + [f"ct={c}"]))
        summary[p.name] = steps
    return obs, summary
