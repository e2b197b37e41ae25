"""ALIAS (apex CNAME flattening, as PowerDNS' ALIAS and "ANAME"): `@ ALIAS www.cdn.example.`
makes the owner's A and AAAA answers the target's, with TTL = min(ALIAS TTL, target TTLs).

The record type is PowerDNS' private-use 65401 (dnsnode.serving.rrtypes). Only targets in
zones this server serves are flattened; other targets answer SERVFAIL (we resolve nothing
recursively). A steered target (geoip) keeps its per-client answer and SCOPE: see
AliasSteered. One level: an ALIAS whose target is itself an ALIAS gets NODATA.
"""

from __future__ import annotations

from collections.abc import Callable

import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

from dnsnode.serving.ecs import ClientSubnet
from dnsnode.serving.hooks import Peer
from dnsnode.serving.index import Node
from dnsnode.serving.plan import Plan, plan_below, plan_exact
from dnsnode.serving.rrtypes import ALIAS
from dnsnode.serving.steer import Steer, Steered

A = dns.rdatatype.A
AAAA = dns.rdatatype.AAAA
_MEMO_LIMIT = 4096


# (node, exact) of a name in any zone in service, or None when no zone of ours holds it
Lookup = Callable[[dns.name.Name], tuple[Node, bool] | None]


def alias_target(node: Node) -> dns.name.Name | None:
    rrset = node.rrsets.get(ALIAS)
    if rrset is None:
        return None
    target: dns.name.Name = rrset[0].target
    return target.derelativize(node.zone.origin)


def flattened(node: Node, qtype: int, target_plan: Plan | None) -> Plan:
    """The owner's answer for qtype (A or AAAA) given the target's answer for it."""
    zone = node.zone
    alias = node.rrsets[ALIAS]
    if target_plan is None or target_plan.rcode in (dns.rcode.SERVFAIL, dns.rcode.REFUSED):
        return Plan(dns.rcode.SERVFAIL, aa=False, origin=zone.origin, exact=node.name)
    found = [r for r in target_plan.answer if r.rdtype == qtype]
    if target_plan.rcode != dns.rcode.NOERROR or not found or not target_plan.aa:
        neg = [zone.neg_soa] if zone.neg_soa is not None else []
        return Plan(dns.rcode.NOERROR, aa=True, authority=neg, origin=zone.origin, exact=node.name)
    ttl = min([alias.ttl, *(r.ttl for r in target_plan.answer)])
    rrset = dns.rrset.RRset(node.name, found[-1].rdclass, dns.rdatatype.RdataType(qtype))
    for r in found:
        rrset.update(r)
    rrset.update_ttl(ttl)
    return Plan(dns.rcode.NOERROR, aa=True, answer=[rrset], origin=zone.origin, exact=node.name)


def static_plans(node: Node, lookup: Lookup) -> dict[int, Plan]:
    """A and AAAA answers of an ALIAS owner from the target's zone data as it is now."""
    target = alias_target(node)
    assert target is not None
    out: dict[int, Plan] = {}
    for qtype in (A, AAAA):
        found = lookup(target)
        if found is None:
            out[qtype] = flattened(node, qtype, None)
            continue
        tnode, exact = found
        if ALIAS in tnode.rrsets and exact:
            tplan = plan_exact(tnode, dns.rdatatype.NULL, False)  # one level only: NODATA
        else:
            tplan = plan_exact(tnode, qtype, False) if exact else plan_below(tnode, qtype, False)
        out[qtype] = flattened(node, qtype, tplan)
    return out


class AliasSteered:
    """An ALIAS owner whose target is steered: the target decides per client, we rename."""

    def __init__(self, node: Node, target: Steered, plans: dict[int, Plan]) -> None:
        self.node = node
        self.target = target
        self.plans = plans  # the flattened zone answers, for when the target falls back to its zone
        self._memo: dict[Plan, Plan] = {}

    def steer(self, qtype: int, tcp: bool, subnet: ClientSubnet | None, peer: Peer) -> Steer:
        if qtype != A and qtype != AAAA:
            return None, None, 0, True  # every other type: the owner's own records
        plan, _nodata, scope, cacheable = self.target.steer(qtype, tcp, subnet, peer)
        if plan is None:
            return self.plans[qtype], None, scope, cacheable
        renamed = self._memo.get(plan)
        if renamed is None:
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo = {}
            renamed = self._memo[plan] = flattened(self.node, qtype, plan)
        return renamed, None, scope, cacheable
