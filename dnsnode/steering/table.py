"""A geoip file compiled against one zone version: what each steered name answers, per client.

Semantics follow Knot's mod-geoip (3.2), so the same file gives the same answers:
- subnet mode: the view of the longest net holding the client address (the ECS address when
  the query has one, else the source); weighted mode: a view drawn with probability
  weight / sum of weights.
- the view answers the types it has; it has a CNAME: that, followed inside the zone; a type it
  lacks: the zone's own answer, where an NXDOMAIN becomes NODATA (the file makes the name
  exist). No view (no net matches): the zone's own answer, unchanged.
- ANY: as Knot 3.2 (which has no ANY in views): a CNAME view gives its CNAME and the target's
  ANY, any other view the zone's ANY. Records get the file's TTL (Knot's mod-geoip `ttl`).

Where we differ from Knot, on purpose:
- ECS SCOPE: the coarsest correct prefix (dnsnode.steering.scopes), not the matched net's
  length (and not 0 for the clients no net matches); scope "knot" imitates Knot's.
- ECS with a private or unroutable address, or SOURCE 0: answered for the source address
  (RFC 7871 10); Knot uses the ECS address whatever it is.
- health checks (dnsnode.steering.health): unhealthy addresses are left out of A/AAAA sets,
  all of a set unhealthy: all of it is answered (as PowerDNS' ifportup); in weighted mode a
  view whose every address is down is not drawn while another is up.

Each SteeredName keeps its compiled state in one attribute, replaced whole when health changes,
so a query reads one consistent state without a lock.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final

import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from dnsnode.ops.config import GeoIpConfig, HealthCheckConfig
from dnsnode.serving.ecs import IPV4, IPV6, SPECIAL, ClientSubnet, from_peer
from dnsnode.serving.hooks import Peer
from dnsnode.serving.index import ZoneIndex, wire_key
from dnsnode.serving.plan import Plan, find, plan_any_through, plan_exact, plan_rrsets
from dnsnode.serving.steer import Steer
from dnsnode.steering.geofile import GeoFile, GeoName, GeoView
from dnsnode.steering.scopes import NO_VIEW, Layout, elementary, layout

A = dns.rdatatype.A
AAAA = dns.rdatatype.AAAA
ANY = dns.rdatatype.ANY
CNAME = dns.rdatatype.CNAME
OTHER: Final = 0  # class of query types no view has
ANY_CLASS: Final = 1
WIDTHS: Final = {IPV4: 32, IPV6: 128}
_CHASE_MEMO = 4096

# What a view does for a class of query types.
PLAN: Final = 0  # a plan built at compile time
CHASE: Final = 1  # the view's CNAME, followed for the actual qtype (built on first use)
PROMOTE: Final = 2  # the zone's answer, NXDOMAIN made NODATA
ZONE: Final = 3  # the zone's answer


def target_key(check: HealthCheckConfig, address: str) -> str:
    """The identity of one checked target: the same in the checker, the tables and workers."""
    host = f"[{address}]" if ":" in address else address
    if check.kind == "http":
        return f"http://{host}:{check.port}{check.path}"
    if check.kind == "dns":
        return f"dns://{host}:{check.port}/{check.qname or ''}/{check.qtype}"
    return f"tcp://{host}:{check.port}"


@dataclass(frozen=True)
class Decision:
    kind: int
    plan: Plan | None = None
    cname: dns.rrset.RRset | None = None


@dataclass
class State:
    """Everything a query needs, for one health snapshot."""

    views: list[GeoView]
    decisions: list[list[Decision]]  # [class][view + 1] (index 0: no view matched)
    ids: list[list[int]]  # [class][view + 1]: answer identity, equal ids = the same answer
    elementary: dict[int, tuple[list[int], list[int]]]  # family -> (starts, views)
    layouts: list[dict[int, Layout]]  # [class][family]
    prefix: list[int]  # [view]: the net's length (Knot's scope)
    cumulative: list[int]  # weighted: running sums of the weights drawn from
    total: int
    nodata: Plan | None  # NODATA for PROMOTE
    chased: dict[tuple[int, int, bool], Plan] = field(default_factory=dict)  # (view, qtype, tcp) -> plan
    all_down: list[GeoView] = field(default_factory=list)  # views answered whole though all down

    def view_at(self, family: int, address: int) -> int:
        starts, views = self.elementary[family]
        return views[bisect.bisect_right(starts, address) - 1]

    def draw(self) -> int:
        return bisect.bisect_right(self.cumulative, random.randrange(self.total))


class SteeredName:
    """One name of a geoip file, compiled against one zone version (serving.steer.Steered)."""

    def __init__(
        self,
        geo: GeoName,
        zone: ZoneIndex,
        config: GeoIpConfig,
        check: HealthCheckConfig | None,
        down: frozenset[str],
    ) -> None:
        self.geo = geo
        self.zone = zone
        self.config = config
        self.check = check
        self.wildcard = bool(geo.owner.labels) and geo.owner.labels[0] == b"*"
        self.types: list[int] = []  # the classes after OTHER and ANY, in file order
        for view in geo.views:
            for rdtype in view.rdatas:
                if rdtype not in self.types:
                    self.types.append(rdtype)
        self.class_of: dict[int, int] = {ANY: ANY_CLASS}
        for i, rdtype in enumerate(self.types, start=2):
            self.class_of[rdtype] = i
        self.knot_scope = config.scope == "knot"
        self.weighted = config.mode == "weighted"
        self.state = self.compile(down)

    # ---- compiling ----------------------------------------------------------------------------

    def targets(self) -> Iterator[str]:
        """Every checked target key of this name."""
        if self.check is None:
            return
        for view in self.geo.views:
            for rdtype in (A, AAAA):
                for rd in view.rdatas.get(rdtype, []):
                    yield target_key(self.check, rd.address)  # type: ignore[attr-defined]

    def compile(self, down: frozenset[str]) -> State:
        geo, zone, ttl = self.geo, self.zone, self.config.ttl
        owner = geo.owner
        views = list(geo.views)
        all_down: list[GeoView] = []
        view_up: list[bool] = []
        rrsets_of: list[dict[int, dns.rrset.RRset]] = []
        for view in views:
            rrsets: dict[int, dns.rrset.RRset] = {}
            checked = up = 0
            for rdtype, rdatas in view.rdatas.items():
                kept = rdatas
                if self.check is not None and rdtype in (A, AAAA):
                    healthy = [rd for rd in rdatas if target_key(self.check, rd.address) not in down]  # type: ignore[attr-defined]
                    checked += len(rdatas)
                    up += len(healthy)
                    kept = healthy or rdatas  # all down: answer all (PowerDNS' ifportup)
                rrsets[rdtype] = _rrset(owner, rdtype, ttl, kept)
            if checked and not up:
                all_down.append(view)
            view_up.append(not checked or up > 0)
            rrsets_of.append(rrsets)

        # The zone's own answers, for the identities: the same answer merges into one scope.
        node, exact = find(zone, owner)
        zone_known = exact and not self.wildcard and zone.servable
        zone_nx = zone.servable and not exact and node.wildcard is None and node.cut is None
        nodata = Plan(
            dns.rcode.NOERROR,
            aa=True,
            authority=[zone.neg_soa] if zone.neg_soa is not None else [],
            origin=zone.origin,
            exact=None if self.wildcard else owner,
        )
        classes = 2 + len(self.types)
        decisions: list[list[Decision]] = []
        ids: list[list[int]] = []
        for c in range(classes):
            qtype = self.types[c - 2] if c >= 2 else (ANY if c == ANY_CLASS else None)
            registry: dict[object, int] = {}
            row: list[Decision] = []
            row_ids: list[int] = []

            def ident(key: object, registry: dict[object, int] = registry) -> int:
                return registry.setdefault(key, len(registry))

            # no view: the zone's answer
            if qtype is not None and qtype != ANY and zone_known:
                zkey: object = _content(plan_exact(node, qtype, False))
            else:
                zkey = ("zone", qtype)
            row.append(Decision(ZONE))
            row_ids.append(ident(zkey))
            for view, rrsets in zip(views, rrsets_of, strict=True):
                decision, key = self._decide(view, rrsets, qtype, zone_nx, zkey, nodata)
                row.append(decision)
                row_ids.append(ident(key))
            decisions.append(row)
            ids.append(row_ids)

        prefix = [v.net.prefixlen if v.net is not None else 0 for v in views]
        elem: dict[int, tuple[list[int], list[int]]] = {}
        layouts: list[dict[int, Layout]] = [{} for _ in range(classes)]
        for family, width in WIDTHS.items():
            nets = [
                (int(v.net.network_address), int(v.net.network_address) + v.net.num_addresses, i)
                for i, v in enumerate(views)
                if v.net is not None and (v.net.version == 4) == (family == IPV4)
            ]
            starts, at = elementary(nets, width)
            elem[family] = (starts, at)
            special = SPECIAL.ranges(family)
            for c in range(classes):
                answers = [ids[c][v + 1] for v in at]  # NO_VIEW (-1) -> index 0
                layouts[c][family] = layout(width, starts, answers, special)

        weights = [v.weight for v in views]
        if self.weighted and any(w and up for w, up in zip(weights, view_up, strict=True)):
            weights = [w if up else 0 for w, up in zip(weights, view_up, strict=True)]
        cumulative: list[int] = []
        total = 0
        for w in weights:
            total += w
            cumulative.append(total)
        return State(
            views,
            decisions,
            ids,
            elem,
            layouts,
            prefix,
            cumulative,
            total,
            nodata,
            all_down=all_down,
        )

    def _decide(
        self,
        view: GeoView,
        rrsets: dict[int, dns.rrset.RRset],
        qtype: int | None,
        zone_nx: bool,
        zone_key: object,
        nodata: Plan,
    ) -> tuple[Decision, object]:
        zone, owner, wildcard = self.zone, self.geo.owner, self.wildcard
        cname = rrsets.get(CNAME)
        if qtype == ANY:
            # Knot 3.2 has no ANY in views: a CNAME view's CNAME and its target's ANY; the
            # zone's answer otherwise, as for any type a view lacks
            if cname is not None:
                return Decision(CHASE, cname=cname), ("cname", cname[0].to_text())
        elif qtype is not None and qtype in rrsets:
            plan = plan_rrsets(zone, owner, {qtype: rrsets[qtype]}, qtype, wildcard)
            return Decision(PLAN, plan), _content(plan)
        elif cname is not None:
            if qtype is not None:
                plan = plan_rrsets(zone, owner, {CNAME: cname}, qtype, wildcard)
                return Decision(PLAN, plan), _content(plan)
            return Decision(CHASE, cname=cname), ("cname", cname[0].to_text())
        if self.wildcard:
            return Decision(PROMOTE), ("promoted", qtype)
        if zone_nx:
            return Decision(PROMOTE), _content(nodata)
        return Decision(ZONE), zone_key

    # ---- answering ----------------------------------------------------------------------------

    def steer(self, qtype: int, tcp: bool, subnet: ClientSubnet | None, peer: Peer) -> Steer:
        st = self.state
        c = self.class_of.get(qtype, OTHER)
        if self.weighted:
            return self._answer(st, c, st.draw(), qtype, tcp, 0, False)
        if subnet is None or subnet.source == 0:
            family, address = from_peer(peer[0])
            view = st.view_at(family, address)
            return self._answer(st, c, view, qtype, tcp, 0, False)  # no ECS, or "do not use my address"
        family, address = subnet.family, subnet.address
        layouts = st.layouts[c]

        def source_answer() -> int:
            src_family, src_address = from_peer(peer[0])
            return layouts[src_family].answer_at(src_address)

        # RFC 7871 10: for private or unroutable space the source address decides instead (and
        # the answer cannot be cached by the ECS option alone)
        special = SPECIAL.find(family, address) is not None
        view = st.view_at(*from_peer(peer[0])) if special else st.view_at(family, address)
        if self.knot_scope:
            kind = st.decisions[c][view + 1].kind
            scope = st.prefix[view] if view != NO_VIEW and kind in (PLAN, CHASE) else 0
        else:
            scope = layouts[family].scope(address, source_answer)
        return self._answer(st, c, view, qtype, tcp, scope, not special)

    def _answer(
        self, st: State, c: int, view: int, qtype: int, tcp: bool, scope: int, cacheable: bool
    ) -> Steer:
        decision = st.decisions[c][view + 1]
        kind = decision.kind
        if kind == PLAN:
            return decision.plan, None, scope, cacheable
        if kind == ZONE:
            return None, None, scope, cacheable
        if kind == PROMOTE:
            return None, st.nodata, scope, cacheable
        key = (view, qtype, tcp and qtype == ANY)
        plan = st.chased.get(key)
        if plan is None:
            cname = decision.cname
            assert cname is not None
            if len(st.chased) >= _CHASE_MEMO:
                st.chased.clear()
            if qtype == ANY:
                plan = plan_any_through(self.zone, self.geo.owner, cname, tcp, self.wildcard)
            else:
                plan = plan_rrsets(self.zone, self.geo.owner, {CNAME: cname}, qtype, self.wildcard)
            st.chased[key] = plan
        return plan, None, scope, cacheable


class SteeringTable:
    """The steered names of one zone version."""

    def __init__(self, geo: GeoFile, zone: ZoneIndex, config: GeoIpConfig, down: frozenset[str]) -> None:
        self.geo = geo
        self.zone = zone
        self.config = config
        self.names: dict[bytes, SteeredName] = {}
        self.outside: list[dns.name.Name] = []  # names of the file in no zone of ours: ignored
        checks = {dns.name.from_text(k): v for k, v in config.checks.items()}
        for geo_name in geo.names:
            if not geo_name.owner.is_subdomain(zone.origin):
                self.outside.append(geo_name.owner)
                continue
            check = checks.get(geo_name.owner)
            self.names[wire_key(geo_name.owner)] = SteeredName(geo_name, zone, config, check, down)

    def entries(self) -> Mapping[bytes, SteeredName]:
        return self.names

    def set_health(self, down: frozenset[str], log: Callable[[SteeredName, list[GeoView]], None]) -> None:
        """Recompile the names with checks for this health snapshot (one swap per name)."""
        for name in self.names.values():
            if name.check is None:
                continue
            state = name.compile(down)
            name.state = state
            if state.all_down:
                log(name, state.all_down)


def _rrset(owner: dns.name.Name, rdtype: int, ttl: int, rdatas: list[dns.rdata.Rdata]) -> dns.rrset.RRset:
    rrset = dns.rrset.RRset(owner, dns.rdataclass.IN, dns.rdatatype.RdataType(rdtype))
    for rd in rdatas:
        rrset.add(rd, ttl)
    return rrset


def _content(plan: Plan) -> object:
    """What a client sees of an answer: equal contents are the same answer for the SCOPE."""
    return (
        plan.rcode,
        plan.aa,
        tuple((r.name, r.rdtype, r.ttl, tuple(sorted(rd.to_text() for rd in r))) for r in plan.answer),
    )
