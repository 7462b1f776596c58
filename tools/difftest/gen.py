"""Random valid policies over the whole capture language, and packets that exercise them.

Values come from small pools on purpose (a few mark bits, a few hosts and prefixes of the node's
subnets, a few ports), so that matches and packets meet often and marks overlap. Validity follows
the checker's documented restrictions; a policy ztc still refuses is counted and skipped by the
runner (an unexpected refusal is worth a look: issue 17's false "unreachable rule" was one).
"""

import ipaddress
import random

import model as M
import topo as T
from model import Ref

HOOKS = ["prerouting", "input", "forward", "output", "postrouting"]
NAT_HOOKS = ["prerouting", "input", "output", "postrouting"]
IIF_HOOKS = {"prerouting", "input", "forward", "postrouting"}
OIF_HOOKS = {"forward", "output", "postrouting"}
BITS = [0x1, 0x2, 0x4, 0x10, 0x20, 0x40, 0x100, 0x200, 0x400, 0x1000, 0x80000000]
FIELDS = [(0x100, 0xf00), (0x200, 0xf00), (0x300, 0xf00), (0x10, 0xf0), (0x20, 0x30)]
DPORTS = [53, 80, 443, 6081, 8080, 15001, 15006, 15008]
HOST_NUMBERS = [2, 3, 4, 5, 9, 100, 200]


def hosts(version):
    return [T.host(version, i, n) for i in T.IFACES for n in HOST_NUMBERS]


def prefixes(version):
    if version == 4:
        out = ["10.0.0.0/8", "10.1.0.0/16"]
        for i in (1, 2, 3):
            out += [f"10.{i}.0.0/24", f"10.{i}.0.0/30", f"10.{i}.0.4/30", f"10.{i}.0.0/29",
                    f"10.{i}.0.100/32"]
    else:
        out = ["fd00::/8", "fd01::/16"]
        for i in (1, 2, 3):
            out += [f"fd0{i}::/64", f"fd0{i}::/126", f"fd0{i}::4/126", f"fd0{i}::/125",
                    f"fd0{i}::100/128"]
    return out


def overlap(a, b):
    a, b = ipaddress.ip_network(a), ipaddress.ip_network(b)
    return a.version == b.version and a.overlaps(b)


def versions(family):
    return {"ip": [4], "ip6": [6], "inet": [4, 6]}[family]


