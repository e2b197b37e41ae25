"""Predict each client's catchment from the model alone: a small BGP simulation.

One prefix (the anycast service), every site announcing it, every router applying the policy
of `lab.policy` exactly as rendered:
- a router exports its best route to a neighbor if the neighbor is its customer (or a
  route-server client), or the route was learned from a customer, and the route does not
  carry 0:<neighbor ASN>; export knobs (prepend, MED, communities) of that end apply;
- the receiver drops paths with its own ASN, sets local-pref from the relationship (or its
  `local_pref` knob), 0 if the route carries GRACEFUL_SHUTDOWN (65535:0);
- best path: highest local-pref, shortest AS path, lowest MED among routes from the same
  neighbor AS (deterministic MED), lowest neighbor router id, lowest neighbor address.
  (All origins are IGP, all sessions eBGP, so the other steps never decide.)

Rounds are synchronous (every router recomputes from the previous round's bests) until
nothing changes; Gao-Rexford policies guarantee that this converges.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import cmp_to_key

from lab.model import policy
from lab.model.topology import Lab, Node, Relation, Session

MAX_ROUNDS = 200


@dataclass(frozen=True)
class Route:
    site: str  # the origin site
    path: tuple[int, ...]  # AS path as the holder sees it (empty at the site itself)
    local_pref: int
    learned_from: str | None  # neighbor node name; None at the origin
    rel: Relation | None  # what that neighbor is to the holder
    med: int
    neighbor_id: ipaddress.IPv4Address | None
    neighbor_addr: ipaddress.IPv4Address | None
    communities: frozenset[str]


class NoConvergence(RuntimeError):
    pass


def _compare(a: Route, b: Route) -> int:
    """Negative when a is better (sorts first)."""
    if a.local_pref != b.local_pref:
        return b.local_pref - a.local_pref
    if len(a.path) != len(b.path):
        return len(a.path) - len(b.path)
    if a.path[:1] == b.path[:1] and a.med != b.med:
        return a.med - b.med
    ka = (int(a.neighbor_id or 0), int(a.neighbor_addr or 0))
    kb = (int(b.neighbor_id or 0), int(b.neighbor_addr or 0))
    return (ka > kb) - (ka < kb)


def best(candidates: list[Route]) -> Route | None:
    """Deterministic MED: the best of each neighbor-AS group, then the best of those."""
    if not candidates:
        return None
    groups: dict[tuple[int, ...], list[Route]] = {}
    for r in candidates:
        groups.setdefault(r.path[:1], []).append(r)
    winners = [sorted(g, key=cmp_to_key(_compare))[0] for g in groups.values()]
    return sorted(winners, key=cmp_to_key(_compare))[0]


def _reverse(lab: Lab, node: Node, s: Session) -> Session:
    """The neighbor's session toward `node` over the same link."""
    peer = lab.nodes[s.peer]
    return next(p for p in peer.sessions if p.peer == node.name and p.link == s.link)


def _offer(lab: Lab, holder: Node, route: Route, out: Session, receiver: Node) -> Route | None:
    """What `holder` sends `receiver` over `out` (holder's session), as the receiver stores it."""
    assert holder.asn is not None and receiver.asn is not None
    if holder.kind == "site":
        if route.learned_from is not None:
            return None  # sites announce only their own prefixes
    elif not (policy.exports_everything(out) or route.rel == "customer"):
        return None
    communities = set(route.communities)
    if policy.no_announce_to(receiver.asn) in communities:
        return None
    std, _large = policy.split_communities(list(out.knobs.communities))
    communities |= set(std)
    # a route server is transparent: it adds nothing of its own to the path
    path = route.path if out.rs_client else (holder.asn,) * (1 + out.knobs.prepend) + route.path
    if receiver.asn in path:
        return None
    inbound = _reverse(lab, holder, out)
    lp = policy.import_local_pref(inbound)
    if policy.GSHUT in communities:
        lp = 0
    return Route(
        site=route.site,
        path=path,
        local_pref=lp,
        learned_from=holder.name,
        rel=inbound.rel,
        med=out.knobs.med or 0,
        neighbor_id=holder.router_id,
        neighbor_addr=out.local4,
        communities=frozenset(communities),
    )


def simulate(lab: Lab, announcing: set[str] | None = None) -> dict[str, Route]:
    """Best route to the service at every router and site. `announcing`: sites that announce
    (default: all)."""
    speakers = [n for n in lab.nodes.values() if n.kind in ("router", "site")]
    sites = {n.name for n in speakers if n.kind == "site"}
    announcing = sites if announcing is None else announcing & sites
    state: dict[str, Route] = {
        name: Route(name, (), 0, None, None, 0, None, None, frozenset()) for name in sorted(announcing)
    }
    for _ in range(MAX_ROUNDS):
        new: dict[str, Route] = {}
        for node in speakers:
            if node.name in announcing:
                new[node.name] = state[node.name]  # a locally originated route always wins
                continue
            candidates = []
            for s in node.sessions:
                peer = lab.nodes[s.peer]
                held = state.get(peer.name)
                if held is None or (peer.kind != "site" and held.learned_from == node.name):
                    continue  # nothing to send, or split horizon (never back to where it came from)
                offer = _offer(lab, peer, held, _reverse(lab, node, s), node)
                if offer is not None:
                    candidates.append(offer)
            chosen = best(candidates)
            if chosen is not None:
                new[node.name] = chosen
        if new == state:
            return state
        state = new
    raise NoConvergence(f"no stable routing after {MAX_ROUNDS} rounds; check the relationships for a cycle")


def catchments(lab: Lab, announcing: set[str] | None = None) -> dict[str, str | None]:
    """Predicted site for every client and resolver (None: the service is unreachable)."""
    routes = simulate(lab, announcing)
    out: dict[str, str | None] = {}
    for node in lab.nodes.values():
        if node.kind not in ("client", "resolver"):
            continue
        router = next(
            lab.nodes[e.node]
            for link in lab.links
            if link.id == node.ifaces[0].link
            for e in link.ends
            if lab.nodes[e.node].kind == "router"
        )
        route = routes.get(router.name)
        out[node.name] = route.site if route else None
    return dict(sorted(out.items()))
