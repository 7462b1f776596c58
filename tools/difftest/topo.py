"""The node under test, as the generator, the interpreter and the harness all see it.

One node namespace with three veths (dta, dtb, dtc), each leading to a peer namespace end (pa, pb,
pc) from which probes are sent as raw Ethernet frames. Each veth has an IPv4 /24 and an IPv6 /64;
the node owns .1 / ::1 of each, every other address of those subnets is a remote host behind that
veth (never answered: a forwarded probe is observed in postrouting, before neighbour resolution).
"""

import ipaddress

IFACES = ["dta", "dtb", "dtc"]
PEER_END = {"dta": "pa", "dtb": "pb", "dtc": "pc"}
NODE_MAC = {"dta": "02:00:00:00:00:0a", "dtb": "02:00:00:00:00:0b", "dtc": "02:00:00:00:00:0c"}
PEER_MAC = {"dta": "02:00:00:00:01:0a", "dtb": "02:00:00:00:01:0b", "dtc": "02:00:00:00:01:0c"}
SUBNET = {
    4: {"dta": "10.1.0.0/24", "dtb": "10.2.0.0/24", "dtc": "10.3.0.0/24"},
    6: {"dta": "fd01::/64", "dtb": "fd02::/64", "dtc": "fd03::/64"},
}
NODE_ADDR = {
    4: {"dta": "10.1.0.1", "dtb": "10.2.0.1", "dtc": "10.3.0.1"},
    6: {"dta": "fd01::1", "dtb": "fd02::1", "dtc": "fd03::1"},
}
# Probe flows are told apart by their source port: probe i of a policy sends from PROBE_PORT0 + i.
PROBE_PORT0 = 40000
PROBE_PORTS_MAX = 2000


def family_of(address):
    return 6 if ":" in address else 4


def is_local(address):
    return address in NODE_ADDR[family_of(address)].values()


def route(address):
    """The node's egress interface for a destination, or None (no route)."""
    ip = ipaddress.ip_address(address)
    for ifname, net in SUBNET[ip.version].items():
        if ip in ipaddress.ip_network(net):
            return ifname
    return None


def host(version, ifname, n):
    net = ipaddress.ip_network(SUBNET[version][ifname])
    return str(net.network_address + n)