class Gen:
    def __init__(self, rng):
        self.r = rng
        self.n = 0

    def name(self, prefix):
        self.n += 1
        return f"{prefix}{self.n}"

    def chance(self, p):
        return self.r.random() < p

    # --- declarations ------------------------------------------------------------------------
    def policy(self):
        r = self.r
        family = r.choice(["ip", "ip", "ip6", "inet", "inet", "inet"])
        self.family = family
        self.vers = versions(family)
        st = []
        self.params, self.marks, self.ifaces, self.groups = [], [], [], []
        self.addrs, self.sets, self.bypass = [], [], []
        for _ in range(r.randint(0, 3)):
            st.append(self.param())
        table = M.Table(family)
        st.insert(0, table)  # moved later when the split wants the table first
        for _ in range(r.randint(1, 5)):
            m = self.mark()
            if m:
                st.append(m)
        for _ in range(r.randint(0, 2)):
            st.append(self.iface())
        for _ in range(r.randint(0, 2)):
            st.append(self.group())
        for _ in range(r.randint(0, 3)):
            st.append(self.addr())
        for _ in range(r.randint(0, 3)):
            st.append(self.set())
        for _ in range(r.randint(0, 2)):
            b = M.Bypass(r.choice(["tcp", "udp"]), self.port_list(2))
            self.bypass.append(b)
            st.append(b)
        blocks = [self.block() for _ in range(r.randint(2, 6))]
        st += [b for b in blocks if b.rules]
        policy = M.Policy(st)
        self.split(policy)
        return policy

    def split(self, policy):
        """Put runs of statements into included files (marks keep their order, so every mark
        is still declared above its uses)."""
        r = self.r
        n = len(policy.statements)
        if n < 4 or not self.chance(0.6):
            return
        k = r.randint(1, 2)
        cuts = sorted(r.sample(range(1, n), min(n - 1, k + 1)))
        if self.chance(0.4):
            # issue 17's layout: `table ... include "inc1.zt" capture ... {` on the first line
            st = policy.statements
            table = st.index(policy.table)
            st.insert(0, st.pop(table))
            cuts[0] = 1
            blocks = [i for i, x in enumerate(st) if isinstance(x, M.Block)]
            if len(blocks) >= 2 and self.chance(0.6):
                # declarations in inc1, the first blocks in inc2, the others in the top file:
                # rules of both files start on line 2, column 3
                cuts = [1, blocks[0], r.choice(blocks[1:])]
            cuts = sorted(set(cuts))
            if len(cuts) >= 2 and cuts[-1] < n and isinstance(st[cuts[-1]], M.Block):
                policy.compact_first_line = True
        if len(cuts) < 2:
            return
        policy.splits = cuts

    def param(self):
        r = self.r
        v = r.choice(self.vers)
        kind = r.choice(["ifname", "addr", "net", "port"])
        if kind == "ifname":
            t, value = "ifname", r.choice(T.IFACES + ["dtz"])
        elif kind == "addr":
            t, value = f"ipv{v}", r.choice(hosts(v))
        elif kind == "net":
            t, value = f"ipv{v}net", r.choice(prefixes(v))
        else:
            t, value = "port", str(r.choice(DPORTS))
        other = {"ifname": lambda: r.choice(T.IFACES), "port": lambda: str(r.choice(DPORTS))}.get(
            t, (lambda: r.choice(hosts(v))) if "net" not in t else (lambda: r.choice(prefixes(v))))
        default = self.lit(t, value) if self.chance(0.7) else None
        define = other() if default is None or self.chance(0.3) else None
        p = M.Param(self.name("p_"), t, default, define)
        p.value = define if define is not None else value
        self.params.append(p)
        return p

    @staticmethod
    def lit(t, value):
        return f'"{value}"' if t == "ifname" else value

    def mark(self):
        r = self.r
        name = self.name("m_")
        shape = r.random()
        if shape < 0.4 or not self.marks:
            m = M.Mark(name, [r.choice(BITS)] + ([r.choice(BITS)] if self.chance(0.2) else []))
        elif shape < 0.7:
            m = M.Mark(name, [r.choice(self.marks).name, r.choice(BITS)])
        else:
            value, mask = r.choice(FIELDS)
            m = M.Mark(name, [value], [mask])
        bits = self.bits_of(m)
        if any(self.bits_of(o) == bits for o in self.marks):
            return None
        self.marks.append(m)
        return m

    def bits_of(self, m):
        value, mask = self.terms_bits(m.terms)
        if m.mask_terms:
            mask = self.terms_bits(m.mask_terms)[0]
        return value, mask

    def terms_bits(self, terms):
        value = mask = 0
        for t in terms:
            if isinstance(t, int):
                value |= t
                mask |= t
            else:
                mv, mm = self.bits_of(next(m for m in self.marks if m.name == t))
                value |= mv
                mask |= mm
        return value, mask

    def iface(self):
        ifname_params = [p for p in self.params if p.type == "ifname"]
        if ifname_params and self.chance(0.3):
            i = M.Iface(self.name("if_"), ("name", self.r.choice(ifname_params).name))
        else:
            i = M.Iface(self.name("if_"), ("str", self.r.choice(T.IFACES + ["dtz"])))
        self.ifaces.append(i)
        return i

    def group(self):
        names = self.r.sample(T.IFACES + ["dtz"], self.r.randint(1, 3))
        g = M.Group(self.name("g_"), [("str", n) for n in names])
        self.groups.append(g)
        return g

    def addr(self):
        v = self.r.choice(self.vers)
        value = self.r.choice(hosts(v) + prefixes(v))
        a = M.Addr(self.name("a_"), ("lit", value))
        a.version = v
        self.addrs.append(a)
        return a

    def set(self):
        r = self.r
        v = r.choice(self.vers)
        managed = self.chance(0.3)
        t = f"ipv{v}" if managed or self.chance(0.5) else f"ipv{v}net"
        s = M.SetDecl(self.name("s_"), t, managed)
        s.version = v
        pool = hosts(v) if t.endswith(str(v)) else prefixes(v)
        chosen = []
        for e in r.sample(pool, r.randint(1, 4)):
            # nested prefixes in one set are refused (nft cannot load them)
            if not any(overlap(e, c) for c in chosen):
                chosen.append(e)
        if managed:
            s.members = chosen
        else:
            s.elements = [("lit", e) for e in chosen]
            s.comments = [r.choice([None, None, "pod-uid-1"]) for _ in chosen]
            for p in self.params:
                if p.type in (t, f"ipv{v}") and not any(overlap(p.value, c) for c in chosen) \
                        and self.chance(0.3):
                    s.elements.append(("name", p.name))
                    s.comments.append(None)
                    chosen.append(p.value)
        self.sets.append(s)
        return s

    def port_ref(self):
        port_params = [p for p in self.params if p.type == "port"]
        if port_params and self.chance(0.2):
            return ("name", self.r.choice(port_params).name)
        return ("lit", str(self.r.choice(DPORTS)))

    def port_list(self, n, sport=False):
        out = []
        for _ in range(self.r.randint(1, n)):
            if sport:
                lo = T.PROBE_PORT0 + self.r.randint(0, 30)
                hi = lo + self.r.randint(0, 15)
                out.append((("lit", str(lo)), ("lit", str(hi)) if hi != lo else None))
            elif self.chance(0.2):
                lo = self.r.choice(DPORTS)
                out.append((("lit", str(lo)), ("lit", str(lo + self.r.randint(1, 500)))))
            else:
                out.append((self.port_ref(), None))
        return out

    # --- blocks and rules --------------------------------------------------------------------
    def block(self):
        r = self.r
        nat = self.chance(0.3)
        pool = NAT_HOOKS if nat else HOOKS
        hooks = r.sample(pool, 1 if self.chance(0.7) else 2)
        rules = []
        for _ in range(r.randint(1, 5)):
            if not nat and self.chance(0.15):
                rules += self.iif_run(hooks)
            else:
                rules.append(self.rule(nat, hooks))
        return M.Block(nat, hooks, rules)

    def iif_run(self, hooks):
        """Rules matching only `iif`, each ending in a verdict: lowered to a set or a verdict map."""
        if not set(hooks) <= IIF_HOOKS:
            return []
        out = []
        for _ in range(self.r.randint(2, 4)):
            names = self.r.sample(T.IFACES + ["dtz"], self.r.randint(1, 2))
            refs = []
            for n in names:
                named = [i for i in self.ifaces if i.value == ("str", n)]
                refs.append(("name", named[0].name) if named and self.chance(0.5) else ("str", n))
            actions = self.capture_actions(allow_verdict=False)[:2]
            actions.append(M.Verdict(self.r.choice(["return", "accept", "drop", "return"])))
            out.append(M.Rule([M.IfMatch(False, False, refs)], actions))
        return out

    def rule(self, nat, hooks):
        r = self.r
        matches = []
        version = r.choice(self.vers)  # of every address in the rule
        has_proto = False
        for _ in range(r.choice([0, 1, 1, 2, 2, 3])):
            kind = r.choice(["if", "addr", "addr", "proto", "proto", "bypass", "mark", "mark"])
            m = None
            if kind == "if":
                m = self.if_match(hooks)
            elif kind == "addr":
                m = self.addr_match(version)
            elif kind == "proto" and not has_proto:
                m = self.proto_match()
                has_proto = True
            elif kind == "bypass" and self.bypass and not has_proto:
                m = M.BypassMatch()
                has_proto = True
            elif kind == "mark" and self.marks:
                m = M.MarkMatch(self.chance(0.4), r.choice(["has", "has", "lacks", "==", "!="]),
                                self.mark_terms())
            if m:
                matches.append(m)
        if nat:
            actions = self.nat_actions(hooks, matches, version, has_proto)
        else:
            actions = self.capture_actions(allow_verdict=True, matches=matches)
        if not matches and any(isinstance(a, (M.Verdict, M.NoNat, M.Dnat)) for a in actions) \
                and not self.chance(0.1):
            # a match-less rule that ends the chain makes every later rule unreachable
            matches.append(self.proto_match())
        return M.Rule(matches, actions)

    def if_match(self, hooks):
        output = set(hooks) <= OIF_HOOKS and (not set(hooks) <= IIF_HOOKS or self.chance(0.5))
        if not output and not set(hooks) <= IIF_HOOKS:
            return None
        if self.groups and self.chance(0.3):
            return M.IfMatch(output, self.chance(0.3), [("set", self.r.choice(self.groups).name)])
        refs = []
        for _ in range(self.r.randint(1, 2)):
            pick = self.r.random()
            if pick < 0.25 and self.ifaces:
                refs.append(("name", self.r.choice(self.ifaces).name))
            elif pick < 0.4 and any(p.type == "ifname" for p in self.params):
                refs.append(("name", self.r.choice([p for p in self.params
                                                    if p.type == "ifname"]).name))
            else:
                refs.append(("str", self.r.choice(T.IFACES + ["dtz"])))
        return M.IfMatch(output, self.chance(0.3), refs)

    def addr_match(self, v):
        r = self.r
        sets = [s for s in self.sets if s.version == v]
        if sets and self.chance(0.35):
            refs = [("set", r.choice(sets).name)]
        else:
            refs = []
            for _ in range(r.randint(1, 3)):
                pick = r.random()
                named = [a for a in self.addrs if a.version == v]
                params = [p for p in self.params if p.type in (f"ipv{v}", f"ipv{v}net")]
                if pick < 0.2 and named:
                    refs.append(("name", r.choice(named).name))
                elif pick < 0.35 and params:
                    refs.append(("name", r.choice(params).name))
                else:
                    refs.append(("lit", r.choice(hosts(v) + prefixes(v))))
        return M.AddrMatch(self.chance(0.5), self.chance(0.25), refs)

    def proto_match(self):
        proto = self.r.choice(["tcp", "udp"])
        if self.chance(0.4):
            return M.ProtoMatch(proto)
        if self.chance(0.25):
            return M.ProtoMatch(proto, "sport", self.chance(0.3), self.port_list(2, sport=True))
        return M.ProtoMatch(proto, "dport", self.chance(0.3), self.port_list(3))

    def mark_terms(self):
        r = self.r
        if self.chance(0.75):
            terms = [r.choice(self.marks).name]
            if self.chance(0.2):
                terms.append(r.choice(BITS))
            return terms
        return [r.choice(BITS)]

    def capture_actions(self, allow_verdict, matches=()):
        r = self.r
        out = []
        for _ in range(r.randint(1, 3)):
            kind = r.choice(["mark", "mark", "ctmark", "copy", "copy", "counter"])
            if kind == "counter":
                out.append(M.Counter())
            elif kind == "copy" and self.marks:
                out.append(M.CtCopy(self.chance(0.6), self.mark_terms()))
            elif self.marks or kind != "copy":
                terms = self.mark_terms() if self.marks else [r.choice(BITS)]
                out.append(M.MarkAction(kind == "ctmark" or self.chance(0.15),
                                        r.choice(["|=", "|=", "=", "&= ~"]), terms))
        if allow_verdict and self.chance(0.4):
            out.append(M.Verdict(r.choice(["return", "accept", "drop", "return", "accept"])))
        return out

    def nat_actions(self, hooks, matches, version, has_proto):
        r = self.r
        out = [M.Counter()] if self.chance(0.2) else []
        dnat_ok = set(hooks) <= {"prerouting", "output"}
        rule_versions = {version} if any(isinstance(m, M.AddrMatch) for m in matches) \
            else set(self.vers)
        pick = r.random()
        if dnat_ok and pick < 0.45:
            v = r.choice(sorted(rule_versions))
            addr_params = [p for p in self.params if p.type == f"ipv{v}"]
            target = (("name", r.choice(addr_params).name) if addr_params and self.chance(0.2)
                      else ("lit", r.choice(hosts(v))))
            port = self.port_ref() if has_proto and self.chance(0.6) else None
            out.append(M.Dnat(target, port))
        elif pick < 0.75:
            out.append(M.NoNat())
        elif pick < 0.95:
            out.append(M.Verdict(r.choice(["return", "accept", "drop"])))
        elif not out:
            out.append(M.Counter())
        return out

    # --- packets -----------------------------------------------------------------------------
    def packets(self, policy, count):
        r = self.r
        vers = versions(policy.table.family)
        bits = [0] + BITS + [v for v, _ in FIELDS]
        out = []
        for i in range(count):
            v = r.choice(vers) if self.chance(0.9) else r.choice([4, 6])
            proto = r.choice(["tcp", "udp"])
            local = self.chance(0.25)
            iif = None if local else r.choice(T.IFACES)
            src = r.choice(hosts(v))
            if local and self.chance(0.5):
                src = r.choice(list(T.NODE_ADDR[v].values()))
            if not local and self.chance(0.25):
                dst = r.choice(list(T.NODE_ADDR[v].values()))
            else:
                # Never back out of the veth it came in by: the node would send a redirect
                # (locally generated, and in the probe's own connection), and capture output
                # rules would change the probe's ct mark through it.
                dst = r.choice([h for h in hosts(v) if iif is None or T.route(h) != iif])
            bypass_ports = [int(a[1]) for b in policy.of(M.Bypass) for a, _ in b.ports
                            if a[0] == "lit"]
            dport = r.choice(DPORTS + bypass_ports + [r.randint(1, 65535)])
            mark = 0 if self.chance(0.4) else r.choice(bits) | r.choice(bits)
            ct = 0 if self.chance(0.4) else r.choice(bits) | r.choice(bits)
            out.append(Packet(i, v, proto, iif, src, dst, T.PROBE_PORT0 + i, dport, mark, ct))
        return out


class Packet:
    """One probe: a single packet opening its own flow (source port = probe id)."""

    def __init__(self, index, version, proto, iif, src, dst, sport, dport, mark, ct):
        self.index, self.version, self.proto = index, version, proto
        self.iif = iif              # the node interface it arrives on; None: sent by the node
        self.src, self.dst, self.sport, self.dport = src, dst, sport, dport
        self.mark, self.ct = mark, ct

    def describe(self):
        where = f"in {self.iif}" if self.iif else "from the node (output)"
        return (f"{self.proto} {self.src}:{self.sport} > {self.dst}:{self.dport} {where} "
                f"mark {self.mark:#x} ct mark {self.ct:#x}")

    def to_dict(self):
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d):
        p = cls.__new__(cls)
        p.__dict__.update(d)
        return p


def generate(seed, packets):
    g = Gen(random.Random(seed))
    policy = g.policy()
    return policy, g.packets(policy, packets)
