#!/bin/sh
# exact-offmesh.sh: the routing and sysctls that go with exact-offmesh.nft (FIRST edition): the second
# edition's, plus rule 98 (lookup 105: the paired node, directly) and rule 99 (mark 0x240 -> table
# 104: the cputunnel). Run inside the node's network namespace after loading the nft file:
#   exact-offmesh.sh ZTUNNEL_VETH ZTUNNEL_IP HOST_IP UPLINK CPUTUNNEL_GW PEER_NODE_IP [POD_IP...]
set -eu
[ $# -ge 6 ] || { echo "usage: $0 ZTUNNEL_VETH ZTUNNEL_IP HOST_IP UPLINK CPUTUNNEL_GW PEER_NODE_IP [POD_IP...]" >&2; exit 2; }
veth=$1 ztunnel_ip=$2 host_ip=$3 uplink=$4 cputunnel_gw=$5 peer_node_ip=$6
shift 6

for dev in all default "$veth" istioin istioout; do
	echo 0 > "/proc/sys/net/ipv4/conf/$dev/rp_filter"
done
for dev in "$veth" istioin istioout; do
	echo 1 > "/proc/sys/net/ipv4/conf/$dev/accept_local"
done

ip rule add pref 98 lookup 105
ip rule add pref 99 fwmark 0x240/0x240 lookup 104
ip rule add pref 100 fwmark 0x200/0x200 goto 32766
ip rule add pref 101 fwmark 0x100/0x100 lookup 101
ip rule add pref 102 fwmark 0x40/0x40 lookup 102
ip rule add pref 103 lookup 100

ip route add "$peer_node_ip" dev "$uplink" scope link table 105
ip route add default via "$cputunnel_gw" dev cputunnel table 104
ip route add default via 192.168.127.2 dev istioout table 101
ip route add "$ztunnel_ip" dev "$veth" scope link table 101
ip route add default via "$ztunnel_ip" dev "$veth" onlink table 102
ip route add "$ztunnel_ip" dev "$veth" scope link table 102
ip route add "$ztunnel_ip" dev "$veth" scope link table 100

for pod in "$@"; do
	nft add element ip ztunnel pods "{ $pod }"
	ip route add "$pod" via 192.168.126.2 dev istioin src "$host_ip" table 100
done
