"""Answer plans: what goes in each section for a (name, qtype), decided once and memoised.

A plan is independent of the query's case, ID, flags and EDNS; it depends on the qname only
through `exact` (a fixed name) or `synth` (leading answer RRsets whose owner is the qname, for
wildcard synthesis), which the renderer handles. Semantics follow NSD/Knot: RFC 1034 4.3.2,
RFC 2308 (negative answers), RFC 4592 (wildcards), RFC 8482 (ANY: one RRset over UDP).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from dnsnode.serving.index import Node, ZoneIndex, wire_key

CNAME = dns.rdatatype.CNAME
DS = dns.rdatatype.DS
ANY = dns.rdatatype.ANY
A = dns.rdatatype.A
AAAA = dns.rdatatype.AAAA
NS = dns.rdatatype.NS
SVCB = dns.rdatatype.SVCB
HTTPS = dns.rdatatype.HTTPS
_SVCB_TYPES = (SVCB, HTTPS)
MAX_CHAIN = 8  # CNAME hops followed inside a zone, as NSD/Knot do before giving up


@dataclass(eq=False)
class Plan:
    rcode: int
    aa: bool
    answer: list[dns.rrset.RRset] = field(default_factory=list)
    authority: list[dns.rrset.RRset] = field(default_factory=list)
    additional: list[dns.rrset.RRset] = field(default_factory=list)
    origin: dns.name.Name | None = None  # zone origin: renders relative rdata, seeds compression
    exact: dns.name.Name | None = None  # the qname, when the plan serves one name only
    synth: int = 0  # leading answer RRsets owned by the qname (wildcard synthesis)
    glue_required: bool = False  # referral with in-domain glue: TC rather than drop it
    renders: dict[int, Any] = field(default_factory=dict)  # memo: (qlen << 3 | edns variant) -> wire
    rcode_key: str = ""
    rrl: object = None  # memo: how rate limiting accounts its responses (serving.rrl.tag_of)

    def __post_init__(self) -> None:
        self.rcode_key = "rcode." + dns.rcode.to_text(dns.rcode.Rcode(self.rcode))


REFUSED = Plan(dns.rcode.REFUSED, aa=False)


def find(zone: ZoneIndex, name: dns.name.Name) -> tuple[Node, bool]:
    """The deepest existing node at or above name (the closest encloser), and whether it is name."""
    current = name
    while True:
        node = zone.nodes.get(wire_key(current))
        if node is not None:
            return node, current is name
        current = current.parent()


def plan_exact(node: Node, qtype: int, tcp: bool) -> Plan:
    """Memoised: the qname is this existing node."""
    rrsets = node.rrsets
    if qtype == ANY:
        key = ANY | (0x10000 if tcp else 0)
    elif qtype in rrsets or CNAME in rrsets or node.cut is not None:
        key = qtype
    else:
        key = -1  # NODATA is the same for every absent type: one plan, memory stays bounded
    plan = node.plans.get(key)
    if plan is None:
        plan = node.plans[key] = _resolve(node.zone, node, True, qtype, tcp, node.name)
    return plan


def plan_below(node: Node, qtype: int, tcp: bool) -> Plan:
    """Memoised: the qname does not exist and node is its closest encloser."""
    zone = node.zone
    if not zone.servable:
        return servfail(zone)
    if node.cut is not None:
        cut = node.cut
        if cut.referral is None:
            cut.referral = _referral_plan(zone, cut, None)
        return cut.referral
    wild = node.wildcard
    if wild is not None:
        rrsets = wild.rrsets
        if qtype == ANY:
            key = ANY | (0x10000 if tcp else 0)
        elif qtype in rrsets or CNAME in rrsets:
            key = qtype
        else:
            key = -1
        plan = wild.synth.get(key)
        if plan is None:
            plan = wild.synth[key] = _resolve(zone, wild, True, qtype, tcp, None)
        return plan
    if zone.nxdomain is None:
        zone.nxdomain = Plan(dns.rcode.NXDOMAIN, True, authority=_neg(zone), origin=zone.origin)
    return zone.nxdomain


def servfail(zone: ZoneIndex) -> Plan:
    if zone.servfail is None:
        zone.servfail = Plan(dns.rcode.SERVFAIL, aa=False, origin=zone.origin)
    return zone.servfail


def _neg(zone: ZoneIndex) -> list[dns.rrset.RRset]:
    return [zone.neg_soa] if zone.neg_soa is not None else []


def _owned(rrset: dns.rrset.RRset, owner: dns.name.Name) -> dns.rrset.RRset:
    if rrset.name == owner:
        return rrset
    copy = dns.rrset.RRset(owner, rrset.rdclass, rrset.rdtype, rrset.covers)
    copy.update(rrset)
    return copy


def _addresses(zone: ZoneIndex, targets: list[dns.name.Name], seen: set[bytes]) -> list[dns.rrset.RRset]:
    """A/AAAA of in-zone targets (glue included), for the additional section."""
    out: list[dns.rrset.RRset] = []
    for target in targets:
        key = wire_key(target)
        node = zone.nodes.get(key)
        if node is None or key in seen:
            continue
        seen.add(key)
        for rdtype in (A, AAAA):
            rrset = node.rrsets.get(rdtype)
            if rrset is not None:
                out.append(rrset)
    return out


def _targets(zone: ZoneIndex, rrset: dns.rrset.RRset) -> list[dns.name.Name]:
    names: list[dns.name.Name] = []
    for rd in rrset:
        target = getattr(rd, "target", None) or getattr(rd, "exchange", None)
        if isinstance(target, dns.name.Name):
            names.append(target.derelativize(zone.origin))
    return names


def _svcb_additional(
    zone: ZoneIndex, rrset: dns.rrset.RRset, owner: dns.name.Name | None
) -> list[dns.rrset.RRset]:
    """RFC 9460 4.2: A, AAAA and same-type records of in-zone TargetNames, as Knot adds them.

    TargetName "." means the owner itself in ServiceMode (RFC 9460 2.5.2: its A/AAAA then) and
    "no service" in AliasMode. owner is None when it varies (a wildcard): nothing is added for ".".
    """
    out: list[dns.rrset.RRset] = []
    seen: set[bytes] = set()
    for rd in rrset:
        target: dns.name.Name = rd.target
        if target == dns.name.root:
            if rd.priority == 0 or owner is None:
                continue
            target = owner
        target = target.derelativize(zone.origin)
        key = wire_key(target)
        node = zone.nodes.get(key)
        if node is None or key in seen or node.cut is not None:
            continue
        seen.add(key)
        types = (A, AAAA) if target == owner else (A, AAAA, rrset.rdtype)
        for rdtype in types:
            found = node.rrsets.get(rdtype)
            if found is not None:
                out.append(found)
    return out


def plan_rrsets(
    zone: ZoneIndex, owner: dns.name.Name, rrsets: dict[int, dns.rrset.RRset], qtype: int, wildcard: bool
) -> Plan:
    """The plan for answering qtype from these RRsets at owner (steered answers: the records of
    one view), as if they were the zone's own node: CNAME chains continue in the zone, the
    additional section is filled the same way. wildcard: owner is "*.x" and the qname varies
    (the answer is synthesised). ANY answers every RRset given, in type order, over UDP too."""
    node = Node(owner, wire_key(owner), zone, dict(rrsets))
    return _resolve(zone, node, True, qtype, True, None if wildcard else owner)


def plan_any_through(
    zone: ZoneIndex, owner: dns.name.Name, cname: dns.rrset.RRset, tcp: bool, wildcard: bool
) -> Plan:
    """ANY at a name whose answer is this CNAME, as Knot 3.2's geoip module gives it: the CNAME,
    then the target's own ANY answer in the zone (one RRset over UDP, RFC 8482)."""
    head = plan_rrsets(zone, owner, {CNAME: cname}, CNAME, wildcard)
    target = cname[0].target.derelativize(zone.origin)
    if not target.is_subdomain(zone.origin):
        return head
    node, exact = find(zone, target)
    tail = plan_exact(node, ANY, tcp) if exact else plan_below(node, ANY, tcp)
    return Plan(
        tail.rcode,
        aa=True,
        answer=head.answer + tail.answer,
        authority=tail.authority,
        additional=tail.additional,
        origin=zone.origin,
        exact=head.exact,
        synth=head.synth,
        glue_required=tail.glue_required,
    )


