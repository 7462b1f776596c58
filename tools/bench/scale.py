#!/usr/bin/env python3
"""ztc at scale: compile and load with 1k..100k enrolled pods, side by side with the floor and the
iptables-era reference, and the per-packet cost with 10 vs 100k pods. See SCALE.md.

  sudo tools/bench/scale.py [--ztc build-bench/ztc] [--sizes 1000,10000,100000] [--ifaces 1000]
                            [--runs 5] [--packets 200000] [--trials 5] [--skip-reference]
                            [--skip-packets] [--json FILE] [--keep-policies DIR]

For each size N (enrolled pods: members of the managed set `pods`, one derived route each) a policy
is generated from examples/ambient-node.zt: `set pods: ipv4 managed = { N addresses }`, an interface
group `pod_veths` of --ifaces names used in a capture rule. Then, in the same run, rotating the
order of the methods on every round:

  compile    ztc compile --timings (CPU, wall, peak RSS from wait4, per-stage wall times)
  ztc load   ztc load --netns NS into a fresh namespace
  floor      nft -f of ztc's own --emit nft + ip -batch of its --emit routes, with the per-member
             template expanded to one route per member (what the kernel needs, by the stock tools)
  reference  ipset restore + iptables-legacy-restore + ip -batch: the seed dump's second edition as
             tools/lab loads it (reference.py), with N pods in the ipset and N routes in table 100
  reload     ztc load again, nothing changed: must print "routing: 0 changes"
  set add    ztc set add of one pod into the loaded node (when ztc has `set`)

Times are CPU (user+sys of the child from wait4 rusage: on a shared machine wall time mostly
measures the other tenants) and wall; figures are medians of --runs rounds; every ratio is taken
between medians of the same run. The kernel's work for netlink and nf_tables requests runs in the
requesting process, so it is part of the child's sys time.

Per packet: the lab topology (tools/lab/topology.py: node, ztunnel pod, pods, remote) is built twice,
one node with 10 enrolled pods and one with the largest size, both by `ztc load`. Bounded UDP
streams go from pod A (enrolled, its veth in pod_veths) through the node to the remote namespace:
`udp` (pod set + interface group lookups, then conn_skip and the main table) and `udp6081` (the
bypass port: unmarked, so ip rule 103 looks into table 100 and its N routes first). Trials
alternate between the two nodes; the sender's CPU time per packet includes the node's forwarding
(softirq work runs in the sending thread on this kernel: tick accounting, no IRQ time accounting).

Needs root, the lab's tools (iproute2, nftables, iptables-legacy, ipset) and Python 3 (standard
library). Everything runs in namespaces named zl-<pid>-... that are deleted on exit
(`tools/lab/lab.py cleanup` removes leftovers of a killed run). Nothing touches the root namespace.
"""

import argparse
import ipaddress
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tools", "lab"))

import netns  # noqa: E402
import reference  # noqa: E402
import topology as T  # noqa: E402

POLICY_TEMPLATE = os.path.join(REPO, "examples", "ambient-node.zt")
PARAMS = {"ztunnel_veth": T.ZT_VETH, "ztunnel_ip": T.ZT, "host_ip": T.HOST}
FILLER_BASE = ipaddress.IPv4Address("10.128.0.1")  # filler pods: 10.128.0.1, 10.128.0.2, ...
ONE_MORE_POD = "10.255.255.1"                      # the pod `set add` enrols
ONE_MORE_POD_RT = "10.255.255.2"                   # ... with the policy without initial members
UDP_PORT = 5201
TIME = "/usr/bin/time"  # GNU time (Debian package `time`): peak RSS of the measured command
NSENTER = "/usr/bin/nsenter"
CMD_TIMEOUT = 600
OVERALL_TIMEOUT = 3600


class BenchError(Exception):
    pass


# ---- policy generation ---------------------------------------------------------------------------
def pods_for(n, first=()):
    """n pod addresses: `first` (e.g. the lab's pod A), then fillers."""
    out = list(first)[:n]
    i = 0
    while len(out) < n:
        out.append(str(FILLER_BASE + i))
        i += 1
    return out


