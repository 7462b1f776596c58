"""Policy model -> .zt files (the top file and the files it includes)."""

import model as M

TOP = "main.zt"


def ref(r):
    kind, text = r
    if kind == "set":
        return "@" + text
    if kind == "str":
        return f'"{text}"'
    return text


def terms(ts):
    return " | ".join(f"{t:#x}" if isinstance(t, int) else t for t in ts)


def ports(ps):
    return ", ".join(ref(a) + (f"-{ref(b)}" if b else "") for a, b in ps)


def match(m):
    if isinstance(m, M.IfMatch):
        # a group is named bare (`iif pods`); `@` is for sets of addresses
        return ("oif" if m.output else "iif") + (" !=" if m.negated else "") + " " + \
            ", ".join(r[1] if r[0] == "set" else ref(r) for r in m.refs)
    if isinstance(m, M.AddrMatch):
        return ("daddr" if m.destination else "saddr") + (" !=" if m.negated else "") + " " + \
            ", ".join(ref(r) for r in m.refs)
    if isinstance(m, M.ProtoMatch):
        if not m.direction:
            return m.proto
        return f"{m.proto} {m.direction}" + (" !=" if m.negated else "") + " " + ports(m.ports)
    if isinstance(m, M.BypassMatch):
        return "bypass"
    if isinstance(m, M.MarkMatch):
        return ("ct " if m.conntrack else "") + f"mark {m.op} {terms(m.terms)}"
    raise TypeError(m)


def action(a):
    if isinstance(a, M.MarkAction):
        return ("ct " if a.conntrack else "") + f"mark {a.op}{terms(a.terms)}" \
            if a.op == "&= ~" else ("ct " if a.conntrack else "") + f"mark {a.op} {terms(a.terms)}"
    if isinstance(a, M.CtCopy):
        return ("ct save " if a.save else "ct restore ") + terms(a.terms)
    if isinstance(a, M.Verdict):
        return a.verdict
    if isinstance(a, M.NoNat):
        return "no nat"
    if isinstance(a, M.Dnat):
        addr = ref(a.address)
        if a.port is None:
            return f"dnat to {addr}"
        if ":" in addr:
            return f"dnat to [{addr}]:{ref(a.port)}"
        return f"dnat to {addr}:{ref(a.port)}"
    if isinstance(a, M.Counter):
        return "counter"
    raise TypeError(a)


def rule(r):
    lhs = " ".join(match(m) for m in r.matches)
    return (lhs + " " if lhs else "") + "=> " + ", ".join(action(a) for a in r.actions)


def statement(s):
    """Lines of one statement."""
    if isinstance(s, M.Param):
        return [f"param {s.name}: {s.type}" + (f" = {s.default}" if s.default is not None else "")]
    if isinstance(s, M.Table):
        return [f"table {s.family} {s.name}"]
    if isinstance(s, M.Mark):
        return [f"mark {s.name} = {terms(s.terms)}" +
                (f" / {terms(s.mask_terms)}" if s.mask_terms else "")]
    if isinstance(s, M.Iface):
        return [f"iface {s.name} = {ref(s.value)}"]
    if isinstance(s, M.Group):
        return [f"group {s.name} = {{ " + ", ".join(ref(r) for r in s.members) + " }"]
    if isinstance(s, M.Addr):
        return [f"addr {s.name} = {ref(s.value)}"]
    if isinstance(s, M.SetDecl):
        head = f"set {s.name}: {s.type}" + (" managed" if s.managed else "")
        if s.managed:
            return [head]
        items = []
        for r, c in zip(s.elements, s.comments):
            items.append(ref(r) + (f' comment "{c}"' if c else ""))
        return [head + " = { " + ", ".join(items) + " }"]
    if isinstance(s, M.Bypass):
        return [f"bypass {s.proto} {ports(s.ports)}"]
    if isinstance(s, M.Block):
        head = ("nat " if s.nat else "capture ") + ", ".join(s.hooks) + " {"
        return [head] + ["  " + rule(r) for r in s.rules] + ["}"]
    raise TypeError(s)


def files(policy):
    """{file name: text}; the top file is main.zt."""
    stmts = policy.statements
    out = {}
    if not policy.splits:
        chunks = [stmts]
        includes = []
    else:
        cuts = policy.splits
        includes = []
        for i in range(len(cuts) - 1):
            name = f"inc{i + 1}.zt"
            includes.append(name)
            out[name] = "".join(l + "\n" for s in stmts[cuts[i]:cuts[i + 1]] for l in statement(s))
        chunks = [stmts[:cuts[0]], stmts[cuts[-1]:]]
    top = [l for s in chunks[0] for l in statement(s)]
    include_lines = [f'include "{n}"' for n in includes]
    tail = [l for s in chunks[1] for l in statement(s)] if len(chunks) > 1 else []
    if policy.compact_first_line and top and include_lines:
        # `table ... include "inc1.zt" capture x {` on one line, as in issue 17: the top file's
        # rules then sit at the lines and columns of the included file's.
        lines = ["  ".join(top + include_lines + tail[:1])] + tail[1:]
    else:
        lines = top + include_lines + tail
    out[TOP] = "".join(l + "\n" for l in lines)
    return out
