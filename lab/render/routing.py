"""Template context for BGP speakers (routers and sites): the policy decisions, as data.

Templates only format; every decision (local-pref, which tags block an export, which knobs
and action communities apply, what iBGP carries, the IGP's costs and timers) is made here from
`lab.model.policy`, once for both daemons, so FRR and BIRD stay equivalent. Names the FRR
driver also uses at run time (route-map stems) come from it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from lab.daemons import frr, igp_driver_of, rtr
from lab.daemons.base import OSPF, OspfTimers, SpfTimers
from lab.model import policy
from lab.model.topology import Lab, Node, Session
from lab.render.options import RenderOptions

OSPF_AREA = "0.0.0.0"  # one area per AS: the backbone


@dataclass(frozen=True)
class ActionLists:
    """The action communities that name one neighbour AS (FRR community-lists by that ASN)."""

    asn: int
    no_announce_std: str | None  # "0:X", only for a 16-bit X
    no_announce_large: str  # "0:0:X"
    prepends: list[tuple[int, str | None, str]]  # (copies, "6550N:X" or None, "0:10N:X"), most first


def action_lists(asn: int, to_rs: bool = False) -> ActionLists:
    forms = policy.no_announce_forms(asn, to_rs)
    pre = policy.prepend_forms(asn)
    prepends = []
    for n in range(policy.MAX_ACTION_PREPEND, 0, -1):  # the largest N wins: test it first
        mine = [c for c, k in pre.items() if k == n]
        prepends.append(
            (
                n,
                next((c for c in mine if c.count(":") == 1), None),
                next(c for c in mine if c.count(":") == 2),
            )
        )
    return ActionLists(
        asn,
        next((c for c in forms if c.count(":") == 1), None),
        next(c for c in forms if c.count(":") == 2),
        prepends,
    )


@dataclass(frozen=True)
class RsActions:
    """A route server's export filter towards one client (lab.model.policy: rs_blocks_export)."""

    block: tuple[str, ...]  # any of these: not to this client
    none: tuple[str, ...]  # any of these: to no client ...
    announce: tuple[str, ...]  # ... unless one of these names this client


def rs_actions(rs_asn: int, asn: int) -> RsActions:
    return RsActions(
        policy.rs_no_announce_forms(rs_asn, asn),
        policy.rs_none_forms(rs_asn),
        policy.rs_announce_forms(rs_asn, asn),
    )


@dataclass(frozen=True)
class SessionView:
    s: Session
    ident: str  # BIRD protocol stem (identifier)
    stem: str  # FRR route-map stem (FROM-<stem>, TO-<stem>)
    descr: str
    ibgp: bool
    local_pref: int | None  # set on import (None: iBGP keeps the ingress border's)
    tag: tuple[int, int, int] | None  # relationship tag to add on import (None: route server, iBGP)
    delete_own_tags: bool  # import: drop our relationship tags a neighbour sent back (eBGP)
    block_tags: list[tuple[int, int, int]]  # export: deny routes carrying any of these
    actions: ActionLists | None  # export: the action communities naming the neighbour's AS (None: iBGP)
    prepend_actions: bool  # ... their prepends too (not at a route server, which adds no ASN)
    std_communities: list[str]
    large_communities: list[str]
    prepend: list[int]  # ASNs to prepend on export (the session's knob)
    export_map: str  # FRR outbound route-map name
    next_hop_self: bool  # iBGP: our loopback as next hop for routes learned over eBGP
    rr_client: bool  # iBGP: the peer is our route-reflector client
    cluster_drop: ipaddress.IPv4Address | None  # iBGP import: drop routes with this id in CLUSTER_LIST
    rs: RsActions | None = None  # we are a route server and the peer our client: its export filter


@dataclass(frozen=True)
class IgpIface:
    name: str
    cost: int


@dataclass(frozen=True)
class IgpView:
    """OSPFv2 and OSPFv3 of one router (lab.model.topology: Node.runs_igp)."""

    area: str
    ifaces: list[IgpIface]  # point-to-point, with the link's cost
    loopback_cost: int  # the loopback stub (passive)
    timers: OspfTimers  # hello, dead, retransmit: the same on every router
    spf: SpfTimers  # this daemon's SPF and LSA throttling