def _referral_sections(
    zone: ZoneIndex, cut: Node
) -> tuple[list[dns.rrset.RRset], list[dns.rrset.RRset], bool]:
    ns = cut.rrsets[NS]
    targets = _targets(zone, ns)
    glue = _addresses(zone, targets, set())
    required = any(t.is_subdomain(cut.name) for t in targets) and bool(glue)
    return [ns], glue, required


def _referral_plan(zone: ZoneIndex, cut: Node, exact: dns.name.Name | None) -> Plan:
    authority, additional, required = _referral_sections(zone, cut)
    return Plan(
        dns.rcode.NOERROR,
        aa=False,
        authority=authority,
        additional=additional,
        origin=zone.origin,
        exact=exact,
        glue_required=required,
    )


def _any_rrsets(node: Node, tcp: bool) -> list[dns.rrset.RRset]:
    rrsets = [node.rrsets[t] for t in sorted(node.rrsets)]
    # RFC 8482 4.1: over UDP, one RRset (the lowest type) instead of everything at the name.
    return rrsets if tcp else rrsets[:1]


def _resolve(
    zone: ZoneIndex,
    node: Node,
    exact: bool,
    qtype: int,
    tcp: bool,
    qname: dns.name.Name | None,
) -> Plan:
    """Answer qtype at node (exact) or, if node is a "*" node and qname None, synthesise from it.

    qname None means the qname varies (wildcard synthesis): owners of the first hop are the qname.
    """
    if not zone.servable:
        return servfail(zone)
    if exact and node.cut is not None and not (node.is_cut and qtype == DS):
        return _referral_plan(zone, node.cut, qname)
    answer: list[dns.rrset.RRset] = []
    authority: list[dns.rrset.RRset] = []
    additional: list[dns.rrset.RRset] = []
    rcode = dns.rcode.NOERROR
    synth = 0
    glue_required = False
    seen: set[bytes] = {node.wire}
    owner = node.name  # for synthesis the renderer puts the qname in place of the "*" owner
    first_synth = qname is None
    for hop in range(MAX_CHAIN + 1):
        rrsets = node.rrsets
        cname = rrsets.get(CNAME)
        if qtype == ANY:
            found = _any_rrsets(node, tcp)
            answer.extend(_owned(r, owner) for r in found)
            if hop == 0 and first_synth:
                synth = len(found)
            if not found:
                authority = _neg(zone)
            break
        if cname is not None and qtype != CNAME:
            answer.append(_owned(cname, owner))
            if hop == 0 and first_synth:
                synth = 1
            target = cname[0].target.derelativize(zone.origin)
            key = wire_key(target)
            if key in seen or not target.is_subdomain(zone.origin) or hop == MAX_CHAIN:
                break  # loop, out of zone, or too long: the resolver continues from here
            seen.add(key)
            node, is_exact = find(zone, target)
            owner = target
            if is_exact and node.cut is None:
                continue
            if node.cut is not None and not (is_exact and node.is_cut and qtype == DS):
                authority, additional, glue_required = _referral_sections(zone, node.cut)
                break
            if not is_exact:
                if node.wildcard is None:
                    rcode = dns.rcode.NXDOMAIN  # RFC 6604: rcode of the last name in the chain
                    authority = _neg(zone)
                    break
                node = node.wildcard
            continue
        rrset = rrsets.get(qtype)
        if rrset is None:
            authority = _neg(zone)  # NODATA
            break
        answer.append(_owned(rrset, owner))
        if hop == 0 and first_synth:
            synth = 1
        if qtype in (NS, dns.rdatatype.MX, dns.rdatatype.SRV):
            additional = _addresses(zone, _targets(zone, rrset), set())
        elif qtype in _SVCB_TYPES:
            additional = _svcb_additional(zone, rrset, None if first_synth and hop == 0 else owner)
        break
    return Plan(
        rcode,
        aa=True,
        answer=answer,
        authority=authority,
        additional=additional,
        origin=zone.origin,
        exact=qname,
        synth=synth,
        glue_required=glue_required,
    )


def chaos_plan(qname: dns.name.Name, text: str) -> Plan:
    """CH TXT id.server / hostname.bind / version.bind (RFC 4892)."""
    rrset = dns.rrset.from_text(qname, 0, dns.rdataclass.CH, dns.rdatatype.TXT, _quoted(text))
    return Plan(dns.rcode.NOERROR, aa=False, answer=[rrset], exact=qname)  # no AA, as NSD


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