def veths_for(n, first=()):
    out = list(first)[:n]
    i = 0
    while len(out) < n:
        out.append(f"veth{i:08x}")
        i += 1
    return out


def generate_policy(pods, veths):
    """examples/ambient-node.zt with `pods` as initial members and a `pod_veths` group, used in a
    first capture rule that every packet from a pod veth evaluates (two set lookups + a counter)."""
    src = open(POLICY_TEMPLATE).read()

    def sub(old, new):
        nonlocal src
        if src.count(old) != 1:
            raise BenchError(f"{POLICY_TEMPLATE}: expected exactly one `{old}` to rewrite")
        src = src.replace(old, new)

    members = "".join(f"  {p},\n" for p in pods)
    sub("set pods: ipv4 managed ", f"set pods: ipv4 managed = {{\n{members}}}\n")
    group = "".join(f'  "{v}",\n' for v in veths)
    sub("iface ztunnel    = ztunnel_veth\n",
        f"iface ztunnel    = ztunnel_veth\ngroup pod_veths = {{\n{group}}}\n")
    sub("capture prerouting {\n",
        "capture prerouting {\n  iif pod_veths saddr @pods            => counter   # scale bench\n")
    return src


def defines():
    out = []
    for k, v in PARAMS.items():
        out += ["-D", f"{k}={v}"]
    return out


# ---- measured children -----------------------------------------------------------------------------
class Measure:
    """One child's CPU (user+sys, s), wall (s) and peak RSS (KiB), from wait4."""

    def __init__(self, cpu=0.0, wall=0.0, rss=0, user=0.0, sys_=0.0):
        self.cpu, self.wall, self.rss, self.user, self.sys = cpu, wall, rss, user, sys_

    def __add__(self, other):
        return Measure(self.cpu + other.cpu, self.wall + other.wall, max(self.rss, other.rss),
                       self.user + other.user, self.sys + other.sys)


def measured(cmd, ns=None, stdin_path=None, check=True):
    """Run cmd, inside ns if given; (Measure, stdout, stderr).

    CPU and wall come from our wait4, which includes GNU time and nsenter (~1 ms each, the same
    for every command). The peak RSS comes from GNU time (`/usr/bin/time -f %M`) around cmd: a
    child of this Python process starts with Python's resident pages, and ru_maxrss keeps that
    high-water mark across exec; time's own child starts small. No preexec_fn, so that Python
    starts the child with vfork (a fork would charge the copy of this process to the child).
    `nsenter --net` only switches the network namespace (no `ip netns exec` mount work)."""
    if ns is not None:
        cmd = [NSENTER, f"--net=/run/netns/{ns}"] + list(cmd)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as rss_file:
        stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
        try:
            start = time.monotonic()
            proc = subprocess.Popen([TIME, "-f", "%M", "-o", rss_file.name] + list(cmd),
                                    stdin=stdin, stdout=out, stderr=err)
            deadline = start + CMD_TIMEOUT
            while True:
                pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    proc.kill()
                    os.wait4(proc.pid, 0)
                    proc.returncode = -9
                    raise BenchError(f"timed out after {CMD_TIMEOUT}s: {' '.join(cmd)}")
                time.sleep(0.002)
            wall = time.monotonic() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            if stdin_path:
                stdin.close()
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
        rss_lines = rss_file.read().split()
    if check and proc.returncode != 0:
        raise BenchError(f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n"
                         f"{(stderr or stdout).strip()[:2000]}")
    rss = int(rss_lines[-1]) if rss_lines and rss_lines[-1].isdigit() else 0
    m = Measure(ru.ru_utime + ru.ru_stime, wall, rss, ru.ru_utime, ru.ru_stime)
    return m, stdout, stderr


def med(values):
    return statistics.median(values) if values else float("nan")


# ---- namespaces --------------------------------------------------------------------------------------
_counter = [0]


