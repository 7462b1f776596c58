"""Reference interpreter: what the README says a policy does to one packet.

Written from the README's definitions over the policy model (model.py), without looking at how
ztc lowers anything. The packet's walk through the node (topo.py):

  arrives on a veth: prerouting (capture, then nat), routing (local address -> input, else the
    veth of the destination's subnet -> forward, then postrouting);
  sent by the node:  routing, output (capture, then nat; a dnat routes it again), postrouting;
  input: capture, then nat; postrouting: capture, then nat.

Capture chains run after conntrack and before nat (so nat rules see the marks capture rules set);
nat chains see the first packet of a connection (every probe opens its own). In each chain rules
run in order; a rule applies when all its matches do; its actions run left to right; `return` and
`accept` end the chain, `drop` the packet, `no nat` and `dnat` end the nat chain (the connection
is bound). A table of family ip sees IPv4 packets only, ip6 IPv6 only, inet both; an address match
only matches packets of its address family (negated or not), and a `dnat to` an address of the
other family does not apply to a packet: the packet goes on to the next rule.

Result: ("dropped",) or (where, mark, ct mark, daddr, dport, oif) with where "input" or
"postrouting" (oif "" for input).
"""

import ipaddress

import model as M
import topo as T

MASK32 = 0xFFFFFFFF


class Names:
    """The policy's declarations, resolved the way the README defines them."""

    def __init__(self, policy):
        self.policy = policy
        defines = policy.defines()
        self.params = {}
        for p in policy.of(M.Param):
            text = defines.get(p.name, p.default)
            self.params[p.name] = (p.type, text.strip('"') if text else text)
        self.marks = {}
        for m in policy.of(M.Mark):
            value, mask = self.terms(m.terms)
            if m.mask_terms:
                mask = self.terms(m.mask_terms)[0]
            self.marks[m.name] = (value, mask)
        self.ifaces = {}
        for i in policy.of(M.Iface):
            self.ifaces[i.name] = self.ifname(i.value)
        self.groups = {g.name: {self.ifname(r) for r in g.members} for g in policy.of(M.Group)}
        self.addrs = {}
        for a in policy.of(M.Addr):
            self.addrs[a.name] = self.address(a.value)
        self.sets = {}
        for s in policy.of(M.SetDecl):
            items = s.members if s.managed else [self.address(r) for r in s.elements]
            self.sets[s.name] = [ipaddress.ip_network(x, strict=False) for x in items]
        self.bypass = [(b.proto, [self.port_range(p) for p in b.ports])
                       for b in policy.of(M.Bypass)]

    def terms(self, terms):
        """A mark expression: the OR of its terms' values and of their masks (a number's mask
        is itself)."""
        value = mask = 0
        for t in terms:
            if isinstance(t, int):
                value, mask = value | t, mask | t
            else:
                v, m = self.marks[t]
                value, mask = value | v, mask | m
        return value, mask

    def ifname(self, ref):
        kind, text = ref
        if kind == "str":
            return text
        if text in self.ifaces:
            return self.ifaces[text]
        return self.params[text][1]

    def address(self, ref):
        kind, text = ref
        if kind == "lit":
            return text
        if text in self.addrs:
            return self.addrs[text]
        return self.params[text][1]

    def port(self, ref):
        kind, text = ref
        return int(text if kind == "lit" else self.params[text][1])

    def port_range(self, pr):
        lo = self.port(pr[0])
        return (lo, self.port(pr[1]) if pr[1] else lo)


class Packet:
    def __init__(self, probe):
        self.version = probe.version
        self.proto = probe.proto
        self.src, self.dst = probe.src, probe.dst
        self.sport, self.dport = probe.sport, probe.dport
        self.iif = probe.iif or ""
        self.oif = ""
        self.mark, self.ct = probe.mark, probe.ct
        self.dropped = False


