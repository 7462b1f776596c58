"""The reference side: the iptables-era rules, read from reference/seed-dumps.txt at run time.

For an edition, the dump's `iptables-save` output is loaded with iptables-legacy-restore, its `ip rule`
entries and its `ip route show table N` tables (N numeric) with iproute2, the enrolled-pod set with
ipset (`ztunnel-pods-ips` hash:ip comment), and the sysctls reference/SEMANTICS.md lists. The dump's
interface names and addresses are substituted with the lab's; the seed's enrolled-pod routes in table
100 (`<pod> via 192.168.126.2 dev istioin src <host IP>`) become one route per lab pod. Chains the
dump only jumps to (KUBE-SERVICES, KIND-MASQ-AGENT, ...) get the lab's kube-proxy stand-in.
"""

import os
import re
import sys

import env
import netns
import topology as T

_HERE = os.path.dirname(os.path.abspath(__file__))
# The ground truth lives beside the repository (../shared/reference/); seed-dumps.txt here is a
# verbatim copy for machines that only have the repository (CI). $ZTC_LAB_SEED overrides both.
SEED_CANDIDATES = [
    os.path.join(_HERE, "..", "..", "..", "shared", "reference", "seed-dumps.txt"),
    "/work/shared/reference/seed-dumps.txt",
    os.path.join(_HERE, "seed-dumps.txt"),
]

IPSET = "ztunnel-pods-ips"

# What the dump names, and what the lab calls it (word-bounded replacement).
SUBST = {
    "second": {"veth1ae58883": T.ZT_VETH, "10.244.1.2": T.ZT, "10.244.1.1": T.HOST,
               "ens32": T.UPLINK},
    "first": {"veth9f0ba668": T.ZT_VETH, "10.244.1.3": T.ZT, "10.244.1.1": T.HOST,
              "ens32": T.UPLINK, "192.168.50.130": T.PEER, "192.168.128.1": T.CPU_GW},
}

BUILTIN_CHAINS = {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}
TARGETS = {"ACCEPT", "DROP", "RETURN", "MARK", "CONNMARK", "DNAT", "SNAT", "MASQUERADE", "REJECT",
           "LOG", "REDIRECT", "TPROXY", "CT", "NOTRACK", "TOS", "DSCP", "CLASSIFY", "NFLOG"}


def seed_path():
    if os.environ.get("ZTC_LAB_SEED"):
        return os.environ["ZTC_LAB_SEED"]
    for p in SEED_CANDIDATES:
        if os.path.exists(p):
            copy = SEED_CANDIDATES[-1]
            if p != copy and os.path.exists(copy) and open(p).read() != open(copy).read():
                print(f"lab: warning: {copy} differs from {os.path.normpath(p)} (using the latter); "
                      f"refresh the copy", file=sys.stderr)
            return os.path.normpath(p)
    raise netns.LabError("cannot find reference/seed-dumps.txt (set ZTC_LAB_SEED)")


def parse_seed(path=None):
    """{edition: {"iptables": text, "rules": [line], "routes": {table: [line]}}}"""
    text = open(path or seed_path()).read()
    editions = {}
    for m in re.finditer(r"^## (first|second) edition\s*\n```shell\n(.*?)^```", text, re.S | re.M):
        ed, body = m.group(1), m.group(2)
        cmds, cur = {}, None
        for line in body.splitlines():
            if line.startswith("$ "):
                cur = line[2:].strip()
                cmds[cur] = []
            elif cur is not None:
                cmds[cur].append(line)
        data = {"iptables": None, "rules": [], "routes": {}}
        for cmd, lines in cmds.items():
            if cmd.endswith("iptables-save"):
                data["iptables"] = "\n".join(lines)
            elif cmd == "ip rule":
                data["rules"] = [l.strip() for l in lines if l.strip()]
            else:
                mt = re.fullmatch(r"ip route show table (\d+)", cmd)
                if mt:
                    data["routes"][int(mt.group(1))] = [l.strip() for l in lines if l.strip()]
        if not data["iptables"]:
            raise netns.LabError(f"seed dump: no iptables-save in the {ed} edition")
        editions[ed] = data
    for ed in T.EDITIONS:
        if ed not in editions:
            raise netns.LabError(f"seed dump: no {ed} edition found")
    return editions


def substitute(text, edition):
    for old, new in SUBST[edition].items():
        text = re.sub(r"(?<![\w.])" + re.escape(old) + r"(?![\w])(?!\.\d)", new, text)
    return text