def fresh_node():
    """A namespace with what the policy's routes need: vzt (host IP), istioin, istioout."""
    _counter[0] += 1
    ns = f"zl-{os.getpid()}-s{_counter[0]}-node"
    netns.create([ns])
    cmds = ["link set lo up"]
    for dev, peer, addr in ((T.ZT_VETH, "pzt", f"{T.HOST}/24"),
                            ("istioin", "pistioin", f"{T.IN_NODE}/30"),
                            ("istioout", "pistioout", f"{T.OUT_NODE}/30")):
        cmds += [f"link add {dev} type veth peer name {peer}", f"addr add {addr} dev {dev}",
                 f"link set {dev} up", f"link set {peer} up"]
    netns.ip_batch(ns, cmds)
    return ns


def drop_node(ns):
    netns.delete([ns])


# ---- the methods ---------------------------------------------------------------------------------------
class Inputs:
    """Everything one size needs, written once: policy, ztc's compiled output, reference inputs."""

    def __init__(self, ztc, n, ifaces, workdir, first_pods=(), first_veths=()):
        self.n = n
        self.pods = pods_for(n, first_pods)
        self.veths = veths_for(ifaces, first_veths)
        self.dir = os.path.join(workdir, f"n{n}")
        os.makedirs(self.dir, exist_ok=True)
        self.policy = self.path("policy.zt")
        with open(self.policy, "w") as f:
            f.write(generate_policy(self.pods, self.veths))
        # The same policy without initial members, as on a node whose agent enrols pods at run time.
        self.runtime_policy = self.path("policy-runtime.zt")
        with open(self.runtime_policy, "w") as f:
            f.write(generate_policy([], self.veths))
        self.nft = self.path("ztc.nft")
        self.routes = self.path("ztc.routes")
        measured([ztc, "compile", self.policy] + defines() + ["--emit", "nft", "-o", self.nft])
        measured([ztc, "compile", self.policy] + defines() + ["--emit", "routes", "-o", self.routes])
        self.floor_batch = self.path("floor.batch")
        self.route_count = self._expand_routes()

    def path(self, name):
        return os.path.join(self.dir, name)

    def _expand_routes(self):
        """ztc's ip -batch text with its `# for each member of @pods:` template expanded."""
        lines = []
        expanded = 0
        for line in open(self.routes).read().splitlines():
            m = re.fullmatch(r"#\s*for each member of @(\S+):\s*(.*)", line.strip())
            if m:
                if m.group(1) != "pods":
                    raise BenchError(f"unexpected derived routes for @{m.group(1)}")
                lines += [m.group(2).replace("<member>", p) for p in self.pods]
                expanded += 1
            elif line.strip() and not line.startswith("#"):
                lines.append(line)
        if expanded != 1:
            raise BenchError(f"{self.routes}: no per-member route template")
        with open(self.floor_batch, "w") as f:
            f.write("\n".join(lines) + "\n")
        return len(lines)

    def write_reference(self):
        seed = reference.parse_seed()["second"]
        self.ipset = self.path("ref.ipset")
        with open(self.ipset, "w") as f:
            # hash:ip's default maxelem is 65536; istio-cni's set is `hash:ip comment`.
            f.write(f"create {reference.IPSET} hash:ip comment maxelem {max(65536, 2 * self.n)}\n")
            f.writelines(f"add {reference.IPSET} {p}\n" for p in self.pods)
        self.iptables = self.path("ref.iptables")
        with open(self.iptables, "w") as f:
            f.write(reference.restore_text("second", seed))
        self.ref_batch = self.path("ref.batch")
        with open(self.ref_batch, "w") as f:
            f.write("\n".join(reference.routing_cmds("second", seed, self.pods)) + "\n")


def run_compile(ztc, inp):
    m, _, err = measured([ztc, "compile", "--timings", inp.policy] + defines() +
                         ["-o", "/dev/null"])
    t = re.search(r"timings: parse ([\d.]+) ms, check ([\d.]+) ms, lower ([\d.]+) ms, "
                  r"emit ([\d.]+) ms", err)
    stages = {k: float(v) for k, v in zip(("parse", "check", "lower", "emit"), t.groups())} if t else {}
    return m, stages


