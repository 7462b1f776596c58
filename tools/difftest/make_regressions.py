#!/usr/bin/env python3
"""Writes regressions/*.json: each a bug difftest found (or issue 17 reported), as a policy model
and the probes that told kernel and interpreter apart. Run it after changing a case here."""

import json
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import model as M  # noqa: E402
import reduce as R  # noqa: E402
from gen import Packet  # noqa: E402


def probe(i, version, proto, iif, src, dst, dport, mark=0, ct=0):
    return Packet(i, version, proto, iif, src, dst, 40000 + i, dport, mark, ct)


CASES = {}

# Issue 17: helper chains of a rule in the top file and one in the included file at the same
# line and column had one name; nft merged them and both rules' actions ran (0x6 for both).
CASES["included_helper_chain_names"] = (
    M.Policy([M.Table("ip"),
              M.Block(False, ["prerouting"], [
                  M.Rule([M.ProtoMatch("tcp")], [M.CtCopy(True, [0x1]), M.MarkAction(False, "|=", [0x2])]),
                  M.Rule([M.IfMatch(False, False, [("str", "dta")])],
                         [M.MarkAction(False, "|=", [0x10]), M.Verdict("accept")]),
                  M.Rule([M.IfMatch(False, False, [("str", "dtb")])], [M.Verdict("drop")])]),
              M.Block(False, ["prerouting"], [
                  M.Rule([M.ProtoMatch("udp")], [M.CtCopy(True, [0x1]), M.MarkAction(False, "|=", [0x4])]),
                  M.Rule([M.IfMatch(False, False, [("str", "dtc")])],
                         [M.MarkAction(False, "|=", [0x20]), M.Verdict("accept")]),
                  M.Rule([M.IfMatch(False, False, [("str", "dtz")])], [M.Verdict("drop")])])],
             splits=[1, 2], compact_first_line=True),
    [probe(0, 4, "tcp", "dtc", "10.3.0.2", "10.2.0.2", 80),
     probe(1, 4, "udp", "dtc", "10.3.0.2", "10.2.0.2", 53),
     probe(2, 4, "tcp", "dta", "10.1.0.2", "10.2.0.2", 80),
     probe(3, 4, "udp", "dtb", "10.2.0.2", "10.1.0.2", 53),
     probe(4, 4, "udp", "dta", "10.1.0.2", "10.2.0.2", 53, mark=0x1)])

# Issue 17: in an inet table `=> dnat to <IPv4>` followed by `=> dnat to <IPv6>` was refused as
# unreachable; IPv6 packets pass the first rule and take the second.
CASES["inet_dnat_per_family"] = (
    M.Policy([M.Table("inet"),
              M.Block(True, ["prerouting"], [
                  M.Rule([], [M.Dnat(("lit", "10.2.0.9"))]),
                  M.Rule([], [M.Dnat(("lit", "fd02::9"))])])]),
    [probe(0, 4, "tcp", "dta", "10.1.0.2", "10.3.0.2", 80),
     probe(1, 6, "tcp", "dta", "fd01::2", "fd03::2", 80),
     probe(2, 6, "udp", "dtc", "fd03::2", "fd01::1", 53)])

# Found by difftest (seed 1): `dnat to A:P` behind a bypass of two protocols compiled to a rule
# nft refused at load ("transport protocol mapping is only valid after transport protocol match").
CASES["bypass_two_protocols_dnat_port"] = (
    M.Policy([M.Table("ip"),
              M.Bypass("tcp", [(("lit", "15008"), None)]),
              M.Bypass("udp", [(("lit", "53"), None), (("lit", "5353"), None)]),
              M.Block(True, ["prerouting"], [
                  M.Rule([M.BypassMatch()], [M.Dnat(("lit", "10.2.0.9"), ("lit", "15053"))])])]),
    [probe(0, 4, "tcp", "dta", "10.1.0.2", "10.3.0.2", 15008),
     probe(1, 4, "udp", "dta", "10.1.0.2", "10.3.0.2", 5353),
     probe(2, 4, "tcp", "dta", "10.1.0.2", "10.3.0.2", 53),
     probe(3, 4, "udp", "dtc", "10.3.0.2", "10.1.0.1", 53)])

# Found by difftest (seed 2): bypass declarations with overlapping ports of one protocol, next
# to another protocol, made a lookup nft refused at load ("File exists").
CASES["bypass_overlapping_ports"] = (
    M.Policy([M.Table("ip"),
              M.Bypass("tcp", [(("lit", "8080"), None)]),
              M.Bypass("udp", [(("lit", "53"), ("lit", "267"))]),
              M.Bypass("udp", [(("lit", "53"), None), (("lit", "100"), ("lit", "300"))]),
              M.Block(False, ["forward"], [M.Rule([M.BypassMatch()], [M.Verdict("return")])]),
              M.Block(False, ["forward"], [M.Rule([], [M.MarkAction(False, "|=", [0x1])])])]),
    [probe(0, 4, "udp", "dta", "10.1.0.2", "10.3.0.2", 280),
     probe(1, 4, "udp", "dta", "10.1.0.2", "10.3.0.2", 301),
     probe(2, 4, "tcp", "dta", "10.1.0.2", "10.3.0.2", 53),
     probe(3, 4, "tcp", "dtb", "10.2.0.2", "10.3.0.2", 8080)])

# Found by difftest (seed 1): nested prefixes in a static set compiled, then nft refused the
# table ("conflicting intervals specified"). Now refused at compile time.
nested = M.SetDecl("nets", "ipv4net", False, [("lit", "10.0.0.0/8"), ("lit", "10.1.0.0/30")],
                   [None, None])
CASES["nested_set_prefixes"] = (
    M.Policy([M.Table("ip"), nested,
              M.Block(False, ["input"], [M.Rule([M.AddrMatch(False, False, [("set", "nets")])],
                                                [M.MarkAction(False, "|=", [0x1])])])]),
    [])
EXPECT_REFUSAL = {"nested_set_prefixes": "is inside '10.0.0.0/8'"}

if __name__ == "__main__":
    out_dir = os.path.join(HERE, "regressions")
    os.makedirs(out_dir, exist_ok=True)
    for name, (policy, probes) in CASES.items():
        case = R.to_json(policy, probes)
        if name in EXPECT_REFUSAL:
            case["expect_refusal"] = EXPECT_REFUSAL[name]
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            json.dump(case, f, indent=1)
            f.write("\n")
    print(f"wrote {len(CASES)} cases")
