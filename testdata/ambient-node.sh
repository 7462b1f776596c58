# The ambient node of the kernel tests and the benchmarks, run with `sh` inside
# a fresh network namespace: the node ends of the two tunnels (istioin,
# istioout; veth pairs stand in for geneve) and the ztunnel veth, addressed
# like examples/ambient-node.zt. No IPv6 link-local addresses: the kernel would
# add their routes a second later, by itself (testsupport/ambient_node.h).
set -e
sysctl -qw net.ipv6.conf.all.addr_gen_mode=1 net.ipv6.conf.default.addr_gen_mode=1
ip link add istioin type veth peer name pistioin
ip link add istioout type veth peer name pistioout
ip link add veth1ae58883 type veth peer name eth0z
for d in istioin pistioin istioout pistioout veth1ae58883 eth0z; do ip link set "$d" up; done
ip addr add 192.168.126.1/30 dev istioin
ip addr add 192.168.127.1/30 dev istioout
ip addr add 10.244.1.1/24 dev veth1ae58883