def run_ztc_load(ztc, inp, ns):
    m, out, err = measured([ztc, "load", inp.policy] + defines() + ["--netns", ns])
    first = out.splitlines()[0] if out else ""
    changes = re.search(r"routing: (\d+) changes", first)
    return m, int(changes.group(1)) if changes else None, first


def run_floor(inp, ns):
    a, _, _ = measured(["nft", "-f", inp.nft], ns=ns)
    b, _, _ = measured(["ip", "-4", "-batch", inp.floor_batch], ns=ns)
    return a + b


def run_reference(inp, ns):
    a, _, _ = measured(["ipset", "restore"], ns=ns, stdin_path=inp.ipset)
    b, _, _ = measured(["iptables-legacy-restore", "-w", "5"], ns=ns, stdin_path=inp.iptables)
    c, _, _ = measured(["ip", "-batch", inp.ref_batch], ns=ns)
    return a + b + c


def count_installed(ns):
    """(members of @pods, ztc routes in table 100)"""
    proc = netns.run(["nft", "-j", "list", "set", "ip", "ztunnel", "pods"], ns=ns, timeout=120)
    members = 0
    for item in json.loads(proc.stdout)["nftables"]:
        if "set" in item:
            members = len(item["set"].get("elem", []))
    routes = 0
    for protocol in ["122", "123"]:  # static routes, member routes
        proc = netns.run(["ip", "-n", ns, "-4", "route", "show", "table", "100", "proto", protocol],
                         timeout=120)
        routes += len(proc.stdout.splitlines())
    return members, routes


def ztc_has(ztc, sub):
    proc = subprocess.run([ztc, "--help"], capture_output=True, text=True, timeout=30)
    return re.search(rf"^\s+{sub}\s", proc.stdout, re.M) is not None


def bench_size(opts, inp, log):
    """Rounds of compile / ztc load / reload / set add / floor / reference, order rotated."""
    r = {"compile": [], "stages": [], "load": [], "reload": [], "setadd": [], "setadd_rt": [],
         "floor": [], "reference": [], "notes": []}
    have_set = ztc_has(opts.ztc, "set")
    methods = ["compile", "ztc", "floor"] + ([] if opts.skip_reference else ["reference"])
    for rnd in range(opts.runs):
        order = methods[rnd % len(methods):] + methods[:rnd % len(methods)]
        for method in order:
            if method == "compile":
                m, stages = run_compile(opts.ztc, inp)
                r["compile"].append(m)
                r["stages"].append(stages)
                continue
            ns = fresh_node()
            try:
                if method == "ztc":
                    m, changes, line = run_ztc_load(opts.ztc, inp, ns)
                    r["load"].append(m)
                    if rnd == 0:
                        members, routes = count_installed(ns)
                        if members != inp.n or routes != inp.n + 1:
                            raise BenchError(f"after ztc load: {members} members, {routes} routes "
                                             f"in table 100 (expected {inp.n}, {inp.n + 1})")
                    m, changes, line = run_ztc_load(opts.ztc, inp, ns)
                    if changes != 0:
                        raise BenchError(f"re-load of an unchanged policy: `{line}`")
                    r["reload"].append(m)
                    if have_set:
                        m, _, _ = measured([opts.ztc, "set", "add", inp.policy, "pods", ONE_MORE_POD]
                                           + defines() + ["--netns", ns])
                        r["setadd"].append(m)
                        m, _, _ = measured([opts.ztc, "set", "add", inp.runtime_policy, "pods",
                                            ONE_MORE_POD_RT] + defines() + ["--netns", ns])
                        r["setadd_rt"].append(m)
                        if rnd == 0:
                            members, routes = count_installed(ns)
                            if members != inp.n + 2 or routes != inp.n + 3:
                                raise BenchError(f"after 2 x set add: {members} members, {routes} "
                                                 f"routes in table 100")
                elif method == "floor":
                    r["floor"].append(run_floor(inp, ns))
                else:
                    r["reference"].append(run_reference(inp, ns))
            finally:
                drop_node(ns)
        log(f"  N={inp.n}: round {rnd + 1}/{opts.runs} done")
    if not have_set:
        r["notes"].append("ztc has no `set` subcommand yet: set add not measured")
    return r


