"""Routing policy shared by every router, whatever its daemon (Gao-Rexford, RFC 8326).

Import, per session, in this order:
1. delete our own relationship tags a neighbor may have sent back;
2. tag the route with where it came from: large community (ASN, 1, 1) customer,
   (ASN, 1, 2) peer, (ASN, 1, 3) provider (ASN = the receiving router's ASN);
3. local-pref by relationship: customer 200 > peer 100 > provider 50, unless the session's
   `local_pref` knob says otherwise;
4. GRACEFUL_SHUTDOWN (65535:0, RFC 8326) present -> local-pref 0, on every router.

Export, per session:
- never a route carrying 0:X to a neighbor in AS X ("do not announce to AS X");
- to customers: everything; to peers and providers: only our own prefixes and routes tagged
  "from a customer" (valley-free);
- then the session's knobs: AS-path prepend, MED, extra communities.

An IXP route server neither tags nor filters by relationship (it passes everything between
its clients and does not add its ASN); its members see it as a peer.

Best path, identical in FRR (`bgp bestpath compare-routerid`, `bgp deterministic-med`) and
BIRD (its defaults): local-pref, AS-path length, origin (all IGP here), MED (only between
routes from the same neighbor AS), then the lowest neighbor router id, then the lowest
neighbor address. `lab.catchment` simulates exactly this.
"""

from __future__ import annotations

from lab.model.topology import Relation, Session

LOCAL_PREF: dict[Relation, int] = {"customer": 200, "peer": 100, "provider": 50}
REL_CODE: dict[Relation, int] = {"customer": 1, "peer": 2, "provider": 3}
GSHUT = "65535:0"
RS_LOCAL_PREF = 100  # a route server does not rank routes by relationship


def import_local_pref(s: Session) -> int:
    if s.knobs.local_pref is not None:
        return s.knobs.local_pref
    return RS_LOCAL_PREF if s.rs_client else LOCAL_PREF[s.rel]


def rel_tag(asn: int, rel: Relation) -> tuple[int, int, int]:
    return (asn, 1, REL_CODE[rel])


def exports_everything(s: Session) -> bool:
    """Customers (and a route server's clients) get every route; peers and providers only ours."""
    return s.rel == "customer" or s.rs_client


def no_announce_to(asn: int) -> str:
    return f"0:{asn}"


def split_communities(items: list[str]) -> tuple[list[str], list[str]]:
    """(standard, large) communities from the knobs' "a:b" / "a:b:c" strings."""
    std = [c for c in items if c.count(":") == 1]
    large = [c for c in items if c.count(":") == 2]
    return std, large
