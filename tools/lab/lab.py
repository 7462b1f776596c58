#!/usr/bin/env python3
"""ztc equivalence lab: do ztc's rules behave like the iptables reference, on real packets?

  lab.py run [--edition second|first] [--side ztc|exact|naive|reference] [--ztc PATH]
             [--policy FILE] [--ztc-mode auto|load|compile] [--expect equivalent|different]
             [-v] [--keep]
  lab.py selfcheck      reference vs reference and vs exact.nft: EQUIVALENT; vs naive.nft and
                        each single-mistake mutant of exact.nft: DIFFERENT, on the probe meant for it
  lab.py coverage       which reference rules each probe hits (iptables-legacy counters)
  lab.py probes         the probe list as a Markdown table
  lab.py cleanup        remove namespaces left behind by lab runs that were killed

Builds two identical copies of an ambient node from network namespaces, loads the reference
(reference/seed-dumps.txt: iptables-legacy + ipset + ip rule/route) into one and the side under test
into the other, sends the same crafted packets through both and compares where each one arrived,
its addresses after NAT, its final mark and its ct mark. Exit status: 0 when the result is the
expected one (EQUIVALENT unless --expect different), 1 when it is not, 2 when the lab itself could
not run, 77 when not root. See README.md.
"""

import argparse
import os
import re
import signal
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import env  # noqa: E402
import explain_check  # noqa: E402
import mutants  # noqa: E402
import netns  # noqa: E402
import probes as P  # noqa: E402
import reference  # noqa: E402
import topology as T  # noqa: E402

REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
EDITION_ALIASES = {"second": "second", "node": "second", "ambient-node": "second",
                   "first": "first", "offmesh": "first", "ambient-offmesh": "first"}
POLICY = {"second": "examples/ambient-node.zt", "first": "examples/ambient-offmesh.zt"}
TAGS = {"reference": "r", "exact": "x", "naive": "n", "ztc": "z"}
ENROLLED = [T.POD_A]
ENROLLED_VETHS = [T.POD_A_VETH]
OVERALL_TIMEOUT = 150  # seconds for one lab.py invocation, whatever happens


class Interrupted(BaseException):
    pass


