"""The policy model shared by the generator, the renderer and the reference interpreter.

A policy is a list of statements in source order, each a small dataclass; `files` says how the
statements are split between the top file and the files it includes. Names are resolved by the
interpreter (interp.py) from these statements, never from anything ztc produced.
"""

from dataclasses import dataclass, field
from typing import List, Optional, Tuple, Union

# --- values that name things -----------------------------------------------------------------
# A reference to a value: ("lit", text) a literal as written, ("name", n) a declared name (param,
# iface, addr, mark), ("set", n) a set or group, for address and interface matches.
Ref = Tuple[str, str]


@dataclass
class Param:
    name: str
    type: str                  # ifname ipv4 ipv6 ipv4net ipv6net port
    default: Optional[str]     # text of the default, None when -D must give it
    define: Optional[str]      # -D NAME=define on the command line, None when not given


@dataclass
class Table:
    family: str                # ip ip6 inet
    name: str = "dt"


@dataclass
class Mark:
    name: str
    terms: List[Union[int, str]]              # OR of numbers and earlier marks
    mask_terms: Optional[List[Union[int, str]]] = None  # `/ mask`


@dataclass
class Iface:
    name: str
    value: Ref                 # ("lit", ifname) or ("name", ifname param)


@dataclass
class Group:
    name: str
    members: List[Ref]


@dataclass
class Addr:
    name: str
    value: Ref                 # ("lit", address or prefix) or ("name", param)


@dataclass
class SetDecl:
    name: str
    type: str                  # ipv4 ipv6 ipv4net ipv6net
    managed: bool
    elements: List[Ref] = field(default_factory=list)
    comments: List[Optional[str]] = field(default_factory=list)
    members: List[str] = field(default_factory=list)  # managed: enrolled with `ztc set add`


@dataclass
class Bypass:
    proto: str
    ports: List[Tuple[Ref, Optional[Ref]]]


# --- matches -----------------------------------------------------------------------------------
@dataclass
class IfMatch:
    output: bool
    negated: bool
    refs: List[Ref]


@dataclass
class AddrMatch:
    destination: bool
    negated: bool
    refs: List[Ref]


@dataclass
class ProtoMatch:
    proto: str
    direction: Optional[str] = None   # "sport" | "dport" | None
    negated: bool = False
    ports: List[Tuple[Ref, Optional[Ref]]] = field(default_factory=list)


@dataclass
class BypassMatch:
    pass


@dataclass
class MarkMatch:
    conntrack: bool
    op: str                    # has lacks == !=
    terms: List[Union[int, str]]


# --- actions -----------------------------------------------------------------------------------
@dataclass
class MarkAction:
    conntrack: bool
    op: str                    # "|=" "=" "&= ~"
    terms: List[Union[int, str]]


@dataclass
class CtCopy:
    save: bool
    terms: List[Union[int, str]]


@dataclass
class Verdict:
    verdict: str               # return accept drop


@dataclass
class NoNat:
    pass


@dataclass
class Dnat:
    address: Ref
    port: Optional[Ref] = None


@dataclass
class Counter:
    pass


@dataclass
class Rule:
    matches: list
    actions: list


@dataclass
class Block:
    nat: bool
    hooks: List[str]
    rules: List[Rule]


@dataclass
class Policy:
    statements: list
    # Index of the first statement of each file after the top one: the top file holds
    # statements[:splits[0]], `include "inc1.zt"`, statements[splits[0]:splits[1]]... as
    # consecutive chunks; each included file holds the chunk after its include. Empty: one file.
    splits: List[int] = field(default_factory=list)
    compact_first_line: bool = False  # the top file's first statements on one line (issue 17)

    def of(self, kind):
        return [s for s in self.statements if isinstance(s, kind)]

    @property
    def table(self):
        return self.of(Table)[0]

    def defines(self):
        return {p.name: p.define for p in self.of(Param) if p.define is not None}
