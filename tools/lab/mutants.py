"""Single-mistake variants of the exact translation: each one must come out DIFFERENT, on the probe
named for it. Together with naive.nft they show that every probe group is load-bearing (a probe
that no mistake can move would be a probe that cannot fail).

(name, edition, file, old text, new text, probe that must differ)
  file: "nft" (exact.nft / exact-offmesh.nft) or "sh" (exact.sh / exact-offmesh.sh)
"""

import netns

MUTANTS = [
    ("no geneve bypass", "second", "nft",
     "\t\tudp dport 6081 return\n", "", "udp6081-podA"),
    ("tunnel traffic not skipped (istioout)", "second", "nft",
     'iifname { "istioin", "istioout" }', 'iifname { "istioin" }', "tunnel-out"),
    ("connmark skip missing", "second", "nft",
     "\t\tct mark & 0x220 == 0x220 meta mark set meta mark | 0x200\n", "", "zt-own-tcp"),
    ("connmark match exact instead of masked", "second", "nft",
     "iifname != $ztunnel_veth ct mark & 0x210 == 0x210", "iifname != $ztunnel_veth ct mark 0x210",
     "zt-proxy-tcp-ctbit"),
    ("proxy-return RETURN missing", "second", "nft",
     "\t\tmeta mark & 0x40 == 0x40 return\n", "", "zt-proxy-podA"),
    ("proxy source check missing", "second", "nft",
     "iifname $ztunnel_veth ip saddr != $ztunnel_ip meta mark set meta mark | 0x210",
     "iifname $ztunnel_veth meta mark set meta mark | 0x210", "zt-own-tcp"),
    ("proxy mark overwrites", "second", "nft",
     "ip saddr != $ztunnel_ip meta mark set meta mark | 0x210",
     "ip saddr != $ztunnel_ip meta mark set 0x210", "zt-proxy-markbit"),
    ("UDP not skipped", "second", "nft",
     "\t\tmeta l4proto udp meta mark set meta mark | 0x220\n", "", "podA-udp-remote"),
    ("outbound mark overwrites", "second", "nft",
     "ip saddr @pods meta mark set meta mark | 0x100", "ip saddr @pods meta mark set 0x100",
     "podA-tcp-markbit"),
    ("forward 0x210 save missing", "second", "nft",
     "\tchain forward {\n\t\ttype filter hook forward priority mangle; policy accept;\n"
     "\t\tmeta mark & 0x220 == 0x220 ct mark set ct mark | 0x220\n"
     "\t\tmeta mark & 0x210 == 0x210 ct mark set ct mark | 0x210\n",
     "\tchain forward {\n\t\ttype filter hook forward priority mangle; policy accept;\n"
     "\t\tmeta mark & 0x220 == 0x220 ct mark set ct mark | 0x220\n", "zt-proxy-tcp"),
    ("input saves nothing", "second", "nft",
     "\tchain input {\n\t\ttype filter hook input priority mangle; policy accept;\n"
     "\t\tmeta mark & 0x220 == 0x220 ct mark set ct mark | 0x220\n"
     "\t\tmeta mark & 0x210 == 0x210 ct mark set ct mark | 0x210\n",
     "\tchain input {\n\t\ttype filter hook input priority mangle; policy accept;\n", "zt-own-node"),
    ("capture prerouting before conntrack", "second", "nft",
     "type filter hook prerouting priority mangle;", "type filter hook prerouting priority raw;",
     "zt-own-tcp"),
    ("output chain cannot re-route", "second", "nft",
     "type route hook output priority mangle;", "type filter hook output priority mangle;",
     "host-podA"),
    ("output mark or-ed instead of set", "second", "nft",
     "ip saddr $host_ip meta mark set 0x220", "ip saddr $host_ip meta mark set meta mark | 0x220",
     "host-podA-sockmark"),
    ("identity DNAT after kube-proxy", "second", "nft",
     "priority dstnat - 10;", "priority dstnat + 10;", "podA-tcp-vip"),
    ("identity SNAT after the masquerade agent", "second", "nft",
     "priority srcnat - 10;", "priority srcnat + 10;", "podA-tcp-internet"),
    ("no accept_local on the tunnels", "second", "sh",
     '\techo 1 > "/proc/sys/net/ipv4/conf/$dev/accept_local"\n', "\t:\n", "tunnel-in-hostsrc"),
    ("proxy-return rule missing", "second", "sh",
     "ip rule add pref 102 fwmark 0x40/0x40 lookup 102\n", "", "zt-proxy-tcp"),
    ("table 101 lacks the ztunnel route", "second", "sh",
     'ip route add "$ztunnel_ip" dev "$veth" scope link table 101\n', "", "podA-tcp-ztunnel"),
    ("skip rule matches the whole mark, not the bit", "second", "sh",
     "ip rule add pref 100 fwmark 0x200/0x200 goto 32766",
     "ip rule add pref 100 fwmark 0x200 goto 32766", "remote-udp-podA"),
    ("enrolled pod route missing", "second", "sh",
     'ip route add "$pod" via 192.168.126.2 dev istioin src "$host_ip" table 100\n', "",
     "remote-tcp-podA"),
    # first edition
    ("tunnel mark 0x200 instead of 0x240", "first", "nft",
     "meta mark set meta mark | 0x240 return", "meta mark set meta mark | 0x200 return",
     "tunnel-in"),
    ("no rule 98 (peer node first)", "first", "sh",
     "ip rule add pref 98 lookup 105\n", "", "podA-tcp-peer"),
    ("cputunnel rule missing", "first", "sh",
     "ip rule add pref 99 fwmark 0x240/0x240 lookup 104\n", "", "tunnel-out"),
]


def apply(text, old, new, name):
    if text.count(old) != 1:
        raise netns.LabError(f"mutant '{name}': expected exactly one match of {old!r}, "
                         f"found {text.count(old)}")
    return text.replace(old, new)
