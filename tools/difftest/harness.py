"""Kernel harness: one policy, loaded with the real `ztc load`, and probes through a node.

Namespaces (created here, removed in `close`; names start with the lab's zl-<pid>- prefix so
`tools/lab/lab.py cleanup` also finds leftovers): a node and a peer holding the other ends of the
node's three veths. The node gets, besides ztc's table, a table of the test's own (`inet
difftest`):
  - init chains at priority -175 in prerouting and output, between conntrack (-200) and ztc's
    capture chains (-150): they set each probe's initial mark and ct mark from maps keyed by the
    probe's source port (its id);
  - observer chains at priority 500 in input and postrouting, after ztc's chains and after every
    nat priority: they add each probe's (id, mark, ct mark, daddr, dport[, oif]) to dynamic sets.
A probe in no observer set was dropped. Probes are raw frames sent from the peer into the node's
veths (AF_PACKET), or, for the node's own traffic, raw IP packets sent from inside the node.
"""

import json
import os
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))

import netns  # noqa: E402  (tools/lab: namespaces, commands with timeouts, setns)
from probes import _csum  # noqa: E402

import topo as T  # noqa: E402

ETH_P = {4: 0x0800, 6: 0x86DD}
PROTO = {"tcp": 6, "udp": 17}
INIT_PRIORITY = -175
OBSERVE_PRIORITY = 500
SETTLE_SECONDS = 1.0


class LoadFailed(Exception):
    """ztc could not load a policy it compiled."""


class Node:
    """A fresh node and peer namespace pair; `close()` removes them."""

    _count = 0

    def __init__(self):
        Node._count += 1
        tag = f"{netns.PREFIX}{os.getpid()}-dt{Node._count}"
        self.node, self.peer = tag + "n", tag + "p"
        netns.create([self.node, self.peer])
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _build(self):
        netns.write_sysctls(self.peer, {"ipv6/conf/all/disable_ipv6": 1,
                                        "ipv6/conf/default/disable_ipv6": 1})
        sysctls = {"ipv4/ip_forward": 1, "ipv6/conf/all/forwarding": 1,
                   "ipv4/conf/all/rp_filter": 0, "ipv4/conf/default/rp_filter": 0,
                   "ipv4/conf/all/send_redirects": 0, "ipv4/conf/default/send_redirects": 0,
                   "ipv6/conf/default/accept_dad": 0}
        netns.write_sysctls(self.node, sysctls)
        lines = ["link set lo up"]
        for ifname in T.IFACES:
            peer = T.PEER_END[ifname]
            lines += [f"link add {ifname} address {T.NODE_MAC[ifname]} type veth peer name {peer} "
                      f"netns {self.peer} address {T.PEER_MAC[ifname]}",
                      f"addr add {T.NODE_ADDR[4][ifname]}/24 dev {ifname}",
                      f"addr add {T.NODE_ADDR[6][ifname]}/64 dev {ifname} nodad",
                      f"link set {ifname} up"]
        netns.ip_batch(self.node, lines)
        netns.ip_batch(self.peer, [f"link set {T.PEER_END[i]} up" for i in T.IFACES])
        netns.write_sysctls(self.node, {f"ipv4/conf/{i}/rp_filter": 0 for i in T.IFACES})

    def close(self):
        netns.delete([self.node, self.peer])

    # --- ztc ---------------------------------------------------------------------------------
    def ztc(self, ztc, args):
        proc = netns.run([ztc] + args + ["--netns", self.node], check=False, timeout=30)
        return proc.returncode, (proc.stderr + proc.stdout).strip()

    # --- the test's own table ----------------------------------------------------------------
    def load_test_table(self, probes):
        hi = T.PROBE_PORT0 + T.PROBE_PORTS_MAX - 1
        flows = f"meta l4proto {{ tcp, udp }} th sport {T.PROBE_PORT0}-{hi}"
        marks = ", ".join(f"{p.sport} : {p.mark:#x}" for p in probes)
        cts = ", ".join(f"{p.sport} : {p.ct:#x}" for p in probes)
        key = "th sport . meta mark . ct mark . {} daddr . th dport"
        # One set per egress interface: nft 1.0.6 cannot list a concatenation that long with
        # an ifname in it.
        post_sets, post_rules = "", ""
        for v, ip in ((4, "ip"), (6, "ip6")):
            for i in T.IFACES + ["other"]:
                post_sets += (f"  set post{v}_{i} {{ type inet_service . mark . mark . ipv{v}_addr "
                              f". inet_service; flags dynamic; }}\n")
                when = f'oifname "{i}"' if i != "other" else \
                    "oifname != { " + ", ".join(f'"{x}"' for x in T.IFACES) + " }"
                post_rules += (f"    meta nfproto ipv{v} {when} {flows} "
                               f"add @post{v}_{i} {{ {key.format(ip)} }}\n")
        text = f"""table inet difftest {{}}
delete table inet difftest
table inet difftest {{
  map mark0 {{ type inet_service : mark; elements = {{ {marks} }} }}
  map ct0 {{ type inet_service : mark; elements = {{ {cts} }} }}
  set in4 {{ type inet_service . mark . mark . ipv4_addr . inet_service; flags dynamic; }}
  set in6 {{ type inet_service . mark . mark . ipv6_addr . inet_service; flags dynamic; }}
{post_sets}  chain init_pre {{
    type filter hook prerouting priority {INIT_PRIORITY}; policy accept;
    {flows} meta mark set th sport map @mark0 ct mark set th sport map @ct0
  }}
  chain init_out {{
    type filter hook output priority {INIT_PRIORITY}; policy accept;
    {flows} meta mark set th sport map @mark0 ct mark set th sport map @ct0
  }}
  chain observe_in {{
    type filter hook input priority {OBSERVE_PRIORITY}; policy accept;
    meta nfproto ipv4 {flows} add @in4 {{ {key.format("ip")} }}
    meta nfproto ipv6 {flows} add @in6 {{ {key.format("ip6")} }}
  }}
  chain observe_post {{
    type filter hook postrouting priority {OBSERVE_PRIORITY}; policy accept;
{post_rules}  }}
}}
"""
        netns.run(["nft", "-f", "-"], ns=self.node, input=text)

    def observed(self):
        """{probe id (source port): (where, mark, ct mark, daddr, dport, oif)}."""
        proc = netns.run(["nft", "-j", "list", "table", "inet", "difftest"], ns=self.node)
        out = {}
        for item in json.loads(proc.stdout)["nftables"]:
            s = item.get("set")
            if not s or not (s["name"] in ("in4", "in6") or s["name"].startswith("post")):
                continue
            where = "input" if s["name"].startswith("in") else "postrouting"
            oif = s["name"].split("_", 1)[1] if where == "postrouting" else ""
            for e in s.get("elem", []):
                if isinstance(e, dict) and "elem" in e:
                    e = e["elem"]["val"]
                v = e["concat"]
                key = int(v[0])
                got = (where, int(v[1]), int(v[2]), v[3], int(v[4]), oif)
                if key in out and out[key] != got:
                    out[key] = ("seen twice", out[key], got)
                else:
                    out[key] = got
        return out

    # --- probes ------------------------------------------------------------------------------
    def send(self, probes, expected_seen):
        frames = {}
        local = []
        for p in probes:
            if p.iif:
                frames.setdefault(p.iif, []).append(frame(p))
            else:
                local.append(p)
        with netns.inside(self.peer):
            for ifname, items in frames.items():
                s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
                try:
                    s.bind((T.PEER_END[ifname], 0))
                    for f in items:
                        s.send(f)
                finally:
                    s.close()
        with netns.inside(self.node):
            for p in local:
                fam = socket.AF_INET if p.version == 4 else socket.AF_INET6
                s = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_RAW)
                try:
                    s.sendto(ip_packet(p), (p.dst, 0))
                except PermissionError:
                    pass  # a drop in the output hook fails the send with EPERM
                except OSError as e:
                    print(f"difftest: probe {p.sport}: send failed: {e}", file=sys.stderr)
                finally:
                    s.close()
        # Probes are handled in softirq right after each send; wait until every probe the
        # interpreter expects to arrive has (bounded), then a little more for extra arrivals.
        deadline = netns.Deadline(SETTLE_SECONDS)
        seen = self.observed()
        while deadline and len(seen) < expected_seen:
            time.sleep(0.02)
            seen = self.observed()
        return seen


