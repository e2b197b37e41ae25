"""Routing policy shared by every router, whatever its daemon (Gao-Rexford, RFC 8326, RFC 4456).

This docstring is the one place the policy is written down; renderers take every decision
from the functions below, and `lab.predict.bgp` simulates exactly this.

Communities
-----------
Relationship tags (internal to one AS, large communities, RFC 8092), set at ingress:
    (ASN, 1, 1) learned from a customer, (ASN, 1, 2) from a peer, (ASN, 1, 3) from a provider,
    ASN = the AS that sets and reads them (4-byte ASNs fit: a large community's parts are
    32-bit). iBGP carries them, so every border of a multi-router AS exports on the tag the
    route got where it entered the AS, and valley-free export holds inside the AS.

Action communities, honoured by every router of the lab at every eBGP export (the route
server conventions of Euro-IX / BIRD, with the large forms of the same functions):
    do not announce to AS X          0:X                 0:0:X
    prepend own ASN N times to AS X  65501:X (N=1)       0:101:X
                                     65502:X (N=2)       0:102:X
                                     65503:X (N=3)       0:103:X
The standard form exists only for a 16-bit X; a 4-byte X (RFC 6793) needs the large form.
Both forms are honoured whenever they can name X. Global administrator 0 is nobody's ASN
(RFC 7607), the same trick as the standard 0:X: the action is the lab's, not one AS's. When
several prepend actions name X the largest N applies, on top of the session's `prepend` knob.
GRACEFUL_SHUTDOWN 65535:0 (RFC 8326) is well-known.

Import (per session)
--------------------
eBGP session:
1. delete our own relationship tags a neighbour may have sent back;
2. tag the route with where it came from (customer / peer / provider, as above);
3. local-pref by relationship: customer 200 > peer 100 > provider 50, unless the session's
   `local_pref` knob says otherwise; a route server (no relationship) uses 100;
4. GRACEFUL_SHUTDOWN present -> local-pref 0, on every router.
iBGP session (rel "internal"): keep everything as the ingress border set it: local-pref,
tags, MED, communities. (Setting local-pref 0 on GRACEFUL_SHUTDOWN again is harmless: the
border already did.)

Export (per session)
--------------------
eBGP session:
- never a route carrying a "do not announce to AS X" action for the neighbour's AS X;
- to customers (and a route server's clients): everything; to peers and providers: only our
  own prefixes and routes tagged "from a customer" (valley-free);
- AS-path prepend: the session's `prepend` knob plus the largest prepend action for the
  neighbour's AS; then MED (`med` knob; a MED received from another AS is never passed on,
  RFC 4271 5.1.4) and the knob's extra communities.
iBGP session: every best route, unchanged except NEXT_HOP: next-hop-self for routes learned
over eBGP (the border's loopback, so other routers need no route to eBGP link subnets) and the
next hop unchanged for reflected routes (so hot potato sees the real exit). Never the knobs,
never the actions. The daemons' own iBGP rules apply:
- a router that is not a reflector never passes a route learned over iBGP to another iBGP
  peer (full mesh: every router hears every border directly);
- a reflector (RFC 4456) passes its best route learned from a client to every iBGP peer but
  that client, and one learned from a non-client only to its clients; it adds ORIGINATOR_ID
  (when absent) and prepends its cluster id to CLUSTER_LIST;
- a route whose ORIGINATOR_ID is the receiver's router id, or whose CLUSTER_LIST holds the
  receiver's cluster id, is dropped on receipt.

An IXP route server neither tags nor filters by relationship (it passes everything between
its clients and does not add its ASN, nor changes the next hop: RFC 7947); its members see it
as a peer. Besides the lab's actions above it honours the route-server conventions (Euro-IX
large BGP communities, as DE-CIX / STACIX route servers do), RS = the route server's ASN:
    do not announce to peer P        0:P                 RS:0:P
    announce to peer P               RS:P                RS:1:P
    do not announce to any peer      0:RS                RS:0:0
"Do not announce to P" wins over "announce to P"; "announce to P" wins over "to none", so
0:RS with RS:P (or RS:0:0 with RS:1:P) means "only to P". Standard forms need 16-bit ASNs.
0:RS is addressed to the route server: a member exports it to the route server anyway (the
lab's large 0:0:RS still stops the member itself).
The route server keeps one table (sorted, BIRD's `secondary` export): each client gets the
best route that passes that client's export filter (not its own, not blocked by an action),
so a route hidden from one member does not hide the next best from it (RFC 7947 2.3.1).

Best path
---------
Identical in FRR 8.4 and BIRD 2.0.12 (Debian bookworm) with the settings below, in this order
(BIRD: except at a router holding a MED cycle, see step 4 and the settings):
1. highest LOCAL_PREF;
2. shortest AS_PATH;
3. lowest ORIGIN (always IGP in this lab: the step never decides);
4. lowest MED, only between routes whose AS_PATH starts with the same AS (the neighbour AS),
   deterministically: the best route of each neighbour-AS group first, then the best of those
   (so MED never compares routes from different ASes and the order of arrival never matters);
   a missing MED counts as 0;
5. eBGP over iBGP;
6. lowest IGP cost to the NEXT_HOP (hot potato): the OSPF cost to the border's loopback, the
   sum of the link costs on the shortest path plus LOOPBACK_IGP_COST; 0 over eBGP;
7. lowest ORIGINATOR_ID if the route has one (reflected), else the neighbour's router id;
8. shortest CLUSTER_LIST;
9. lowest neighbour address.
Sources: FRR 8.4.4 bgpd/bgp_route.c bgp_path_info_cmp (steps 1 weight, 2 local-pref,
3 locally originated, 4 AS path, 5 origin, 6 MED (aspath_cmp_left), 7 peer type, 8 IGP metric
(extra->igpmetric), 9 cluster length only with `maximum-paths ibgp N equal-cluster-length`,
12 older eBGP path unless `bgp bestpath compare-routerid`, 13 router id (originator id),
14 cluster length, 15 neighbour address) and bgp_best_selection (deterministic-med groups by
aspath_cmp_left); BIRD v2.0.12 proto/bgp/attrs.c bgp_rte_better (local-pref, AIGP (absent
here), AS path, origin, MED if `med metric` or same bgp_get_neighbor, is_interior, igp_metric
if `igp metric`, `prefer older`, ORIGINATOR_ID else remote_id, cluster list length, remote IP)
and bgp_rte_recalculate (`deterministic med`), BIRD's documentation (bird.sgml: `igp metric`
default on, `med metric` default off, `prefer older` default off, `deterministic med` default
off, `next hop self ebgp`, `rr client`, `rr cluster id`).
Settings (FRR_BGP_SETTINGS, BIRD_BGP_SETTINGS below): FRR needs `bgp deterministic-med` and
`bgp bestpath compare-routerid` (else step 7 keeps the older of two eBGP routes) and
`maximum-paths 1` / `maximum-paths ibgp 1` in each address family (its default is ECMP over
equal paths, which would split a client's packets over exits the model does not choose; and
never `equal-cluster-length`, which would move step 8 before step 7); BIRD keeps `igp metric
on`, `med metric off`, `prefer older off` (its defaults) and its kernel protocol without
`merge paths`, and runs with `deterministic med off`, its default, which compares MED
pairwise: the same choice as step 4 wherever no "MED cycle" exists (two routes of one
neighbour AS decided by MED while a third route from another AS beats one of them on a later
step; `lab.predict.bgp.med_order_dependent` names the routers where one does, and there BIRD's
choice can depend on the order the routes arrived in). Not `deterministic med on`: in BIRD
2.0.12 it can keep a worse route. When a session replaces its route, the overall best, by
one from another neighbour AS (an iBGP peer changing exits does that all the time),
bgp_rte_recalculate handles the old route's group alone, marks the old route suppressed and
returns 0 as "the last route in group disappears" (proto/bgp/attrs.c); rte_recalculate
(nest/rt-table.c) then takes the new route as best because it beats the old, now suppressed,
best, without comparing it with any other route. Seen in the lab (generated seed 19, cut
s3-t1-nrt: t1-sfo kept an iBGP route with a 4-AS path over its own 2-AS eBGP route, same
local-pref); the same code is in BIRD 2.16. Both: OSPF costs set explicitly on every internal interface and
LOOPBACK_IGP_COST on the loopback (FRR derives a default from the interface speed; BIRD gives a
host address on an interface cost 0 whatever the interface's `cost`, so there the loopback is a
configured `stubnet` with its cost: checked, an iBGP route's IGP metric is the link costs plus
LOOPBACK_IGP_COST in both daemons).
One difference the renderers close: FRR drops a route whose CLUSTER_LIST holds its cluster id
(its router id when none is set) from any iBGP peer; BIRD only on sessions to its clients
(proto/bgp/attrs.c: rr_cluster_id is set on `rr client` sessions only). With the default
cluster ids (each reflector's router id) this never happens; for two reflectors sharing one,
BIRD's other iBGP sessions get an import filter rejecting routes whose bgp_cluster_list holds
the router's cluster id (or router id), as FRR does (lab.render.routing: cluster_drop).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lab.model.topology import Relation, Session

LOCAL_PREF: dict[Relation, int] = {"customer": 200, "peer": 100, "provider": 50}
REL_CODE: dict[Relation, int] = {"customer": 1, "peer": 2, "provider": 3}
REL_FUNCTION = 1  # the large-community function of the relationship tags
GSHUT = "65535:0"
RS_LOCAL_PREF = 100  # a route server does not rank routes by relationship

ACTION_ADMIN = 0  # global administrator of the large action communities (nobody's ASN)
NO_ANNOUNCE_FUNCTION = 0
MAX_ACTION_PREPEND = 3
PREPEND_STD_HIGH = {1: 65501, 2: 65502, 3: 65503}  # N -> high half of the standard form
PREPEND_FUNCTION = {1: 101, 2: 102, 3: 103}  # N -> function of the large form
MAX_STD_ASN = 0xFFFF

LOOPBACK_IGP_COST = 10  # OSPF cost of the loopback stub (the /32, /128 iBGP runs between)

DECISION_ORDER: tuple[str, ...] = (
    "highest local-pref",
    "shortest AS path",
    "lowest origin",
    "lowest MED among routes from the same neighbour AS (deterministic)",
    "eBGP over iBGP",
    "lowest IGP cost to the next hop",
    "lowest originator id, else neighbour router id",
    "shortest cluster list",
    "lowest neighbour address",
)
FRR_BGP_SETTINGS: tuple[str, ...] = (  # under `router bgp`, then per address family
    "bgp deterministic-med",
    "bgp bestpath compare-routerid",
    "maximum-paths 1",
    "maximum-paths ibgp 1",
)
# The one exception: a multi-server site's router spreads the service over its servers
# (iBGP routes, equal by construction: same local-pref, empty AS path, next hops on connected
# links). FRR `maximum-paths ibgp N`, BIRD `merge paths` in its kernel protocol.
SITE_ECMP_PATHS = 8  # lab.model.spec.MAX_SERVERS
BIRD_BGP_SETTINGS: tuple[str, ...] = (  # in every `protocol bgp`
    "deterministic med off",  # not `on`: see above (BIRD 2.0.12 can keep a worse route)
    "igp metric on",
    "med metric off",
    "prefer older off",
)


def is_ibgp(s: Session) -> bool:
    return s.rel == "internal"


def import_local_pref(s: Session) -> int:
    """The local-pref an eBGP session sets on import (iBGP keeps the one set at ingress)."""
    if is_ibgp(s):
        raise ValueError(f"session {s.id} is iBGP: it keeps the local-pref set at the AS's ingress")
    if s.knobs.local_pref is not None:
        return s.knobs.local_pref
    return RS_LOCAL_PREF if s.rs_client else LOCAL_PREF[s.rel]


def rel_tag(asn: int, rel: Relation) -> tuple[int, int, int]:
    """The large community AS `asn` tags a route with when it enters over a `rel` session."""
    if rel == "internal":
        raise ValueError("iBGP routes keep the tag they got at ingress; there is no internal tag")
    return (asn, REL_FUNCTION, REL_CODE[rel])


def exports_everything(s: Session) -> bool:
    """Customers (and a route server's clients) get every route; peers and providers only ours."""
    return s.rel == "customer" or s.rs_client


def no_announce_to(asn: int) -> str:
    """The "do not announce to AS `asn`" action as a user writes it: standard if it fits."""
    return f"0:{asn}" if asn <= MAX_STD_ASN else f"{ACTION_ADMIN}:{NO_ANNOUNCE_FUNCTION}:{asn}"


def prepend_towards(asn: int, n: int) -> str:
    """The "prepend N times towards AS `asn`" action as a user writes it (N = 1..3)."""
    if not 1 <= n <= MAX_ACTION_PREPEND:
        raise ValueError(f"prepend actions ask for 1..{MAX_ACTION_PREPEND} copies, not {n}")
    if asn <= MAX_STD_ASN:
        return f"{PREPEND_STD_HIGH[n]}:{asn}"
    return f"{ACTION_ADMIN}:{PREPEND_FUNCTION[n]}:{asn}"


def no_announce_forms(asn: int, to_rs: bool = False) -> tuple[str, ...]:
    """Every community that stops an export to AS `asn` (match any of them). `to_rs`: AS `asn`
    is a route server, for which 0:RS means "announce to none of your clients": a member
    passes it on and the route server acts on it (only the large 0:0:RS stops the member)."""
    large = f"{ACTION_ADMIN}:{NO_ANNOUNCE_FUNCTION}:{asn}"
    return (f"0:{asn}", large) if asn <= MAX_STD_ASN and not to_rs else (large,)


def prepend_forms(asn: int) -> dict[str, int]:
    """Every community that asks for prepends towards AS `asn`, with its number of copies."""
    out: dict[str, int] = {}
    for n in range(1, MAX_ACTION_PREPEND + 1):
        if asn <= MAX_STD_ASN:
            out[f"{PREPEND_STD_HIGH[n]}:{asn}"] = n
        out[f"{ACTION_ADMIN}:{PREPEND_FUNCTION[n]}:{asn}"] = n
    return out


def blocks_export(communities: Iterable[str], asn: int, to_rs: bool = False) -> bool:
    """Whether a route carrying `communities` must not be announced to AS `asn` (`to_rs`: a
    route server's, see no_announce_forms)."""
    return not set(no_announce_forms(asn, to_rs)).isdisjoint(communities)


def action_prepend(communities: Iterable[str], asn: int) -> int:
    """Extra copies of the exporter's ASN the actions ask for towards AS `asn` (largest wins)."""
    forms = prepend_forms(asn)
    return max((forms[c] for c in communities if c in forms), default=0)


def split_communities(items: list[str]) -> tuple[list[str], list[str]]:
    """(standard, large) communities from the knobs' "a:b" / "a:b:c" strings."""
    std = [c for c in items if c.count(":") == 1]
    large = [c for c in items if c.count(":") == 2]
    return std, large


@dataclass(frozen=True)
class ImportRule:
    """What a router does with a route received over one session."""

    delete_own_tags: bool  # drop (ASN, 1, *) a neighbour sent back
    tag: tuple[int, int, int] | None  # relationship tag to add (None: keep what came)
    local_pref: int | None  # local-pref to set (None: keep what came, iBGP)
    gshut_zero: bool  # GRACEFUL_SHUTDOWN -> local-pref 0


@dataclass(frozen=True)
class ExportRule:
    """What a router does with its best route before announcing it over one session."""

    block_tags: tuple[tuple[int, int, int], ...]  # deny routes carrying any of these
    no_announce: tuple[str, ...]  # deny routes carrying any of these actions
    prepend_actions: dict[str, int]  # action community -> extra copies (largest wins)
    knobs: bool  # apply the session's prepend / MED / communities
    next_hop_self: bool  # iBGP: own loopback as next hop for routes learned over eBGP


def import_rule(asn: int, s: Session) -> ImportRule:
    if is_ibgp(s):
        return ImportRule(delete_own_tags=False, tag=None, local_pref=None, gshut_zero=True)
    return ImportRule(
        delete_own_tags=not s.rs_client,  # a route server tags nothing, and RS:1:P is an action
        tag=None if s.rs_client else rel_tag(asn, s.rel),
        local_pref=import_local_pref(s),
        gshut_zero=True,
    )


def export_rule(asn: int, s: Session) -> ExportRule:
    if is_ibgp(s):
        return ExportRule((), (), {}, knobs=False, next_hop_self=True)
    block = () if exports_everything(s) else tuple(rel_tag(asn, r) for r in ("peer", "provider"))
    return ExportRule(
        block_tags=block,
        no_announce=no_announce_forms(s.peer_asn, s.peer_is_rs),
        prepend_actions=prepend_forms(s.peer_asn),
        knobs=True,
        next_hop_self=False,
    )


RS_NO_ANNOUNCE_FUNCTION = 0  # RS:0:P, RS:0:0
RS_ANNOUNCE_FUNCTION = 1  # RS:1:P


def rs_no_announce_forms(rs_asn: int, asn: int) -> tuple[str, ...]:
    """What stops route server `rs_asn` announcing a route to its client AS `asn` alone."""
    return (*no_announce_forms(asn), f"{rs_asn}:{RS_NO_ANNOUNCE_FUNCTION}:{asn}")


def rs_none_forms(rs_asn: int) -> tuple[str, ...]:
    """ "Do not announce to any peer" at route server `rs_asn`."""
    large = f"{rs_asn}:{RS_NO_ANNOUNCE_FUNCTION}:0"
    return (f"0:{rs_asn}", large) if rs_asn <= MAX_STD_ASN else (large,)


def rs_announce_forms(rs_asn: int, asn: int) -> tuple[str, ...]:
    """ "Announce to peer `asn`" at route server `rs_asn` (overrides "to none")."""
    large = f"{rs_asn}:{RS_ANNOUNCE_FUNCTION}:{asn}"
    return (f"{rs_asn}:{asn}", large) if rs_asn <= MAX_STD_ASN and asn <= MAX_STD_ASN else (large,)


def rs_blocks_export(communities: Iterable[str], rs_asn: int, asn: int) -> bool:
    """Whether route server `rs_asn` must not announce a route carrying `communities` to AS `asn`."""
    have = set(communities)
    if not have.isdisjoint(rs_no_announce_forms(rs_asn, asn)):
        return True
    return not have.isdisjoint(rs_none_forms(rs_asn)) and have.isdisjoint(rs_announce_forms(rs_asn, asn))