# ---- per packet ------------------------------------------------------------------------------------------
RX_NFT = f"""
table ip zscale_rx {{
	chain rx {{
		type filter hook prerouting priority -600; policy accept;
		udp dport {{ {UDP_PORT}, 6081 }} counter drop
	}}
}}
"""


def nft_counters(ns, table, chain):
    """[packets of each counter statement in a chain, in listing order]"""
    proc = netns.run(["nft", "-j", "list", "chain", "ip", table, chain], ns=ns)
    out = []
    for item in json.loads(proc.stdout)["nftables"]:
        for stmt in item.get("rule", {}).get("expr", []):
            if "counter" in stmt:
                out.append(stmt["counter"]["packets"])
    return out


def send_stream(src_ns, dst, port, count, seconds):
    """Bounded UDP stream from a socket created inside src_ns; the sending thread's CPU time (which
    includes the softirq forwarding through the node on this kernel) and wall time."""
    with netns.inside(src_ns):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((T.POD_A, 41500 if port != 6081 else 41501))
        s.connect((dst, port))
        payload = b"z" * 64
        sent = failed = 0
        ru0 = resource.getrusage(resource.RUSAGE_THREAD)
        t0 = time.monotonic()
        end = t0 + seconds
        while sent + failed < count:
            try:
                s.send(payload)
                sent += 1
            except OSError:
                failed += 1
            if (sent & 1023) == 0 and time.monotonic() > end:
                break
        wall = time.monotonic() - t0
        ru1 = resource.getrusage(resource.RUSAGE_THREAD)
    finally:
        s.close()
    return {"sent": sent, "failed": failed, "wall": wall,
            "user": ru1.ru_utime - ru0.ru_utime, "sys": ru1.ru_stime - ru0.ru_stime}


def bench_packets(opts, workdir, large, log):
    """Two lab topologies, 10 vs `large` enrolled pods, alternating bounded trials."""
    results = {}
    topos = {}
    try:
        for label, n in (("small", 10), ("large", large)):
            inp = Inputs(opts.ztc, n, opts.ifaces, os.path.join(workdir, f"pkt-{label}"),
                         first_pods=[T.POD_A], first_veths=[T.POD_A_VETH])
            topo = T.Topology(prefix=f"zl-{os.getpid()}-p{label[0]}", edition="second")
            topos[label] = topo
            topo.build()
            node = topo.ns("node")
            measured([opts.ztc, "load", inp.policy] + defines() + ["--netns", node])
            netns.run(["nft", "-f", "-"], ns=topo.ns("remote"), input=RX_NFT)
            members, routes = count_installed(node)
            log(f"  per-packet node '{label}': {members} pods enrolled, {routes} routes in table 100")
            results[label] = {"pods": members, "routes": routes, "udp": [], "udp6081": []}
        flows = (("udp", UDP_PORT), ("udp6081", 6081))
        for label in topos:  # warm-up: conntrack entries, caches
            for _, port in flows:
                send_stream(topos[label].ns("pod_a"), T.RPOD, port, 2000, 10)
        for trial in range(opts.trials):
            for label in (("small", "large") if trial % 2 == 0 else ("large", "small")):
                topo = topos[label]
                for flow, port in flows:
                    node_before = nft_counters(topo.ns("node"), "ztunnel", "prerouting")
                    rx_before = nft_counters(topo.ns("remote"), "zscale_rx", "rx")
                    s = send_stream(topo.ns("pod_a"), T.RPOD, port, opts.packets, 60)
                    node_after = nft_counters(topo.ns("node"), "ztunnel", "prerouting")
                    rx_after = nft_counters(topo.ns("remote"), "zscale_rx", "rx")
                    s["received"] = rx_after[0] - rx_before[0]
                    # The first counter of table ztunnel is the scale rule's: both set lookups hit.
                    s["matched_sets"] = node_after[0] - node_before[0]
                    results[label][flow].append(s)
            log(f"  per-packet: trial {trial + 1}/{opts.trials} done")
    finally:
        for topo in topos.values():
            topo.destroy()
    return results