def session_view(node: Node, s: Session) -> SessionView:
    assert node.asn is not None
    stem = frr.session_stem(s)
    if s.in_site:
        # a multi-server site, inside the service AS: the server announces (the agent's
        # ANYCAST-OUT / anycast_export()), the router takes it unchanged and sends the server
        # its upstreams' routes with itself as next hop; GRACEFUL_SHUTDOWN still means 0
        router_side = s.rel == "server"
        return SessionView(
            s=s, ident=s.id, stem=stem, descr=f"{s.peer} AS{s.peer_asn} {'server' if router_side else 'site router'} (iBGP)",  # noqa: E501
            ibgp=False, local_pref=None, tag=None, delete_own_tags=False, block_tags=[], actions=None,
            prepend_actions=False, std_communities=[], large_communities=[], prepend=[],
            export_map=frr.export_map(node, s), next_hop_self=router_side, rr_client=False, cluster_drop=None,
        )  # fmt: skip
    imp = policy.import_rule(node.asn, s)
    exp = policy.export_rule(node.asn, s)
    if s.ibgp:
        # what the ingress border set travels unchanged: no tags, no local-pref, no knobs, no actions
        cluster = node.cluster_id or node.router_id
        return SessionView(
            s=s, ident=s.id, stem=stem, descr=f"{s.peer} AS{s.peer_asn} internal (iBGP)", ibgp=True,
            local_pref=imp.local_pref, tag=imp.tag, delete_own_tags=imp.delete_own_tags, block_tags=[],
            actions=None, prepend_actions=False, std_communities=[],
            large_communities=[], prepend=[], export_map=frr.export_map(node, s),
            next_hop_self=s.next_hop_self, rr_client=s.rr_client,
            # FRR drops on every iBGP session; BIRD only on its client sessions: say it on the others
            cluster_drop=None if s.rr_client else cluster,
        )  # fmt: skip
    std, large = policy.split_communities(list(s.knobs.communities))
    what = "route-server client" if s.rs_client else ("route server" if s.peer_is_rs else s.rel)
    return SessionView(
        s=s,
        ident=s.id,
        stem=stem,
        descr=f"{s.peer} AS{s.peer_asn} {what}",
        ibgp=False,
        local_pref=imp.local_pref,
        tag=imp.tag,
        delete_own_tags=imp.delete_own_tags,
        block_tags=list(exp.block_tags),
        actions=action_lists(s.peer_asn, s.peer_is_rs),
        prepend_actions=not s.rs_client and bool(exp.prepend_actions),
        std_communities=std,
        large_communities=large,
        prepend=[node.asn] * s.knobs.prepend,
        export_map=frr.export_map(node, s),
        next_hop_self=False,
        rr_client=False,
        cluster_drop=None,
        rs=rs_actions(node.asn, s.peer_asn) if s.rs_client else None,
    )


def igp_view(node: Node) -> IgpView | None:
    if not node.runs_igp:
        return None
    ifaces = [IgpIface(i.name, i.igp_cost) for i in node.igp_ifaces if i.igp_cost is not None]
    return IgpView(OSPF_AREA, ifaces, policy.LOOPBACK_IGP_COST, OSPF, igp_driver_of(node).spf)


def context(lab: Lab, node: Node, options: RenderOptions) -> dict[str, Any]:
    assert node.asn is not None
    sessions = [session_view(node, s) for s in node.sessions]
    ebgp = [v for v in sessions if not v.ibgp and not v.s.in_site]
    site = node.kind in ("site", "server")
    svc = lab.service
    return {
        "lab": lab,
        "node": node,
        "asn": node.asn,
        "sessions": sessions,
        "ebgp_sessions": ebgp,
        # the action communities, once per neighbour AS (FRR community-lists and ACTIONS-TO-<AS>
        # route-maps, BIRD actions_to_<AS>() functions), by that AS's number
        # (a site exports only its own prefixes: no actions)
        "actions": []
        if site
        else [action_lists(a, rs) for a, rs in sorted({(v.s.peer_asn, v.s.peer_is_rs) for v in ebgp})],
        "prepend_asns": [] if site else sorted({v.s.peer_asn for v in ebgp if v.prepend_actions}),
        "rel_tags": {rel: policy.rel_tag(node.asn, rel) for rel in ("customer", "peer", "provider")},
        "gshut": policy.GSHUT,
        "is_site": site,
        # an IXP route server: sorted tables, `secondary` exports (each client its best allowed route)
        "is_rs": any(v.s.rs_client for v in ebgp),
        "igp": igp_view(node),
        # the decision-order settings (lab.model.policy): FRR's `bgp ...` under `router bgp`,
        # the rest in each address family; BIRD's in every `protocol bgp`
        "frr_bgp": [x for x in policy.FRR_BGP_SETTINGS if x.startswith("bgp ")],
        "frr_af": [x for x in policy.FRR_BGP_SETTINGS if not x.startswith("bgp ")]
        if not node.ecmp
        else [x for x in policy.FRR_BGP_SETTINGS if not x.startswith("bgp ") and "ibgp" not in x]
        + [f"maximum-paths ibgp {policy.SITE_ECMP_PATHS}"],
        # a multi-server site's router: ECMP over its servers (the only ECMP in a lab)
        "site_router": node.ecmp,
        "servers_limit": policy.SITE_ECMP_PATHS,
        "servers_unicast4": [n for s in node.servers for n in lab.nodes[s].originate4],
        "servers_unicast6": [n for s in node.servers for n in lab.nodes[s].originate6],
        "bird_bgp": policy.BIRD_BGP_SETTINGS,
        "anycast4": [svc.prefix4],
        "anycast6": [svc.prefix6],
        "node_dir": options.node_dir(lab, node.name),
        "pathspace": options.pathspace(node.name),
        "source": options.source_name(lab),
        # RFC 6811 (rov routers): static ROAs in bird.conf (rov "static"), the topology's
        # `roas:` (default: the service's prefixes, exactly, from the service AS) ...
        "roas4": [(r.prefix, r.max_length, r.asn) for r in lab.roas if r.prefix.version == 4],
        "roas6": [(r.prefix, r.max_length, r.asn) for r in lab.roas if r.prefix.version == 6],
        # ... or the AS's RTR cache (rov "rtr", lab.daemons.rtr): its address and the timers
        "rtr": node.rtr_cache if node.rov == "rtr" else None,
        "rtr_refresh": rtr.RTR_REFRESH_S,
        "rtr_retry": rtr.RTR_RETRY_S,
        "rtr_expire": rtr.RTR_EXPIRE_S,
    }
