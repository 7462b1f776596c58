"""Reduction of a mismatch to a minimal policy and packet, and cases as JSON.

Greedy: first the probes (the differing ones, then one), then one edit at a time (drop a
statement, a block's rule or second hook, a rule's match or action, a set element, the includes;
zero a probe's initial marks), kept when the smaller case still fails the same way (compiles, and
still differs on a packet, or still fails to load). Repeats until no edit is kept.
"""

import copy
import dataclasses

import gen
import model as M
import render


# --- cases as JSON -----------------------------------------------------------------------------
def _enc(v):
    if dataclasses.is_dataclass(v):
        return {"_": type(v).__name__, **{k: _enc(x) for k, x in v.__dict__.items()}}
    if isinstance(v, (list, tuple)):
        return [_enc(x) for x in v]
    return v


def _dec(v):
    if isinstance(v, dict) and "_" in v:
        cls = getattr(M, v["_"])
        obj = cls.__new__(cls)
        for k, x in v.items():
            if k != "_":
                setattr(obj, k, _dec(x))
        return obj
    if isinstance(v, list):
        items = [_dec(x) for x in v]
        # references ("kind", "text") and port ranges come back as tuples
        if len(items) == 2 and all(isinstance(x, str) or x is None for x in items):
            return tuple(items)
        if len(items) == 2 and isinstance(items[0], tuple):
            return tuple(items)
        return items
    return v


def to_json(policy, probes):
    return {"policy": _enc(policy), "probes": [p.to_dict() for p in probes]}


def from_json(case):
    return _dec(case["policy"]), [gen.Packet.from_dict(p) for p in case["probes"]]


# --- reduction ---------------------------------------------------------------------------------
def _edits(policy, probes):
    """(description, function(policy, probes) -> (policy, probes)) for every one-step shrink."""
    out = []
    if policy.splits or policy.compact_first_line:
        def inline(pol, pr):
            pol.splits, pol.compact_first_line = [], False
            return pol, pr
        out.append(("inline the includes", inline))
    for i, s in enumerate(policy.statements):
        if not isinstance(s, M.Table):
            def drop_statement(pol, pr, i=i):
                del pol.statements[i]
                pol.splits = [c - (c > i) for c in pol.splits]
                return pol, pr
            out.append((f"drop statement {i}", drop_statement))
        if isinstance(s, M.Block):
            if len(s.hooks) > 1:
                for h in range(len(s.hooks)):
                    def drop_hook(pol, pr, i=i, h=h):
                        del pol.statements[i].hooks[h]
                        return pol, pr
                    out.append((f"drop hook {h} of statement {i}", drop_hook))
            for j, rule in enumerate(s.rules):
                if len(s.rules) > 1:
                    def drop_rule(pol, pr, i=i, j=j):
                        del pol.statements[i].rules[j]
                        return pol, pr
                    out.append((f"drop rule {j} of statement {i}", drop_rule))
                for k in range(len(rule.matches)):
                    def drop_match(pol, pr, i=i, j=j, k=k):
                        del pol.statements[i].rules[j].matches[k]
                        return pol, pr
                    out.append((f"drop match {k} of rule {j}", drop_match))
                if len(rule.actions) > 1:
                    for k in range(len(rule.actions)):
                        def drop_action(pol, pr, i=i, j=j, k=k):
                            del pol.statements[i].rules[j].actions[k]
                            return pol, pr
                        out.append((f"drop action {k} of rule {j}", drop_action))
        if isinstance(s, M.SetDecl):
            items = s.members if s.managed else s.elements
            if len(items) > 1:
                for k in range(len(items)):
                    def drop_element(pol, pr, i=i, k=k):
                        st = pol.statements[i]
                        if st.managed:
                            del st.members[k]
                        else:
                            del st.elements[k]
                            del st.comments[k]
                        return pol, pr
                    out.append((f"drop element {k} of set {s.name}", drop_element))
    for n, p in enumerate(probes):
        if p.mark or p.ct:
            def zero_marks(pol, pr, n=n):
                pr[n].mark = pr[n].ct = 0
                return pol, pr
            out.append((f"zero the marks of probe {n}", zero_marks))
    return out


def reduce(runner, policy, probes, load_failure, budget=400):
    from difftest import report_case  # the runner's
    from harness import LoadFailed

    def failing(pol, pr):
        if runner.compile_errors(pol):
            return None
        try:
            diffs = runner.compare(pol, pr)
        except LoadFailed as e:
            return ([], str(e)) if load_failure else None
        if load_failure or not diffs:
            return None
        return (diffs, None)

    result = failing(policy, probes)
    if result is None:
        return policy, probes, "(the failure did not repeat: not reduced)\n"
    if not load_failure:
        bad = {p.sport for p, _, _ in result[0]}
        probes = [p for p in probes if p.sport in bad]
        one = failing(policy, probes[:1])
        if one:
            probes, result = probes[:1], one
    elif probes:
        probes = probes[:1]
    tries = 0
    changed = True
    while changed and tries < budget:
        changed = False
        for _, edit in _edits(policy, probes):
            tries += 1
            if tries > budget:
                break
            pol, pr = edit(copy.deepcopy(policy), copy.deepcopy(probes))
            if not any(isinstance(s, M.Block) and s.rules and s.hooks for s in pol.statements):
                continue
            pol.statements = [s for s in pol.statements
                              if not (isinstance(s, M.Block) and (not s.rules or not s.hooks))]
            pol.splits = [c for c in pol.splits if c <= len(pol.statements)]
            if len(pol.splits) < 2:
                pol.splits, pol.compact_first_line = [], False
            r = failing(pol, pr)
            if r:
                policy, probes, result = pol, pr, r
                changed = True
                break
    text = report_case(policy, result[0], result[1])
    return policy, probes, text + f"({tries} reduction steps tried)\n"
