#!/usr/bin/env python3
"""ztc random differential test: random policies, loaded with `ztc load`, against a reference
interpreter, on real packets.

  difftest.py run [--seed N] [--policies N] [--first I] [--packets N] [--ztc PATH] [--out DIR] [--reduce]
                  [--max-seconds S] [-v]
  difftest.py regress [--ztc PATH] [-v]   the cases under regressions/, each a bug found once
  difftest.py show --seed N [--index I]   print one generated policy and its packets
  difftest.py cleanup                     remove namespaces left by a killed run

Exit status: 0 when kernel and interpreter agree on every packet, 1 when they do not (each
mismatch is written under --out, reduced with --reduce), 2 when the test itself could not run,
77 when not root. See README.md.
"""

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep the source tree clean
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import gen  # noqa: E402
import harness  # noqa: E402
import interp  # noqa: E402
import model as M  # noqa: E402
import reduce as R  # noqa: E402
import render  # noqa: E402
from harness import LoadFailed, netns  # noqa: E402

REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
REGRESSIONS = os.path.join(HERE, "regressions")


class Interrupted(BaseException):
    pass


def _on_signal(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def policy_seed(seed, index):
    return seed * 100003 + index


class Runner:
    def __init__(self, ztc, verbose=False):
        self.ztc = ztc
        self.verbose = verbose
        self.tmp = tempfile.mkdtemp(prefix="ztc-difftest-")

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, policy):
        d = tempfile.mkdtemp(dir=self.tmp)
        for name, text in render.files(policy).items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        return os.path.join(d, render.TOP)

    @staticmethod
    def define_args(policy):
        out = []
        for name, value in policy.defines().items():
            out += ["-D", f"{name}={value}"]
        return out

    def compile_errors(self, policy):
        """ztc's diagnostics when it refuses the policy, else None."""
        path = self.write(policy)
        proc = netns.run([self.ztc, "compile", path, "--emit", "nft"] + self.define_args(policy),
                         check=False)
        if proc.returncode == 0:
            return None
        return proc.stderr.replace(os.path.dirname(path) + "/", "")

    def kernel(self, policy, probes):
        """{probe id: observation} from a fresh node; raises LoadFailed if ztc cannot load it."""
        path = self.write(policy)
        node = harness.Node()
        try:
            rc, out = node.ztc(self.ztc, ["load", path] + self.define_args(policy))
            if rc != 0:
                raise LoadFailed(out.replace(os.path.dirname(path) + "/", ""))
            for s in policy.of(M.SetDecl):
                if s.managed and s.members:
                    rc, out = node.ztc(self.ztc, ["set", "add", path, s.name] + s.members +
                                       self.define_args(policy))
                    if rc != 0:
                        raise LoadFailed(f"ztc set add: {out}")
            node.load_test_table(probes)
            expected_seen = len(probes)
            return node.send(probes, expected_seen)
        finally:
            node.close()

    def compare(self, policy, probes):
        """[(probe, expected, observed)] where they differ."""
        ref = interp.Interpreter(policy)
        expected = {p.sport: ref.run(p) for p in probes}
        observed = self.kernel(policy, probes)
        diffs = []
        for p in probes:
            want = expected[p.sport]
            got = observed.get(p.sport, ("dropped",))
            if want != got:
                diffs.append((p, want, got))
        return diffs


def describe_outcome(o):
    if o[0] == "dropped":
        return "dropped"
    if o[0] == "seen twice":
        return f"seen twice: {describe_outcome(o[1])} and {describe_outcome(o[2])}"
    where, mark, ct, daddr, dport, oif = o
    out = f"{where} mark {mark:#x} ct mark {ct:#x} daddr {daddr} dport {dport}"
    return out + (f" oif {oif}" if oif else "")


def report_case(policy, diffs, load_error=None):
    lines = []
    for name, text in render.files(policy).items():
        lines.append(f"--- {name}")
        lines.append(text.rstrip("\n"))
    if policy.defines():
        lines.append("--- defines: " + " ".join(f"-D {k}={v}"
                                                for k, v in policy.defines().items()))
    for s in policy.of(M.SetDecl):
        if s.managed and s.members:
            lines.append(f"--- ztc set add {s.name} " + " ".join(s.members))
    if load_error:
        lines.append("--- ztc load failed:\n" + load_error)
    for p, want, got in diffs:
        lines.append(f"--- probe {p.sport}: {p.describe()}")
        lines.append(f"    reference: {describe_outcome(want)}")
        lines.append(f"    kernel:    {describe_outcome(got)}")
    return "\n".join(lines) + "\n"


def save_case(out_dir, name, policy, probes, text):
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    for fname, ftext in render.files(policy).items():
        with open(os.path.join(d, fname), "w") as f:
            f.write(ftext)
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(R.to_json(policy, probes), f, indent=1)
    with open(os.path.join(d, "report.txt"), "w") as f:
        f.write(text)
    return d


