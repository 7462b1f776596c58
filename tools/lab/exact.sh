#!/bin/sh
# exact.sh: the routing and sysctls that go with exact.nft / naive.nft (SECOND edition), i.e. what
# the ambient agent installed beside its iptables rules (reference/seed-dumps.txt, SEMANTICS.md).
# Run inside the node's network namespace after loading the nft file:
#   exact.sh ZTUNNEL_VETH ZTUNNEL_IP HOST_IP [ENROLLED_POD_IP...]
set -eu
[ $# -ge 3 ] || { echo "usage: $0 ZTUNNEL_VETH ZTUNNEL_IP HOST_IP [POD_IP...]" >&2; exit 2; }
veth=$1 ztunnel_ip=$2 host_ip=$3
shift 3

for dev in all default "$veth" istioin istioout; do
	echo 0 > "/proc/sys/net/ipv4/conf/$dev/rp_filter"
done
for dev in "$veth" istioin istioout; do
	echo 1 > "/proc/sys/net/ipv4/conf/$dev/accept_local"
done

ip rule add pref 100 fwmark 0x200/0x200 goto 32766
ip rule add pref 101 fwmark 0x100/0x100 lookup 101
ip rule add pref 102 fwmark 0x40/0x40 lookup 102
ip rule add pref 103 lookup 100

ip route add default via 192.168.127.2 dev istioout table 101
ip route add "$ztunnel_ip" dev "$veth" scope link table 101
ip route add default via "$ztunnel_ip" dev "$veth" onlink table 102
ip route add "$ztunnel_ip" dev "$veth" scope link table 102
ip route add "$ztunnel_ip" dev "$veth" scope link table 100

# Enrolling a pod = set element + route, together.
for pod in "$@"; do
	nft add element ip ztunnel pods "{ $pod }"
	ip route add "$pod" via 192.168.126.2 dev istioin src "$host_ip" table 100
done
