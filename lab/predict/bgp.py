"""Predict each client's catchment from the model alone: a small BGP simulation.

One prefix (the anycast service), every site announcing it, every router applying the policy
of `lab.model.policy` exactly as rendered:
- eBGP: a router exports its best route to a neighbour if the neighbour is its customer (or a
  route-server client), or the route entered its AS from a customer (the relationship tag,
  carried over iBGP), and no "do not announce" action names the neighbour's AS; export knobs
  (prepend, MED, communities) and prepend actions apply. The receiver drops paths with its
  own ASN, sets local-pref from the relationship (or its `local_pref` knob), 0 if the route
  carries GRACEFUL_SHUTDOWN (65535:0).
- iBGP (routers of one AS, between loopbacks): a router sends its best route to its iBGP
  peers if it learned it over eBGP (next hop: itself, next-hop-self); a route reflector also
  passes on a route learned over iBGP: from a client to every other iBGP peer, from a
  non-client to its clients only, adding ORIGINATOR_ID and its cluster id (RFC 4456).
  Local-pref, MED, communities and tags travel unchanged. A route whose ORIGINATOR_ID is the
  receiver's router id or whose CLUSTER_LIST holds the receiver's cluster id is dropped, and
  so is one whose next hop the IGP does not reach.
- best path, `policy.DECISION_ORDER`: local-pref, AS-path length, (origin: always IGP), MED
  within the routes from one neighbour AS (deterministic MED), eBGP over iBGP, IGP cost to the
  next hop (hot potato), originator id or neighbour router id, cluster-list length, neighbour
  address.

Rounds are synchronous (every router recomputes from the previous round's bests) until
nothing changes; Gao-Rexford policies guarantee that this converges for eBGP. iBGP with route
reflection can have more than one stable state (or none, RFC 3345); `simulate` then falls back
to one router at a time, and `stable_outcomes` tells whether other schedules agree.

Catchment: where a client's packets end up. They follow each router's own best route hop by
hop: over eBGP to the neighbour, over iBGP along the IGP's shortest path to the next hop, and
every router on the way forwards by its own best route. With a full mesh that is the client's
router's best route; behind a route reflector a router on the way may prefer another exit
(deflection), and the packets take that one, as the real routers' FIBs do.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import random
from collections.abc import Sequence
from dataclasses import dataclass

from lab.model import policy
from lab.model.topology import Lab, Node, Relation, Session
from lab.predict import igp

MAX_ROUNDS = 200
MAX_TRACES = 16


@dataclass(frozen=True)
class Route:
    site: str  # the origin site
    path: tuple[int, ...]  # AS path as the holder sees it (empty at the site itself)
    local_pref: int
    learned_from: str | None  # neighbor node name; None at the origin
    rel: Relation | None  # what that neighbor is to the holder ("internal": an iBGP peer)
    med: int
    neighbor_id: ipaddress.IPv4Address | None
    neighbor_addr: ipaddress.IPv4Address | None
    communities: frozenset[str]
    tag: Relation | None = None  # how the route entered the holder's AS (customer, peer, provider)
    next_hop: str | None = None  # the node whose address is the BGP next hop (iBGP: the exit border)
    igp_cost: int = 0  # IGP cost to the next hop's loopback (iBGP); 0 over eBGP
    originator_id: ipaddress.IPv4Address | None = None  # set by a route reflector
    cluster_list: tuple[ipaddress.IPv4Address, ...] = ()

    @property
    def ebgp(self) -> bool:
        return self.rel != "internal"


@dataclass(frozen=True)
class Failures:
    """What is down: links (ids; an internal link leaves the IGP, an eBGP link takes its
    session), nodes (routers or sites: crashed), iBGP sessions (pairs of router names)."""

    links: frozenset[str] = frozenset()
    nodes: frozenset[str] = frozenset()
    ibgp: frozenset[frozenset[str]] = frozenset()


NO_FAILURES = Failures()


class NoConvergence(RuntimeError):
    pass


def _rank(r: Route, with_med: bool) -> tuple[int, ...]:
    """Smaller is better: policy.DECISION_ORDER as a sort key (origin is always IGP)."""
    router_id = r.originator_id or r.neighbor_id
    return (
        -r.local_pref,
        len(r.path),
        r.med if with_med else 0,
        0 if r.ebgp else 1,
        r.igp_cost,
        int(router_id or 0),
        len(r.cluster_list),
        int(r.neighbor_addr or 0),
    )


def best(candidates: list[Route]) -> Route | None:
    """Deterministic MED: the best of each neighbor-AS group, then the best of those (where
    MED no longer counts: the groups' neighbour ASes differ)."""
    if not candidates:
        return None
    groups: dict[tuple[int, ...], list[Route]] = {}
    for r in candidates:
        groups.setdefault(r.path[:1], []).append(r)
    winners = [min(g, key=lambda r: _rank(r, True)) for g in groups.values()]
    return min(winners, key=lambda r: _rank(r, False))


class _Net:
    """The lab with its failures applied: live sessions (with their reverse) and the IGP."""

    def __init__(self, lab: Lab, failures: Failures) -> None:
        self.lab = lab
        self.igp = igp.compute(lab, failures.links, failures.nodes)
        self.speakers = [
            n for n in lab.nodes.values() if n.kind in ("router", "site") and n.name not in failures.nodes
        ]
        self.sessions: dict[str, list[tuple[Session, Session]]] = {}  # node -> (its session, the peer's)
        self.ibgp_to: dict[tuple[str, str], Session] = {}
        for node in self.speakers:
            live: list[tuple[Session, Session]] = []
            for s in node.sessions:
                if s.peer in failures.nodes or s.in_site:
                    continue  # a multi-server site's router originates for its servers (one site)
                if s.ibgp:
                    if (
                        frozenset((node.name, s.peer)) in failures.ibgp
                        or self.igp.cost(node.name, s.peer) is None
                    ):
                        continue  # down, or its loopbacks cannot reach each other
                    self.ibgp_to[(node.name, s.peer)] = s
                elif s.link in failures.links:
                    continue
                live.append((s, _reverse(lab, node, s)))
            self.sessions[node.name] = live


def _reverse(lab: Lab, node: Node, s: Session) -> Session:
    """The neighbor's session toward `node` (over the same link for eBGP)."""
    peer = lab.nodes[s.peer]
    return next(p for p in peer.sessions if p.peer == node.name and p.link == s.link)


def _offer(
    net: _Net, holder: Node, route: Route, out: Session, receiver: Node, inbound: Session
) -> Route | None:
    """What `holder` sends `receiver` over `out` (holder's session; `inbound` is the
    receiver's), as the receiver stores it, or None."""
    if route.learned_from == receiver.name:
        return None  # never back to the sender (and the receiver would drop it as a loop)
    if out.ibgp:
        return _offer_ibgp(net, holder, route, out, receiver)
    return _offer_ebgp(holder, route, out, receiver, inbound)


def _offer_ebgp(holder: Node, route: Route, out: Session, receiver: Node, inbound: Session) -> Route | None:
    assert holder.asn is not None and receiver.asn is not None
    if holder.kind == "site":
        if route.learned_from is not None:
            return None  # sites announce only their own prefixes
    elif not (policy.exports_everything(out) or route.tag == "customer"):
        return None  # valley-free: only customer routes go to peers and providers
    if policy.blocks_export(route.communities, receiver.asn, out.peer_is_rs):
        return None
    if out.rs_client and policy.rs_blocks_export(route.communities, holder.asn, receiver.asn):
        return None
    extra = 0 if out.rs_client else policy.action_prepend(route.communities, receiver.asn)
    communities = route.communities | set(out.knobs.communities)
    # a route server is transparent: it adds nothing of its own to the path, nor its next hop
    path = route.path if out.rs_client else (holder.asn,) * (1 + out.knobs.prepend + extra) + route.path
    if receiver.asn in path:
        return None
    lp = 0 if policy.GSHUT in communities else policy.import_local_pref(inbound)
    return Route(
        site=route.site,
        path=path,
        local_pref=lp,
        learned_from=holder.name,
        rel=inbound.rel,
        med=out.knobs.med or 0,  # a MED from another AS is never passed on
        neighbor_id=holder.router_id,
        neighbor_addr=out.local4,
        communities=frozenset(communities),
        tag=inbound.rel,
        next_hop=route.next_hop if out.rs_client else holder.name,
    )


def _offer_ibgp(net: _Net, holder: Node, route: Route, out: Session, receiver: Node) -> Route | None:
    next_hop: str | None = holder.name  # next-hop-self at the border
    originator: ipaddress.IPv4Address | None = None
    clusters: tuple[ipaddress.IPv4Address, ...] = ()
    if not route.ebgp:  # reflect, or not
        if not holder.route_reflector or route.learned_from is None:
            return None  # iBGP split horizon: only reflectors pass iBGP routes on
        came = net.ibgp_to[(holder.name, route.learned_from)]
        if not came.rr_client and not out.rr_client:
            return None  # from a non-client: to clients only
        sender = net.lab.nodes[route.learned_from]
        next_hop = route.next_hop
        originator = route.originator_id or sender.router_id
        assert holder.cluster_id is not None
        clusters = (holder.cluster_id, *route.cluster_list)
    if originator is not None and originator == receiver.router_id:
        return None
    if (receiver.cluster_id or receiver.router_id) in clusters:
        return None
    assert next_hop is not None
    cost = net.igp.cost(receiver.name, next_hop)
    if cost is None:
        return None  # next hop unresolvable
    return dataclasses.replace(
        route,
        learned_from=holder.name,
        rel="internal",
        neighbor_id=holder.router_id,
        neighbor_addr=out.local4,
        next_hop=next_hop,
        igp_cost=cost,
        originator_id=originator,
        cluster_list=clusters,
    )


def _candidates(net: _Net, node: Node, state: dict[str, Route]) -> list[Route]:
    out = []
    for s, back in net.sessions[node.name]:
        held = _rs_choice(net, net.lab.nodes[s.peer], node, state) if s.peer_is_rs else state.get(s.peer)
        if held is None:
            continue
        offer = _offer(net, net.lab.nodes[s.peer], held, back, node, s)
        if offer is not None:
            out.append(offer)
    return out


def _rs_choice(net: _Net, rs: Node, client: Node, state: dict[str, Route]) -> Route | None:
    """The route a route server sends one client: the best of its routes that its export filter
    lets through to that client (BIRD's sorted table with `secondary`), not simply its best."""
    assert rs.asn is not None and client.asn is not None
    allowed = [
        r
        for r in _candidates(net, rs, state)
        if r.learned_from != client.name and not policy.rs_blocks_export(r.communities, rs.asn, client.asn)
    ]
    return best(allowed)


def _choose(net: _Net, node: Node, state: dict[str, Route]) -> Route | None:
    return best(_candidates(net, node, state))


def pairwise_better(a: Route, b: Route) -> bool:
    """`a` beats `b` compared on their own, as a daemon without deterministic MED compares them
    (MED only when both come from the same neighbour AS)."""
    med = a.path[:1] == b.path[:1]
    return _rank(a, med) < _rank(b, med)


def med_order_dependent(
    lab: Lab, announcing: set[str] | None = None, failures: Failures = NO_FAILURES
) -> dict[str, list[str]]:
    """Routers whose best route, compared pairwise, could depend on the order the routes
    arrived in: a MED decided between two routes of one neighbour AS while a third route from
    another AS beats one of them on a later step (RFC 4271 9.1.2.2 c's cycle). BIRD 2.0.12 runs
    without `deterministic med` (its implementation can keep a worse route: lab.model.policy),
    so there the model's deterministic choice holds only where no such cycle exists: router ->
    the sites of the routes it holds, deterministic best first."""
    net = _Net(lab, failures)
    state = simulate(lab, announcing, failures)
    out: dict[str, list[str]] = {}
    for node in net.speakers:
        if node.kind != "router" or node.name not in state or state[node.name].learned_from is None:
            continue
        routes = _candidates(net, node, state)
        chosen = best(routes)
        if chosen is not None and not all(pairwise_better(chosen, r) for r in routes if r != chosen):
            out[node.name] = [chosen.site, *sorted(r.site for r in routes if r != chosen)]
    return out


def _origins(net: _Net, announcing: set[str] | None) -> dict[str, Route]:
    sites = {n.name for n in net.speakers if n.kind == "site"}
    chosen = sites if announcing is None else announcing & sites
    # a site's second router originates for the same site (its label: Node.site_name)
    label = {name: net.lab.nodes[name].site_name for name in chosen}
    return {
        name: Route(label[name], (), 0, None, None, 0, None, None, frozenset()) for name in sorted(chosen)
    }


def _synchronous(net: _Net, origins: dict[str, Route]) -> dict[str, Route] | None:
    state = dict(origins)
    for _ in range(MAX_ROUNDS):
        new = dict(origins)  # a locally originated route always wins
        for node in net.speakers:
            if node.name not in origins and (chosen := _choose(net, node, state)) is not None:
                new[node.name] = chosen
        if new == state:
            return state
        state = new
    return None


def _sequential(net: _Net, origins: dict[str, Route], order: Sequence[str]) -> dict[str, Route] | None:
    """One router at a time, in `order`, each seeing the others' latest bests."""
    state = dict(origins)
    nodes = [net.lab.nodes[name] for name in order if name not in origins]
    for _ in range(MAX_ROUNDS):
        changed = False
        for node in nodes:
            chosen = _choose(net, node, state)
            if chosen != state.get(node.name):
                changed = True
                if chosen is None:
                    del state[node.name]
                else:
                    state[node.name] = chosen
        if not changed:
            return state
    return None


def simulate(
    lab: Lab,
    announcing: set[str] | None = None,
    failures: Failures = NO_FAILURES,
    order: Sequence[str] | None = None,
) -> dict[str, Route]:
    """Best route to the service at every router and site. `announcing`: sites that announce
    (default: all); `order`: update routers one at a time in this order instead of in
    synchronous rounds."""
    net = _Net(lab, failures)
    origins = _origins(net, announcing)
    if order is not None:
        state = _sequential(net, origins, [n for n in order if n in net.sessions])
    else:
        state = _synchronous(net, origins)
        if state is None:  # e.g. two stable states the synchronous rounds swing between
            state = _sequential(net, origins, [n.name for n in net.speakers])
    if state is None:
        raise NoConvergence(
            f"no stable routing after {MAX_ROUNDS} rounds; check the relationships for a cycle, and "
            "route reflectors with MEDs (RFC 3345)"
        )
    return state


def stable_outcomes(lab: Lab, announcing: set[str] | None = None, schedules: int = 4, seed: int = 0) -> int:
    """How many different stable states the synchronous rounds and `schedules` random
    one-at-a-time orders reach (1: the prediction does not depend on timing)."""
    rng = random.Random(seed)
    names = [n.name for n in lab.nodes.values() if n.kind in ("router", "site")]
    outcomes = {_freeze(simulate(lab, announcing))}
    for _ in range(schedules):
        rng.shuffle(names)
        outcomes.add(_freeze(simulate(lab, announcing, order=list(names))))
    return len(outcomes)


def _freeze(state: dict[str, Route]) -> frozenset[tuple[str, Route]]:
    return frozenset(state.items())


def _next_nodes(net: _Net, state: dict[str, Route], name: str) -> list[str]:
    """Where `name` forwards packets to the service (empty: it has no route)."""
    route = state.get(name)
    if route is None or route.next_hop is None:
        return []
    if route.ebgp:
        return [route.next_hop]
    return net.igp.first_hops(name, route.next_hop)


def _arrivals(net: _Net, state: dict[str, Route], start: str) -> frozenset[str | None]:
    """Sites the packets from `start` can reach (several: IGP ECMP); None: dropped or looping."""
    memo: dict[str, frozenset[str | None]] = {}
    on_path: set[str] = set()

    def visit(name: str) -> frozenset[str | None]:
        if name in memo:
            return memo[name]
        route = state.get(name)
        if route is not None and route.learned_from is None:
            return frozenset({route.site})  # a site, announcing
        if name in on_path:
            return frozenset({None})  # a forwarding loop
        on_path.add(name)
        nxt = _next_nodes(net, state, name)
        out: frozenset[str | None] = frozenset().union(*(visit(n) for n in nxt)) if nxt else frozenset({None})
        on_path.discard(name)
        memo[name] = out
        return out

    return visit(start)


def trace(
    lab: Lab, start: str, announcing: set[str] | None = None, failures: Failures = NO_FAILURES
) -> list[list[str]]:
    """The forwarding paths from router `start` to the service (several with IGP ECMP; at most
    MAX_TRACES), each ending at a site, or at the router where packets are dropped or loop."""
    net = _Net(lab, failures)
    state = simulate(lab, announcing, failures)
    paths: list[list[str]] = []

    def walk(path: list[str]) -> None:
        if len(paths) >= MAX_TRACES:
            return
        here = path[-1]
        route = state.get(here)
        nxt = _next_nodes(net, state, here)
        if (route is not None and route.learned_from is None) or not nxt:
            paths.append(path)
            return
        for n in nxt:
            if n in path:
                paths.append([*path, n])  # loop
            else:
                walk([*path, n])

    walk([start])
    return paths


def _lan_router(lab: Lab, node: Node) -> Node:
    return next(
        lab.nodes[e.node]
        for link in lab.links
        if link.id == node.ifaces[0].link
        for e in link.ends
        if lab.nodes[e.node].kind == "router"
    )


def forwarding(
    lab: Lab, announcing: set[str] | None = None, failures: Failures = NO_FAILURES
) -> dict[str, frozenset[str | None]]:
    """Every site each client's and resolver's packets can reach (more than one: the IGP
    splits them over equal-cost paths that end at different sites)."""
    net = _Net(lab, failures)
    state = simulate(lab, announcing, failures)
    out: dict[str, frozenset[str | None]] = {}
    for node in lab.nodes.values():
        if node.kind in ("client", "resolver"):
            router = _lan_router(lab, node)
            out[node.name] = (
                _arrivals(net, state, router.name) if router.name in net.sessions else frozenset({None})
            )
    return dict(sorted(out.items()))


def ambiguous(
    lab: Lab, announcing: set[str] | None = None, failures: Failures = NO_FAILURES
) -> dict[str, list[str]]:
    """Clients and resolvers whose packets can end at more than one place (IGP ECMP)."""
    return {
        name: sorted(s or "(dropped)" for s in sites)
        for name, sites in forwarding(lab, announcing, failures).items()
        if len(sites) > 1
    }


def catchments(
    lab: Lab, announcing: set[str] | None = None, failures: Failures = NO_FAILURES
) -> dict[str, str | None]:
    """Predicted site for every client and resolver (None: the service is unreachable). Where
    equal-cost IGP paths lead to different sites (see `ambiguous`) the first by name."""
    out: dict[str, str | None] = {}
    for name, sites in forwarding(lab, announcing, failures).items():
        reached = sorted(s for s in sites if s is not None)
        out[name] = reached[0] if reached else None
    return out