def _on_signal(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


# ---- sides -------------------------------------------------------------------------------------
def ztc_params(edition):
    p = {"ztunnel_veth": T.ZT_VETH, "ztunnel_ip": T.ZT, "host_ip": T.HOST}
    if edition == "first":
        p.update(uplink=T.UPLINK, cputunnel_gw=T.CPU_GW, peer_node_ip=T.PEER)
    return p


def load_nft_side(topo, kind, mutant=None):
    """exact / naive: the hand-written nft file and its routing script (optionally one mutant)."""
    node = topo.ns("node")
    suffix = "-offmesh" if topo.edition == "first" else ""
    if kind == "naive" and topo.edition == "first":
        raise netns.LabError("naive.nft exists for the second edition only")
    nft_text = open(os.path.join(HERE, f"{kind}{suffix}.nft")).read()
    sh_text = open(os.path.join(HERE, f"exact{suffix}.sh")).read()
    if mutant:
        name, _, what, old, new, _ = mutant
        if what == "nft":
            nft_text = mutants.apply(nft_text, old, new, name)
        else:
            sh_text = mutants.apply(sh_text, old, new, name)
    netns.run(["nft", "-D", f"ztunnel_veth={T.ZT_VETH}", "-D", f"ztunnel_ip={T.ZT}",
               "-D", f"host_ip={T.HOST}", "-f", "-"], ns=node, input=nft_text)
    args = [T.ZT_VETH, T.ZT, T.HOST]
    if topo.edition == "first":
        args += [T.UPLINK, T.CPU_GW, T.PEER]
    netns.run(["sh", "-s", "--"] + args + ENROLLED, ns=node, input=sh_text)


def ztc_subcommands(ztc):
    proc = netns.run([ztc, "--help"], check=False)
    return set(re.findall(r"^\s{2}(\w[\w-]*)\s{2,}", proc.stdout.split("Subcommands:")[-1], re.M))


def ztc_mode(opts):
    """`load` (`ztc load` + `ztc set add`: what CI tests), `compile` (apply `ztc compile` output with
    nft/ip), `load+compiled-set` (`ztc load`, then enrol pods as `ztc compile` describes it: for a
    ztc that has `load` but no `set` yet), or `auto` (the most of ztc that exists)."""
    have = ztc_subcommands(opts.ztc)
    if opts.ztc_mode == "auto":
        if "load" in have:
            return "load" if "set" in have else "load+compiled-set"
        return "compile"
    if opts.ztc_mode == "load":
        missing = [c for c in ("load", "set") if c not in have]
        if missing:
            raise netns.LabError(
                f"{opts.ztc} has no `{'` / `'.join(missing)}` subcommand yet (it has: "
                f"{', '.join(sorted(have)) or 'none'}); `--ztc-mode auto` tests what exists meanwhile")
    return opts.ztc_mode


def _ztc(cmd, log):
    log(f"  $ {' '.join(cmd)}")
    proc = netns.run(cmd, check=False)
    if proc.returncode != 0:
        raise netns.LabError(f"ztc failed (exit {proc.returncode}): {' '.join(cmd)}\n"
                             f"{(proc.stderr + proc.stdout).strip()}")
    return proc.stdout


def apply_compiled(node, nft_text, routes_text, set_name, pods, base=True):
    """Install `ztc compile` output the way its comments say: nft -f, sysctls, ip -batch, and the
    per-member template for each enrolled pod (only the latter when base is False)."""
    if base:
        netns.run(["nft", "-f", "-"], ns=node, input=nft_text)
    tables = re.findall(r"^table (\w+) (\S+) \{\s*$", nft_text, re.M)
    if not tables:
        raise netns.LabError("ztc compile: no table in the nft output")
    family, table = tables[-1]
    sysctls, batch, templates = {}, [], []
    for line in routes_text.splitlines():
        line = line.strip()
        m = re.fullmatch(r"#\s*sysctl net\.(\S+)=(\S+)", line)
        if m:
            # net.ipv4.conf.DEV.key: the device name may not contain dots for this to be exact.
            sysctls[m.group(1).replace(".", "/")] = m.group(2)
            continue
        m = re.fullmatch(r"#\s*for each member of @(\S+):\s*(.*)", line)
        if m:
            templates.append((m.group(1), m.group(2)))
            continue
        if line and not line.startswith("#"):
            batch.append(line)
    if base:
        netns.write_sysctls(node, sysctls)
        netns.ip_batch(node, batch)
    for pod in pods:
        netns.run(["nft", "add", "element", family, table, set_name, f"{{ {pod} }}"], ns=node)
        netns.ip_batch(node, [t.replace("<member>", pod) for sname, t in templates if sname == set_name])


def load_ztc_side(topo, opts, log):
    node = topo.ns("node")
    ztc = opts.ztc
    if not os.path.isfile(ztc) or not os.access(ztc, os.X_OK):
        raise netns.LabError(f"ztc binary not found or not executable: {ztc} (build it, or --ztc PATH)")
    policy = opts.policy or os.path.join(REPO, POLICY[topo.edition])
    if not os.path.isfile(policy):
        raise netns.LabError(f"policy not found: {policy}")
    defs = []
    for k, v in ztc_params(topo.edition).items():
        defs += ["-D", f"{k}={v}"]
    mode = ztc_mode(opts)
    if mode == "compile":
        log("  NOTE: ztc has no `load` yet: applying `ztc compile` output with nft and ip")
        nft_text = _ztc([ztc, "compile", policy] + defs + ["--emit", "nft"], log)
        routes = _ztc([ztc, "compile", policy] + defs + ["--emit", "routes"], log)
        apply_compiled(node, nft_text, routes, "pods", ENROLLED)
        return mode
    if "preflight" in ztc_subcommands(ztc):
        # The lab's node is a plain ambient node: nothing on it may fight the policy.
        _ztc([ztc, "preflight", policy] + defs + ["--netns", node], log)
    _ztc([ztc, "load", policy] + defs + ["--netns", node], log)
    if mode == "load+compiled-set":
        log("  NOTE: ztc has no `set add` yet: enrolling pods as `ztc compile` describes it")
        nft_text = _ztc([ztc, "compile", policy] + defs + ["--emit", "nft"], log)
        routes = _ztc([ztc, "compile", policy] + defs + ["--emit", "routes"], log)
        apply_compiled(node, nft_text, routes, "pods", ENROLLED, base=False)
        return mode
    for pod in ENROLLED:
        _ztc([ztc, "set", "add", policy, "pods", pod] + defs + ["--netns", node], log)
    return mode


class SideResult:
    def __init__(self, kind, edition, obs, summary, counters, seconds, state, explained=None):
        self.kind, self.edition = kind, edition
        self.obs, self.summary, self.counters = obs, summary, counters
        self.seconds, self.state = seconds, state
        self.explained = explained  # (predictions, observer sets) when `ztc explain` ran


def explain_wanted(opts):
    """--explain yes|no|auto: run every probe through `ztc explain` too (auto: if ztc has it)."""
    if opts.side != "ztc" or opts.explain == "no":
        return False
    have = "explain" in ztc_subcommands(opts.ztc)
    if opts.explain == "yes" and not have:
        raise netns.LabError(f"{opts.ztc} has no `explain` subcommand")
    return have


def explain_side(topo, opts, plist, node_sets, log):
    policy = opts.explain_policy or opts.policy or os.path.join(REPO, POLICY[topo.edition])
    defs = []
    for k, v in ztc_params(topo.edition).items():
        defs += ["-D", f"{k}={v}"]
    return explain_check.predict(opts.ztc, policy, defs, topo.ns("node"), plist, log)


def node_state(node):
    """What the side installed, for --verbose and for failure reports."""
    parts = []
    for cmd in (["nft", "list", "ruleset"], ["ip", "rule"], ["ip", "route", "show", "table", "all"]):
        proc = netns.run(cmd, ns=node, check=False)
        parts.append(f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    proc = netns.run(["iptables-legacy-save"], ns=node, check=False)
    if "-A " in proc.stdout:
        parts.append(f"$ iptables-legacy-save\n{proc.stdout}")
    return "\n".join(parts)


def run_side(kind, edition, opts, log, tag=None, between_factory=None, mutant=None):
    t0 = time.monotonic()
    topo = T.Topology(f"zl-{os.getpid()}-{tag or TAGS[kind]}", edition)
    plist = P.probes_for(edition)
    try:
        topo.build()
        node = topo.ns("node")
        netns.run(["nft", "-f", "-"], ns=node, input=env.observer_nft(
            [p.port for p in plist if p.ctbit], [p.port for p in plist if p.markbit]))
        if kind == "reference":
            reference.load(topo, ENROLLED, ENROLLED_VETHS)
        else:
            netns.run(["nft", "-f", "-"], ns=node, input=env.kube_nft(masq=(edition == "second")))
            if kind == "ztc":
                mode = load_ztc_side(topo, opts, log)
                if mode != "load":
                    print(f"NOTE: ztc side not entirely by `ztc load` + `ztc set add` "
                          f"(--ztc-mode {mode})", flush=True)
            else:
                load_nft_side(topo, kind, mutant)
        # The side under test must leave other tables alone (DESIGN: never touch another table).
        tables = netns.run(["nft", "list", "tables"], ns=node).stdout.split("\n")
        needed = ["table ip " + env.OBSERVER_TABLE] + ([] if kind == "reference" else ["table ip kube-proxy"])
        gone = [t for t in needed if t not in tables]
        if gone:
            raise netns.LabError(f"loading the {kind} side removed tables it does not own: {gone}")
        between = between_factory(topo) if between_factory else None
        arrivals = P.run(topo, plist, between)
        node_sets = env.read_observer(node)
        obs, summary = P.observe(plist, node_sets, arrivals)
        counters = reference.read_counters(node) if kind == "reference" else None
        state = node_state(node) if opts.verbose else ""
        explained = None
        if kind == "ztc" and getattr(opts, "explain_probes", False):
            explained = (explain_side(topo, opts, plist, node_sets, log), node_sets)
        return SideResult(kind, edition, obs, summary, counters, time.monotonic() - t0, state,
                          explained)
    finally:
        if opts.keep:
            print(f"kept namespaces {topo.ns('*')} (removed by the next lab run or `lab.py cleanup`)",
                  flush=True)
        else:
            failed = topo.destroy()
            if failed:
                raise netns.LabError(f"could not delete namespaces {failed}")


# ---- reporting ---------------------------------------------------------------------------------
def fmt_steps(steps):
    return " | ".join(steps)


def compare(ref, other, out, verbose=False):
    """Print the probe table; return the names of differing probes."""
    names = list(ref.obs)
    w = max(len(n) for n in names)
    col = max(len(fmt_steps(ref.summary[n])) for n in names)
    out(f"{'probe':<{w}}  {'reference (arrived, mark, NAT, ct mark)':<{col}}  "
        f"{other.kind} (same columns)")
    diffs = []
    for n in names:
        same = ref.obs[n] == other.obs[n]
        if not same:
            diffs.append(n)
        r, o = fmt_steps(ref.summary[n]), fmt_steps(other.summary[n])
        if not same and o == r:
            o += "  (details differ, below)"
        out(f"{n:<{w}}  {r:<{col}}  {o}{'' if same else '   <-- DIFFERENT'}")
    for n in diffs:
        out(f"\n--- {n}: {next(p.what for p in P.PROBES if p.name == n)}")
        rs, os_ = set(ref.obs[n]), set(other.obs[n])
        for line in ref.obs[n]:
            out(f"  {'  ' if line in os_ else '- '}{line}")
        for line in other.obs[n]:
            if line not in rs:
                out(f"  + {line}")
        out(f"  (- only in reference, + only in {other.kind})")
    if verbose:
        for n in names:
            if n not in diffs:
                out(f"\n--- {n}")
                for line in ref.obs[n]:
                    out(f"    {line}")
    return diffs


def check_expectations(ref, out):
    """The reference must do in the lab what reference/SEMANTICS.md says (else the lab is broken)."""
    bad = []
    for p in P.probes_for(ref.edition):
        got = [" ".join(s.split()[:2]) for s in ref.summary[p.name]]
        want = p.expect[ref.edition]
        if got != want:
            bad.append(f"  {p.name}: expected {want}, reference gave {got}")
    if bad:
        out(f"LAB BROKEN: the reference ({ref.edition} edition) did not behave as SEMANTICS.md says:")
        for b in bad:
            out(b)
    return not bad


def unhit_rules(ref):
    rows = ref.counters or []
    labels = reference.rule_labels(rows)
    return [f"{lab}: -A {chain} {rule}" for lab, (t, chain, rule, n) in zip(labels, rows)
            if n == 0 and reference.is_capture_rule(chain, rule)]


def report_counters(ref, out):
    zero = unhit_rules(ref)
    if zero:
        out(f"reference rules no probe hit ({len(zero)}):")
        for z in zero:
            out(f"  {z}")
    else:
        n = sum(1 for t, c, r, _ in ref.counters if reference.is_capture_rule(c, r))
        out(f"reference rules hit: all {n} capture rules (ztunnel-* chains and jumps) have non-zero "
            f"counters")
    return not zero


# ---- commands ----------------------------------------------------------------------------------
def cmd_run(opts, out):
    edition = opts.edition
    log = out if opts.verbose else (lambda *_: None)
    out(f"ztc equivalence lab: {edition} edition ({POLICY[edition]}), reference vs {opts.side}")
    out(f"reference: {reference.seed_path()}")
    opts.explain_probes = explain_wanted(opts)
    if opts.explain_mutant:
        opts.explain_policy = opts.explain_policy_tmp = os.path.join(
            "/tmp", f"zl-{os.getpid()}-explain-mutant.zt")
        opts.explain_mutant = explain_check.write_mutant(
            opts.policy or os.path.join(REPO, POLICY[edition]), opts.explain_policy)
    ref = run_side("reference", edition, opts, log)
    other = run_side(opts.side, edition, opts, log,
                     tag="r2" if opts.side == "reference" else None)
    if opts.verbose:
        out(other.state)
    lab_ok = check_expectations(ref, out)
    diffs = compare(ref, other, out, opts.verbose)
    report_counters(ref, out)
    n = len(ref.obs)
    verdict = "DIFFERENT" if diffs else "EQUIVALENT"
    out(f"{verdict} {n - len(diffs)}/{n}   (reference {ref.seconds:.1f}s, {opts.side} "
        f"{other.seconds:.1f}s)")
    explain_ok = True
    if other.explained:
        predictions, node_sets = other.explained
        plist = P.probes_for(edition)
        out("\nztc explain vs the kernel (ztc side): where the packet leaves the node (or local, "
            "dropped), its mark, its ct mark")
        disagree = [d[0] for d in explain_check.compare(plist, predictions, node_sets, out)]
        total = sum(len(p.steps) for p in plist)
        out(f"EXPLAIN {'DISAGREES' if disagree else 'AGREES'} {total - len(disagree)}/{total} "
            f"probe steps ({len(plist)} probes)")
        if opts.explain_mutant:
            explain_ok = disagree == opts.explain_mutant
            out(f"explain mutant ({explain_check.MUTANT[1].split()[-3:]}): expected to disagree on "
                f"{opts.explain_mutant}: {'caught' if explain_ok else 'NOT CAUGHT'}")
        else:
            explain_ok = not disagree
    if not lab_ok:
        return 2
    want_diff = opts.expect == "different"
    return 0 if bool(diffs) == want_diff and explain_ok else 1


def cmd_selfcheck(opts, out):
    """Show that the lab can tell equivalent from different, with probes for each mistake."""
    log = out if opts.verbose else (lambda *_: None)
    out(f"reference: {reference.seed_path()}")
    failures = []
    for edition, others in (("second", ("reference", "exact", "naive")), ("first", ("reference", "exact"))):
        out(f"== {edition} edition")
        ref = run_side("reference", edition, opts, log)
        if not check_expectations(ref, out):
            failures.append(f"{edition}: reference does not behave as expected in the lab")
        else:
            out(f"reference behaves as SEMANTICS.md says on all {len(ref.obs)} probes")
        if not report_counters(ref, out):
            failures.append(f"{edition}: some reference rules are hit by no probe")
        for kind in others:
            other = run_side(kind, edition, opts, log, tag="r2" if kind == "reference" else None)
            buf = []
            diffs = compare(ref, other, buf.append, False)
            n = len(ref.obs)
            verdict = f"{'DIFFERENT' if diffs else 'EQUIVALENT'} {n - len(diffs)}/{n}"
            if kind == "naive":
                caught = {c for p in P.PROBES if p.name in diffs for c in p.catches}
                wanted = {c for p in P.probes_for(edition) for c in p.catches}
                ok = bool(diffs) and caught >= wanted
                out(f"reference vs {kind}: {verdict} (expected DIFFERENT; mistakes caught: "
                    f"{', '.join(sorted(caught)) or 'none'}; differing: {', '.join(diffs)})")
                if not ok:
                    failures.append(f"{edition}: naive not caught for {sorted(wanted - caught)}")
                    for line in buf:
                        out(line)
            else:
                out(f"reference vs {kind}: {verdict} (expected EQUIVALENT) [{other.seconds:.1f}s]")
                if diffs:
                    failures.append(f"{edition}: reference vs {kind} differs")
                    for line in buf:
                        out(line)
        for i, m in enumerate(mu for mu in mutants.MUTANTS if mu[1] == edition):
            name, _, _, _, _, probe = m
            other = run_side("exact", edition, opts, log, tag=f"m{i}", mutant=m)
            diffs = compare(ref, other, lambda *_: None, False)
            ok = probe in diffs
            out(f"mutant {'caught' if ok else 'MISSED'}: {name:<45} differs on "
                f"{', '.join(diffs) or 'nothing'}")
            if not ok:
                failures.append(f"{edition}: mutant '{name}' not caught by {probe}")
    if failures:
        out("SELFCHECK FAILED:\n  " + "\n  ".join(failures))
        return 1
    out("SELFCHECK OK")
    return 0


def cmd_coverage(opts, out):
    """Per probe, the reference rules whose counters it moved."""
    edition = opts.edition
    log = out if opts.verbose else (lambda *_: None)
    hits = {}

    def factory(topo):
        node = topo.ns("node")
        netns.run(["iptables-legacy", "-t", "mangle", "-Z"], ns=node)
        netns.run(["iptables-legacy", "-t", "nat", "-Z"], ns=node)

        def between(p):
            rows = reference.read_counters(node)
            labels = reference.rule_labels(rows)
            hits[p.name] = [f"{lab}" for lab, (t, c, r, n) in zip(labels, rows)
                            if n and reference.is_capture_rule(c, r)]
            netns.run(["iptables-legacy", "-t", "mangle", "-Z"], ns=node)
            netns.run(["iptables-legacy", "-t", "nat", "-Z"], ns=node)
        return between

    run_side("reference", edition, opts, log, between_factory=factory)
    out(f"coverage, {edition} edition: reference rules each probe moves (mangle/nat, 1-based)")
    for p in P.probes_for(edition):
        short = [h.replace("ztunnel-", "z-") for h in hits.get(p.name, [])
                 if "/PREROUTING#" not in h and "/INPUT#" not in h and "/FORWARD#" not in h
                 and "/OUTPUT#" not in h and "/POSTROUTING#" not in h]
        out(f"{p.name:<20} {' '.join(short)}")
    return 0


def cmd_probes(opts, out):
    """The probe list as a Markdown table (README.md holds a copy)."""
    out("| probe | what it sends | reference rules it is for | reference, 2nd edition | 1st edition |")
    out("|---|---|---|---|---|")
    for p in P.PROBES:
        steps = []
        for st in p.steps:
            arrow = f"{st.src}:{st.port} > {st.dst}:U" if st.reply else f"{st.src}:U > {st.dst}:{st.port}"
            extra = f" (mark {st.sockmark:#x})" if st.sockmark else ""
            steps.append(f"{st.sender}: {st.proto} {arrow}{extra}")
        pre = (["ct mark 0x1 pre-set"] if p.ctbit else []) + (["mark 0x1000 pre-set"] if p.markbit else [])
        what = "; then ".join(steps) + (f" [{', '.join(pre)}]" if pre else "")
        exp = {e: " then ".join(v) for e, v in p.expect.items()}
        first = "same" if exp["first"] == exp["second"] else exp["first"]
        catches = f" **catches {', '.join(p.catches)}**" if p.catches else ""
        cells = [p.name, what, p.covers + catches, exp["second"], first]
        out("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("run", "selfcheck", "coverage", "cleanup", "probes"):
        sp = sub.add_parser(name)
        sp.add_argument("-v", "--verbose", action="store_true")
        sp.add_argument("--keep", action="store_true", help="keep the namespaces (debugging)")
        sp.add_argument("--edition", default="second", type=lambda s: EDITION_ALIASES[s],
                        help="second (ambient-node.zt) or first (ambient-offmesh.zt)")
        if name == "run":
            sp.add_argument("--side", default="ztc", choices=sorted(TAGS))
            sp.add_argument("--ztc", default=os.path.join(REPO, "build", "ztc"))
            sp.add_argument("--policy", help="policy file (default: examples/ambient-*.zt)")
            sp.add_argument("--ztc-mode", default="auto",
                            choices=("auto", "load", "load+compiled-set", "compile"),
                            help="load: `ztc load` + `ztc set add` (what CI runs); compile: apply "
                                 "`ztc compile` output with nft/ip; load+compiled-set: `ztc load`, "
                                 "pods enrolled as `ztc compile` says; auto: the most ztc has")
            sp.add_argument("--expect", default="equivalent", choices=("equivalent", "different"))
            sp.add_argument("--explain", default="auto", choices=("auto", "yes", "no"),
                            help="also run every probe through `ztc explain --netns` and compare "
                                 "its prediction with the kernel (auto: when ztc has `explain`)")
            sp.add_argument("--explain-mutant", action="store_true",
                            help="explain with a one-mistake copy of the policy: the comparison "
                                 "must disagree exactly where that mistake shows")
            sp.add_argument("--explain-policy",
                            help="explain with this policy instead of the loaded one (to see that "
                                 "the comparison catches a wrong prediction)")
    opts = ap.parse_args(argv)

    def out(line=""):
        print(line, flush=True)

    if opts.cmd == "probes":
        return cmd_probes(opts, out)
    if os.geteuid() != 0:
        out("lab: needs root (network namespaces, iptables, nft); skipping")
        return 77
    if opts.cmd == "cleanup":
        removed = netns.remove_stale()
        out(f"removed {len(removed)} stale lab namespaces" + (f": {' '.join(removed)}" if removed else ""))
        return 0

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        signal.signal(s, _on_signal)
    signal.alarm(OVERALL_TIMEOUT)
    t0 = time.monotonic()
    try:
        netns.remove_stale()
        if opts.cmd == "run":
            rc = cmd_run(opts, out)
        elif opts.cmd == "selfcheck":
            rc = cmd_selfcheck(opts, out)
        else:
            rc = cmd_coverage(opts, out)
    except netns.LabError as e:
        out(f"LAB ERROR: {e}")
        rc = 2
    except Interrupted as e:
        out(f"lab: interrupted ({e}), cleaning up")
        rc = 2 if str(e) == "SIGALRM" else 130
    finally:
        signal.alarm(0)
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        if not opts.keep and not netns.cleanup():
            rc = 2
        if getattr(opts, "explain_policy_tmp", None) and os.path.exists(opts.explain_policy_tmp):
            os.remove(opts.explain_policy_tmp)
    out(f"(lab took {time.monotonic() - t0:.1f}s)")
    return rc


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # output piped into `head`: cleanup already ran in main()
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