# --- commands ----------------------------------------------------------------------------------
def cmd_run(opts, runner):
    start = time.monotonic()
    stats = dict(policies=0, packets=0, refused=0, load_failed=0, mismatched=0)
    refusals = {}
    failures = []
    for i in range(opts.first, opts.first + opts.policies):
        if opts.max_seconds and time.monotonic() - start > opts.max_seconds:
            print(f"difftest: stopping after {opts.max_seconds}s")
            break
        policy, probes = gen.generate(policy_seed(opts.seed, i), opts.packets)
        errors = runner.compile_errors(policy)
        if errors:
            stats["refused"] += 1
            first = errors.splitlines()[0].split("error: ", 1)[-1]
            key = first.split("'")[0].split(":")[0][:60]
            refusals[key] = refusals.get(key, 0) + 1
            if opts.verbose:
                print(f"policy {i}: refused: {first}")
            continue
        stats["policies"] += 1
        stats["packets"] += len(probes)
        try:
            diffs = runner.compare(policy, probes)
            load_error = None
        except LoadFailed as e:
            diffs, load_error = [], str(e)
            stats["load_failed"] += 1
        if not diffs and not load_error:
            if opts.verbose:
                print(f"policy {i}: {len(probes)} packets agree")
            continue
        stats["mismatched"] += bool(diffs)
        text = report_case(policy, diffs, load_error)
        name = f"seed{opts.seed}-policy{i}"
        print(f"policy {i} (seed {opts.seed}): " +
              ("compiles but does not load" if load_error else f"{len(diffs)} packets differ"))
        if opts.verbose or not opts.reduce:
            print(text)
        if opts.reduce:
            policy, probes, text = R.reduce(runner, policy, probes, load_error is not None)
            print("reduced to:\n" + text)
        if opts.out:
            print("  saved in " + save_case(opts.out, name, policy, probes, text))
        failures.append(name)
    took = time.monotonic() - start
    print(f"difftest: seed {opts.seed}: {stats['policies']} policies, {stats['packets']} packets "
          f"in {took:.1f}s; {stats['mismatched']} policies with differing packets, "
          f"{stats['load_failed']} that compile but do not load; {stats['refused']} generated "
          f"policies refused by ztc" + (f" {refusals}" if refusals else ""))
    return 1 if failures else 0


def cmd_regress(opts, runner):
    names = sorted(n for n in os.listdir(REGRESSIONS) if n.endswith(".json"))
    bad = 0
    for name in names:
        with open(os.path.join(REGRESSIONS, name)) as f:
            case = json.load(f)
        policy, probes = R.from_json(case)
        errors = runner.compile_errors(policy)
        expect_refusal = case.get("expect_refusal")
        if expect_refusal:
            ok = errors is not None and expect_refusal in errors
            print(f"{name}: {'refused as expected' if ok else 'NOT refused as expected'}")
            if not ok:
                bad += 1
                print(errors or "(compiled)")
            continue
        if errors:
            print(f"{name}: refused by ztc:\n{errors}")
            bad += 1
            continue
        try:
            diffs = runner.compare(policy, probes)
            load_error = None
        except LoadFailed as e:
            diffs, load_error = [], str(e)
        if diffs or load_error:
            bad += 1
            print(f"{name}: FAILS\n" + report_case(policy, diffs, load_error))
        else:
            print(f"{name}: {len(probes)} packets agree")
    print(f"difftest regress: {len(names) - bad} of {len(names)} cases pass")
    return 1 if bad else 0


def cmd_show(opts):
    policy, probes = gen.generate(policy_seed(opts.seed, opts.index), opts.packets)
    print(report_case(policy, []), end="")
    ref = interp.Interpreter(policy)
    for p in probes:
        print(f"probe {p.sport}: {p.describe()}\n    -> {describe_outcome(ref.run(p))}")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run")
    run.add_argument("--seed", type=int, default=1)
    run.add_argument("--policies", type=int, default=50)
    run.add_argument("--first", type=int, default=0, help="index of the first policy")
    run.add_argument("--packets", type=int, default=30)
    run.add_argument("--max-seconds", type=float, default=0)
    run.add_argument("--out", default="")
    run.add_argument("--reduce", action="store_true")
    reg = sub.add_parser("regress")
    show = sub.add_parser("show")
    show.add_argument("--seed", type=int, default=1)
    show.add_argument("--index", type=int, default=0)
    show.add_argument("--packets", type=int, default=30)
    sub.add_parser("cleanup")
    for p in (run, reg):
        p.add_argument("--ztc", default=os.path.join(REPO, "build", "ztc"))
        p.add_argument("-v", "--verbose", action="store_true")
    opts = ap.parse_args()
    if opts.cmd == "show":
        return cmd_show(opts)
    if os.geteuid() != 0:
        print("difftest: needs root (network namespaces); skipped", file=sys.stderr)
        return 77
    if opts.cmd == "cleanup":
        print("removed: " + " ".join(netns.remove_stale()))
        return 0
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    netns.remove_stale()
    runner = Runner(os.path.abspath(opts.ztc), opts.verbose)
    try:
        return cmd_run(opts, runner) if opts.cmd == "run" else cmd_regress(opts, runner)
    except (netns.LabError, OSError) as e:
        print(f"difftest: the test could not run: {e}", file=sys.stderr)
        return 2
    except Interrupted as e:
        print(f"difftest: interrupted ({e})", file=sys.stderr)
        return 2
    finally:
        netns.cleanup()
        runner.close()


if __name__ == "__main__":
    sys.exit(main())
