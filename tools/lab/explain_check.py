"""`ztc explain` against the kernel: every probe step of the ztc side is also explained
(`ztc explain POLICY -D... --netns NODE --json PACKET`), and its prediction (where the packet
leaves the node, or that it is delivered to the node, or dropped; its final mark; its ct mark)
is compared with what the observer table saw the kernel do with the same packet.

The packet words come from the probe alone (who sends it, on which node interface it arrives,
addresses, ports, the pre-set mark and ct mark bits); a reply step's ct mark is the one explain
predicted for the probe's first step, so a wrong ct save shows up on the reply too.
"""

import json

import netns
import topology as T

# Where a sender's packets arrive on the node.
ARRIVES_ON = {"pod_a": T.POD_A_VETH, "pod_b": T.POD_B_VETH, "remote": T.UPLINK, "cpu": T.CPUTUN}
# ztunnel's socket mark picks its tunnel (1: pistioin, 2: pistioout); the inner packet arrives on
# the node's end. The mark itself does not cross the namespace.
ZT_TUNNEL = {1: "istioin", 2: "istioout"}
CT_BIT, MARK_BIT = 0x1, 0x1000  # as env.py pre-sets them (forward steps only: `th sport @...`)


# A one-mistake policy for explain while the kernel runs the right one: the comparison must catch it,
# on exactly these probe steps (`lab.py run --explain-mutant`, ctest lab_explain_catches_a_mistake).
MUTANT = ("tcp saddr @pods                     => mark |= outbound",
          "tcp saddr @pods                     => mark = outbound",
          ["podA-tcp-markbit ->"])


def write_mutant(policy, path):
    text = open(policy).read()
    old, new, _ = MUTANT
    if text.count(old) != 1:
        raise netns.LabError(f"explain mutant: `{old}` is not in {policy} exactly once")
    with open(path, "w") as f:
        f.write(text.replace(old, new))
    return MUTANT[2]


def packet_words(probe, step, ct_mark):
    if step.sender == "node":
        words = ["local"]
    elif step.sender == "zt":
        words = ["iif", ZT_TUNNEL.get(step.sockmark, T.ZT_VETH)]
    else:
        words = ["iif", ARRIVES_ON[step.sender]]
    sport, dport = (step.port, probe.port) if step.reply else (probe.port, step.port)
    mark = step.sockmark if step.sender == "node" else 0
    if probe.markbit and not step.reply:
        mark |= MARK_BIT
    if probe.ctbit and not step.reply:
        ct_mark |= CT_BIT
    words += [step.proto, "saddr", step.src, "daddr", step.dst, "sport", str(sport),
              "dport", str(dport), "mark", hex(mark), "ct", "mark", hex(ct_mark)]
    return words


def predict(ztc, policy, defines, node, probes, log):
    """{probe: [(words, prediction dict) per step]}: ztc explain run inside the node namespace."""
    out = {}
    for p in probes:
        steps, ct_mark = [], 0
        for st in p.steps:
            words = packet_words(p, st, ct_mark)
            cmd = [ztc, "explain", policy] + defines + ["--netns", node, "--json"] + words
            log(f"  $ {' '.join(cmd)}")
            proc = netns.run(cmd, check=False)
            if proc.returncode != 0:
                raise netns.LabError(f"ztc explain failed (exit {proc.returncode}): {' '.join(cmd)}\n"
                                     f"{(proc.stderr + proc.stdout).strip()}")
            result = json.loads(proc.stdout)
            steps.append((words, result))
            ct_mark = int(result["ct_mark"], 16)
        out[p.name] = steps
    return out


def kernel_outcomes(probes, node_sets):
    """{probe: {direction: {"leave": {oif}, "local": {iif}, "mark": {..}, "ct": {..}}}} from the
    observer's sets on the node (postrouting 1000 and input 1000: after every capture hook)."""
    by_port = {p.port: p for p in probes}
    got = {p.name: {} for p in probes}

    def slot(sport, dport):
        if sport in by_port:
            return got[by_port[sport].name].setdefault("->", _empty())
        if dport in by_port:
            return got[by_port[dport].name].setdefault("<-", _empty())
        return None

    for sport, dport, _s, _d, ifname in node_sets.get("post", []):
        s = slot(sport, dport)
        if s is not None:
            s["leave"].add(ifname)
    for sport, dport, _s, _d, ifname in node_sets.get("in", []):
        s = slot(sport, dport)
        if s is not None:
            s["local"].add(ifname)
    for kind in ("postm", "inm"):
        for sport, dport, mark, ct in node_sets.get(kind, []):
            s = slot(sport, dport)
            if s is not None:
                s["mark"].add(mark)
                s["ct"].add(ct)
    return got


def _empty():
    return {"leave": set(), "local": set(), "mark": set(), "ct": set()}


def _fmt(where, marks, cts):
    m = ",".join(f"{x:#x}" for x in sorted(marks)) or "-"
    c = ",".join(f"{x:#x}" for x in sorted(cts)) or "-"
    return f"{where} mark={m} ct={c}"


def kernel_text(k):
    if k["leave"] and not k["local"]:
        where = "leaves " + ",".join(sorted(k["leave"]))
    elif k["local"] and not k["leave"]:
        where = "local"
    elif not k["leave"] and not k["local"]:
        where = "dropped"
    else:
        where = "leaves " + ",".join(sorted(k["leave"])) + " and local"
    return _fmt(where, k["mark"], k["ct"])


def prediction_text(r):
    if r["verdict"] == "egress":
        where = f"leaves {r['route']['dev']}"
    elif r["verdict"] == "local":
        where = "local"
    else:
        where = "dropped" if r["verdict"] == "drop" else "unreachable"
    mark, ct = int(r["mark"], 16), int(r["ct_mark"], 16)
    if where in ("dropped", "unreachable"):
        return _fmt(where, set(), set())
    return _fmt(where, {mark}, {ct})


def compare(probes, predictions, node_sets, out):
    """Print one line per probe step; return the list of disagreeing steps."""
    kernel = kernel_outcomes(probes, node_sets)
    bad = []
    w = max(len(p.name) for p in probes) + 3
    out(f"{'probe step':<{w}}  {'kernel (ztc side)':<40}  ztc explain")
    for p in probes:
        for k, (words, result) in enumerate(predictions[p.name]):
            d = "<-" if p.steps[k].reply else "->"
            got = kernel_text(kernel[p.name].get(d, _empty()))
            want = prediction_text(result)
            same = got == want
            name = f"{p.name} {d}"
            out(f"{name:<{w}}  {got:<40}  {want}{'' if same else '   <-- DISAGREE'}")
            if not same:
                bad.append((name, words, got, want, result))
    for name, words, got, want, result in bad:
        out(f"\n--- {name}: ztc explain {' '.join(words)}")
        out(f"  kernel:  {got}")
        out(f"  explain: {want}")
        for s in result["steps"]:
            if s["matched"]:
                out(f"    {s['hook']:<11} {s['location'] or '(kernel)'}: {s['effect']}")
        for n in result["notes"]:
            out(f"    note: {n}")
    return bad
