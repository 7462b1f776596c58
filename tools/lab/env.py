"""What every side gets besides the capture rules under test.

- The observer: one nft table in the node namespace, identical on every side (nft tables coexist with
  iptables-legacy). It records each probe packet's addresses, interface, final mark and ct mark into
  dynamic sets keyed by the probe's ports, and it pre-sets unrelated mark / ct mark bits on chosen
  flows before any capture rule runs.
- kube-proxy: a service VIP DNAT (and, for the second edition, kind's masquerade agent). On the
  reference side these are iptables chains jumped to after the capture jump, exactly as in the dump;
  on every other side they are a separate nft table `ip kube-proxy`, as on an nftables-only node.
"""

import json

import netns
from topology import PROBE_PORTS, RPOD, VIP

LO, HI = PROBE_PORTS
CT_BIT = 0x1        # pre-set ct mark bit on the "ctbit" probes (must survive CONNMARK saves)
MARK_BIT = 0x1000   # pre-set packet mark bit on the "markbit" probes (must survive mark |= ...)

# Service portals: (proto, vip port, backend, backend port)
SERVICES = [("tcp", 80, RPOD, 8080), ("udp", 53, RPOD, 5353)]
POD_CIDR = "10.244.0.0/16"

OBSERVER_TABLE = "zlab_obs"


def observer_nft(ctbit_ports, markbit_ports):
    def elems(ports):
        return f"elements = {{ {', '.join(str(p) for p in sorted(ports))} }}" if ports else ""

    rec = []
    for d in ("sport", "dport"):
        rec.append((d, f"th {d} {LO}-{HI}"))
    key5 = "inet_service . inet_service . ipv4_addr . ipv4_addr . ifname"
    key4 = "inet_service . inet_service . mark . mark"
    sets = "\n".join(
        f"\tset {name} {{ type {key}; flags dynamic; size 65535; }}"
        for name, key in (("pre", key5), ("post", key5), ("postm", key4), ("in", key5), ("inm", key4)))
    pre = "\n".join(f"\t\t{m} add @pre {{ th sport . th dport . ip saddr . ip daddr . iifname }}"
                    for _, m in rec)
    post = "\n".join(
        f"\t\t{m} add @post {{ th sport . th dport . ip saddr . ip daddr . oifname }}\n"
        f"\t\t{m} add @postm {{ th sport . th dport . meta mark . ct mark }}" for _, m in rec)
    inp = "\n".join(
        f"\t\t{m} add @in {{ th sport . th dport . ip saddr . ip daddr . iifname }}\n"
        f"\t\t{m} add @inm {{ th sport . th dport . meta mark . ct mark }}" for _, m in rec)
    return f"""
table ip {OBSERVER_TABLE} {{
	set ctbit {{ type inet_service; {elems(ctbit_ports)} }}
	set markbit {{ type inet_service; {elems(markbit_ports)} }}
{sets}

	# First thing a packet meets on the node: where it came in (debug aid, also compared).
	chain arrive {{
		type filter hook prerouting priority -450; policy accept;
{pre}
	}}
	# Right after conntrack (-200), before any capture rule (mangle is -150): unrelated bits.
	chain preset {{
		type filter hook prerouting priority -199; policy accept;
		th sport @ctbit ct mark set ct mark | {CT_BIT:#x}
		th sport @markbit meta mark set meta mark | {MARK_BIT:#x}
	}}
	# Last word on packets leaving the node (after mangle, nat and every capture rule).
	chain leave {{
		type filter hook postrouting priority 1000; policy accept;
{post}
	}}
	# Last word on packets delivered to the node itself; then drop them so the node's stack never
	# answers a crafted packet (a RST would change the conntrack state the next probe step needs).
	chain deliver {{
		type filter hook input priority 1000; policy accept;
{inp}
		th sport {LO}-{HI} drop
		th dport {LO}-{HI} drop
	}}
}}
"""


def read_observer(node_ns):
    """Return {set name: [tuple, ...]} from the observer table."""
    out = netns.run(["nft", "-j", "list", "table", "ip", OBSERVER_TABLE], ns=node_ns).stdout
    sets = {}
    for obj in json.loads(out)["nftables"]:
        s = obj.get("set")
        if not s or s["name"] not in ("pre", "post", "postm", "in", "inm"):
            continue
        elems = []
        for e in s.get("elem", []):
            if isinstance(e, dict) and "elem" in e:   # element with attributes
                e = e["elem"]["val"]
            elems.append(tuple(e["concat"]))
        sets[s["name"]] = elems
    return sets


# ---- kube-proxy --------------------------------------------------------------------------------
def kube_iptables(masq):
    """Extra chains for the reference's iptables nat table: {chain: [rule args...]}."""
    chains = {"KUBE-SERVICES": [
        f"-d {VIP}/32 -p {proto} -m {proto} --dport {port} -j DNAT --to-destination {be}:{bport}"
        for proto, port, be, bport in SERVICES]}
    chains["KUBE-POSTROUTING"] = []
    if masq:
        chains["KIND-MASQ-AGENT"] = [
            f"-d {POD_CIDR} -m comment --comment \"kind-masq-agent: local traffic is not subject to "
            f"MASQUERADE\" -j RETURN",
            "-m comment --comment \"kind-masq-agent: outbound traffic is subject to MASQUERADE "
            "(must be last in chain)\" -j MASQUERADE"]
    return chains


def kube_nft(masq):
    """The same kube-proxy behaviour as its own nft table, for the nft sides."""
    dnat = "\n".join(f"\t\tip daddr {VIP} {proto} dport {port} dnat to {be}:{bport}"
                     for proto, port, be, bport in SERVICES)
    post = ""
    if masq:
        post = f"""
	chain nat_postrouting {{
		type nat hook postrouting priority srcnat; policy accept;
		fib daddr type != local ip daddr != {POD_CIDR} masquerade
	}}"""
    return f"""
table ip kube-proxy {{
	chain nat_prerouting {{
		type nat hook prerouting priority dstnat; policy accept;
{dnat}
	}}
	chain nat_output {{
		type nat hook output priority -100; policy accept;
{dnat}
	}}{post}
}}
"""