# ---- report ------------------------------------------------------------------------------------------------
def machine():
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break

    def version(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return "?"
    return {"nproc": os.cpu_count(), "kernel": platform.release(), "cpu": cpu,
            "loadavg": open("/proc/loadavg").read().split()[:3],
            "nft": version(["nft", "--version"]), "ip": version(["ip", "-V"])}


def fmt_s(m):
    return f"{m:.3f}" if m == m else "-"


def summarize(size_results):
    rows = []
    for n, r in size_results:
        def cpu(k):
            return med([m.cpu for m in r[k]])

        def wall(k):
            return med([m.wall for m in r[k]])

        def rss(k):
            return med([m.rss for m in r[k]]) / 1024

        row = {"n": n}
        for k in ("compile", "load", "reload", "setadd", "setadd_rt", "floor", "reference"):
            row[k] = {"cpu": cpu(k), "wall": wall(k), "rss_mb": rss(k), "runs": len(r[k])}
        for st in ("parse", "check", "lower", "emit"):
            row.setdefault("stages_ms", {})[st] = med([s.get(st, float("nan")) for s in r["stages"]])
        row["notes"] = r["notes"]
        rows.append(row)
    return rows


def ratio(a, b):
    return a / b if b and a == a and b == b else float("nan")


def print_report(mach, rows, packets, out):
    out(f"machine: {mach['nproc']} CPUs, kernel {mach['kernel']}, {mach['cpu']}, "
        f"load average {' '.join(mach['loadavg'])} at start")
    out(f"tools: {mach['nft']}; {mach['ip']}")
    out("")
    out("Times: median CPU seconds (user+sys of the child, from wait4) / median wall seconds; "
        "RSS: peak MB.")
    out("")
    out("| pods | compile cpu/wall | compile RSS | ztc load cpu/wall | load RSS | floor cpu/wall | "
        "reference cpu/wall | reload cpu/wall | set add cpu/wall | set add, run-time policy |")
    out("|---:|---|---:|---|---:|---|---|---|---|---|")
    for r in rows:
        def cw(k):
            return f"{fmt_s(r[k]['cpu'])} / {fmt_s(r[k]['wall'])}"
        out(f"| {r['n']} | {cw('compile')} | {r['compile']['rss_mb']:.0f} | {cw('load')} | "
            f"{r['load']['rss_mb']:.0f} | {cw('floor')} | {cw('reference')} | {cw('reload')} | "
            f"{cw('setadd')} | {cw('setadd_rt')} |")
    out("")
    out("| pods | ztc/floor cpu (wall) | ztc/reference cpu (wall) | compile/load cpu (wall) | "
        "set add/reload cpu (wall) | set add, run-time policy/reload | "
        "compile stages parse/check/lower/emit ms (wall) |")
    out("|---:|---|---|---|---|---|---|")
    for r in rows:
        def rr(a, b):
            return (f"{ratio(r[a]['cpu'], r[b]['cpu']):.2f} "
                    f"({ratio(r[a]['wall'], r[b]['wall']):.2f})")
        st = r["stages_ms"]
        out(f"| {r['n']} | {rr('load', 'floor')} | {rr('load', 'reference')} | "
            f"{rr('compile', 'load')} | {rr('setadd', 'reload')} | {rr('setadd_rt', 'reload')} | "
            f"{st['parse']:.0f}/{st['check']:.0f}/{st['lower']:.0f}/{st['emit']:.0f} |")
    for r in rows:
        for note in r["notes"]:
            out(f"note (N={r['n']}): {note}")
    if packets:
        out("")
        out("Per packet (median of trials; CPU = sending thread's user+sys per packet, which "
            "includes the node's forwarding):")
        out("")
        out("| flow | node | pods | routes t100 | CPU us/pkt | sys us/pkt | kpkt/s (wall) | "
            "received | set-rule hits |")
        out("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        summary = {}
        for flow in ("udp", "udp6081"):
            for label in ("small", "large"):
                p = packets[label]
                t = p[flow]
                cpu_us = med([(s["user"] + s["sys"]) / max(1, s["sent"]) * 1e6 for s in t])
                sys_us = med([s["sys"] / max(1, s["sent"]) * 1e6 for s in t])
                kpps = med([s["received"] / s["wall"] / 1e3 for s in t])
                recv = sum(s["received"] for s in t)
                sent = sum(s["sent"] for s in t)
                hits = sum(s["matched_sets"] for s in t)
                summary[(flow, label)] = (cpu_us, kpps)
                out(f"| {flow} | {label} | {p['pods']} | {p['routes']} | {cpu_us:.2f} | "
                    f"{sys_us:.2f} | {kpps:.1f} | {recv}/{sent} | {hits} |")
        out("")
        for flow in ("udp", "udp6081"):
            c = ratio(summary[(flow, "large")][0], summary[(flow, "small")][0])
            k = ratio(summary[(flow, "small")][1], summary[(flow, "large")][1])
            out(f"per-packet {flow}: large/small CPU per packet {c:.3f}, "
                f"small/large packets/s {k:.3f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ztc", default=os.path.join(REPO, "build-bench", "ztc"))
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--ifaces", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--packets", type=int, default=200000, help="UDP packets per trial")
    ap.add_argument("--trials", type=int, default=5, help="per-packet trials per node and flow")
    ap.add_argument("--skip-reference", action="store_true")
    ap.add_argument("--skip-packets", action="store_true")
    ap.add_argument("--skip-loads", action="store_true", help="only the per-packet part")
    ap.add_argument("--json", help="also write every measurement here")
    ap.add_argument("--keep-policies", help="write the generated inputs here and keep them")
    opts = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("scale.py: needs root (network namespaces)", file=sys.stderr)
        return 77
    if not os.access(TIME, os.X_OK):
        print(f"scale.py: needs GNU time at {TIME} (apt-get install time)", file=sys.stderr)
        return 2
    if not os.access(opts.ztc, os.X_OK):
        print(f"scale.py: no ztc at {opts.ztc} (build it, or --ztc PATH)", file=sys.stderr)
        return 2
    sizes = [int(s) for s in opts.sizes.split(",") if s]

    def log(line):
        print(line, file=sys.stderr, flush=True)

    def on_signal(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        signal.signal(s, on_signal)
    signal.alarm(OVERALL_TIMEOUT)
    netns.remove_stale()
    workdir = opts.keep_policies or tempfile.mkdtemp(prefix="ztc-scale-")
    os.makedirs(workdir, exist_ok=True)
    mach = machine()
    size_results, packets = [], None
    try:
        if not opts.skip_loads:
            for n in sizes:
                log(f"N={n}: generating and compiling inputs")
                inp = Inputs(opts.ztc, n, opts.ifaces, workdir)
                if not opts.skip_reference:
                    inp.write_reference()
                size_results.append((n, bench_size(opts, inp, log)))
        if not opts.skip_packets:
            log(f"per packet: 10 vs {max(sizes)} pods")
            packets = bench_packets(opts, workdir, max(sizes), log)
    except BenchError as e:
        print(f"scale.py: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        print(f"scale.py: interrupted ({e})", file=sys.stderr)
        return 2
    finally:
        signal.alarm(0)
        netns.cleanup()
        if not opts.keep_policies:
            shutil.rmtree(workdir, ignore_errors=True)
    rows = summarize(size_results)
    print_report(mach, rows, packets, print)
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump({"machine": mach, "sizes": rows,
                       "raw": {str(n): {k: [vars(m) if isinstance(m, Measure) else m for m in v]
                                        for k, v in r.items()} for n, r in size_results},
                       "packets": packets}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