def restore_text(edition, seed):
    """iptables-legacy-restore input: the dump's tables, made loadable, with the kube stand-in."""
    kube = env.kube_iptables(masq=(edition == "second"))
    tables, order, cur = {}, [], None
    for raw in seed["iptables"].splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            cur = line[1:]
            order.append(cur)
            tables[cur] = {"decl": [], "rules": []}
        elif line == "COMMIT":
            cur = None
        elif cur is None:
            raise netns.LabError(f"seed dump: line outside a table: {line}")
        elif line.startswith(":"):
            tables[cur]["decl"].append(line)
        elif line.startswith("-A "):
            tables[cur]["rules"].append(line)
        else:
            raise netns.LabError(f"seed dump: unexpected iptables-save line: {line}")
    out = []
    for t in order:
        declared = {d[1:].split()[0] for d in tables[t]["decl"]}
        rules = list(tables[t]["rules"])
        if t == "nat":
            for chain, crules in kube.items():
                rules += [f"-A {chain} {r}" for r in crules]
        used = set()
        for r in rules:
            used.add(r.split()[1])
            m = re.search(r"(?:^|\s)-[jg] (\S+)", r)
            if m and m.group(1) not in TARGETS:
                used.add(m.group(1))
        decl = list(tables[t]["decl"])
        for c in sorted(used - declared - BUILTIN_CHAINS):
            decl.append(f":{c} - [0:0]")
        out += [f"*{t}"] + decl + rules + ["COMMIT"]
    return substitute("\n".join(out) + "\n", edition)


def is_pod_route(line):
    return re.search(r"\svia 192\.168\.126\.2 dev istioin\b", line) is not None


def routing_cmds(edition, seed, pods):
    cmds = []
    for line in seed["rules"]:
        m = re.fullmatch(r"(\d+):\s+(.*)", line)
        if not m:
            raise netns.LabError(f"seed dump: cannot read ip rule line: {line}")
        pref, rest = int(m.group(1)), m.group(2)
        if pref in (0, 32766, 32767):
            continue
        cmds.append(f"rule add pref {pref} {substitute(rest, edition)}")
    for table, lines in sorted(seed["routes"].items()):
        for line in lines:
            if table == 100 and is_pod_route(line):
                continue  # the seed node's pods; the lab's are added below
            cmds.append(f"route add {substitute(line, edition)} table {table}")
    for pod in pods:
        cmds.append(f"route add {pod} via {T.IN_ZT} dev istioin src {T.HOST} table 100")
    return cmds


def sysctls(edition, pod_veths):
    """What the agent set (reference/SEMANTICS.md)."""
    s = {}
    for dev in ["all", "default", T.ZT_VETH, "istioin", "istioout"] + list(pod_veths):
        s[f"ipv4/conf/{dev}/rp_filter"] = 0
    for dev in (T.ZT_VETH, "istioin", "istioout"):
        s[f"ipv4/conf/{dev}/accept_local"] = 1
    return s


def load(topo, pods, pod_veths):
    seed = parse_seed()[topo.edition]
    node = topo.ns("node")
    lines = [f"create {IPSET} hash:ip comment"]
    lines += [f'add {IPSET} {p} comment "lab-pod-{i}"' for i, p in enumerate(pods)]
    netns.run(["ipset", "restore"], ns=node, input="\n".join(lines) + "\n")
    netns.run(["iptables-legacy-restore", "-w", "5"], ns=node, input=restore_text(topo.edition, seed))
    netns.ip_batch(node, routing_cmds(topo.edition, seed, pods))
    netns.write_sysctls(node, sysctls(topo.edition, pod_veths))


# ---- counters ----------------------------------------------------------------------------------
def read_counters(node_ns):
    """[(table, chain, rule text, packets)] for every rule, from iptables-legacy-save -c."""
    out = netns.run(["iptables-legacy-save", "-c"], ns=node_ns).stdout
    rows, table = [], None
    for line in out.splitlines():
        if line.startswith("*"):
            table = line[1:]
        m = re.match(r"\[(\d+):(\d+)\] -A (\S+) (.*)", line)
        if m:
            rows.append((table, m.group(3), m.group(4), int(m.group(1))))
    return rows


def is_capture_rule(chain, rule):
    """The reference rules under test: ztunnel-* chains and the jumps into them."""
    return chain.startswith("ztunnel-") or re.search(r"-j ztunnel-", rule) is not None


def rule_labels(rows):
    """Stable short labels, e.g. mangle/ztunnel-PREROUTING#3 (1-based position in its chain)."""
    pos, labels = {}, []
    for table, chain, rule, _ in rows:
        k = (table, chain)
        pos[k] = pos.get(k, 0) + 1
        labels.append(f"{table}/{chain}#{pos[k]}")
    return labels