# --- packet building ---------------------------------------------------------------------------
def l4(p, src, dst):
    proto = PROTO[p.proto]
    if p.proto == "tcp":
        seg = struct.pack("!HHIIBBHHH", p.sport, p.dport, 1000, 0, 5 << 4, 0x02, 64240, 0, 0)
    else:
        payload = b"ztc difftest"
        seg = struct.pack("!HHHH", p.sport, p.dport, 8 + len(payload), 0) + payload
    if p.version == 4:
        pseudo = src + dst + struct.pack("!BBH", 0, proto, len(seg))
    else:
        pseudo = src + dst + struct.pack("!I3xB", len(seg), proto)
    c = _csum(pseudo + seg)
    if p.proto == "udp":
        c = c or 0xFFFF
        return seg[:6] + struct.pack("!H", c) + seg[8:]
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def ip_packet(p):
    if p.version == 4:
        src, dst = socket.inet_aton(p.src), socket.inet_aton(p.dst)
        seg = l4(p, src, dst)
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 1, 0x4000, 64, PROTO[p.proto],
                          0, src, dst)
        hdr = hdr[:10] + struct.pack("!H", _csum(hdr)) + hdr[12:]
        return hdr + seg
    src, dst = socket.inet_pton(socket.AF_INET6, p.src), socket.inet_pton(socket.AF_INET6, p.dst)
    seg = l4(p, src, dst)
    hdr = struct.pack("!IHBB16s16s", 6 << 28, len(seg), PROTO[p.proto], 64, src, dst)
    return hdr + seg


def mac(text):
    return bytes(int(x, 16) for x in text.split(":"))


def frame(p):
    eth = mac(T.NODE_MAC[p.iif]) + mac(T.PEER_MAC[p.iif]) + struct.pack("!H", ETH_P[p.version])
    return eth + ip_packet(p)