class Interpreter:
    def __init__(self, policy):
        self.policy = policy
        self.names = Names(policy)
        fam = policy.table.family
        self.versions = {"ip": {4}, "ip6": {6}, "inet": {4, 6}}[fam]
        # rules per (nat, hook), in source order: blocks for one hook add up in order
        self.chains = {}
        for block in policy.of(M.Block):
            for hook in block.hooks:
                self.chains.setdefault((block.nat, hook), []).extend(block.rules)

    # --- the walk --------------------------------------------------------------------------
    def run(self, probe):
        p = Packet(probe)
        if probe.iif:
            if not self.hook(p, "prerouting"):
                return ("dropped",)
            if T.is_local(p.dst):
                if not self.hook(p, "input"):
                    return ("dropped",)
                return ("input", p.mark, p.ct, p.dst, p.dport, "")
            p.oif = T.route(p.dst)
            if not self.chain(p, False, "forward"):
                return ("dropped",)
        else:
            # a local packet is routed before the output hook: oif is known there
            p.oif = T.route(p.dst)
            if not self.hook(p, "output"):
                return ("dropped",)
        if not self.hook(p, "postrouting"):
            return ("dropped",)
        return ("postrouting", p.mark, p.ct, p.dst, p.dport, p.oif)

    def hook(self, p, hook):
        if not self.chain(p, False, hook):
            return False
        if hook in ("prerouting", "output"):
            before = p.dst
            ok = self.chain(p, True, hook)
            if ok and p.dst != before and hook == "output":
                p.oif = T.route(p.dst)
            return ok
        return self.chain(p, True, hook)

    def chain(self, p, nat, hook):
        """Runs one chain; False when the packet is dropped."""
        if p.version not in self.versions:
            return True
        for rule in self.chains.get((nat, hook), []):
            if not all(self.match(p, m) for m in rule.matches):
                continue
            end = self.actions(p, rule.actions)
            if end == "drop":
                return False
            if end == "end":
                return True
        return True

    # --- matches ---------------------------------------------------------------------------
    def match(self, p, m):
        n = self.names
        if isinstance(m, M.IfMatch):
            name = p.oif if m.output else p.iif
            if m.refs[0][0] == "set":
                found = name in n.groups[m.refs[0][1]]
            else:
                found = name in {n.ifname(r) for r in m.refs}
            return found != m.negated
        if isinstance(m, M.AddrMatch):
            addr = ipaddress.ip_address(p.dst if m.destination else p.src)
            if m.refs[0][0] == "set":
                nets = n.sets[m.refs[0][1]]
                family = self.set_version(m.refs[0][1])
            else:
                nets = [ipaddress.ip_network(n.address(r), strict=False) for r in m.refs]
                family = nets[0].version
            if addr.version != family:
                return False
            return any(addr in net for net in nets) != m.negated
        if isinstance(m, M.ProtoMatch):
            if p.proto != m.proto:
                return False
            if not m.direction:
                return True
            port = p.dport if m.direction == "dport" else p.sport
            inside = any(lo <= port <= hi for lo, hi in map(n.port_range, m.ports))
            return inside != m.negated
        if isinstance(m, M.BypassMatch):
            return any(p.proto == proto and any(lo <= p.dport <= hi for lo, hi in ranges)
                       for proto, ranges in n.bypass)
        if isinstance(m, M.MarkMatch):
            value, mask = n.terms(m.terms)
            current = p.ct if m.conntrack else p.mark
            if m.op in ("==", "!="):
                mask = MASK32
            hit = (current & mask) == value
            return hit if m.op in ("has", "==") else not hit
        raise TypeError(m)

    def set_version(self, name):
        s = next(s for s in self.policy.of(M.SetDecl) if s.name == name)
        return 6 if s.type.startswith("ipv6") else 4

    # --- actions ---------------------------------------------------------------------------
    def actions(self, p, actions):
        """Runs a rule's actions: None (go on), "end" (the chain ends) or "drop"."""
        n = self.names
        for a in actions:
            if isinstance(a, M.MarkAction):
                value, mask = n.terms(a.terms)
                cur = p.ct if a.conntrack else p.mark
                if a.op == "|=":
                    cur = (cur & ~mask & MASK32) | value   # a field is replaced, bits are set
                elif a.op == "=":
                    cur = value
                else:
                    cur = cur & ~mask & MASK32
                if a.conntrack:
                    p.ct = cur
                else:
                    p.mark = cur
            elif isinstance(a, M.CtCopy):
                _, mask = n.terms(a.terms)
                if a.save:
                    p.ct = (p.ct & ~mask & MASK32) | (p.mark & mask)
                else:
                    p.mark = (p.mark & ~mask & MASK32) | (p.ct & mask)
            elif isinstance(a, M.Verdict):
                return "drop" if a.verdict == "drop" else "end"
            elif isinstance(a, M.NoNat):
                return "end"
            elif isinstance(a, M.Dnat):
                target = n.address(a.address)
                if T.family_of(target) != p.version:
                    return None
                p.dst = target
                if a.port is not None:
                    p.dport = n.port(a.port)
                return "end"
        return None
