"""Convergence bounds from the timers in force, read from the running lab:

- agent: the site's agent checks every `interval` s and withdraws after `fall` failures (its
  agent.yml as rendered for this lab, dnsnode's defaults where it says nothing):
  (fall - 1) x interval .. fall x interval + timeout, + margin;
- hold: a crashed speaker sends no NOTIFICATION: the peer's hold timer was last reset by the
  keepalive before the crash, so it expires hold - keepalive .. hold s after it (-0.5 s for
  the probes' resolution), + margin; with BFD on the node's sessions instead: detection =
  the crashed end's multiplier x the slower of the two ends' intervals (each daemon driver's
  BFD timers), + margin;
- window: loss held for W s: the last lost query lies within 0.5 s of its end .. W + margin;
- igp: an internal link's cost changed at run time: the ends re-originate their router LSAs
  (at most every MinLSInterval: FRR 100 ms as rendered, BIRD 5 s fixed, so a BIRD end that
  originated just before waits that long), the AS floods them, every router's SPF runs within
  its daemon's reaction (FRR: throttle delay + max hold; BIRD: one tick): 0 .. the slower end's
  LSA interval + the slowest SPF reaction in the AS, + margin;
- ospf-dead: a router of a multi-router AS crashed: its OSPF neighbours declare it down when
  its dead interval runs out, counted from its last hello: dead - hello .. dead (-0.5 s for
  the probes), then SPF; routes via its loopback become unresolvable in every iBGP speaker at
  once (next-hop tracking, BIRD's recursive next hops), a reflector's new best is one UPDATE:
  dead - hello - 0.5 .. dead + the slowest SPF reaction in the AS, + margin;
- rtr: a ROA change: the RTR cache re-reads its file every REFRESH_S s and sends Serial Notify
  at once, the routers fetch the difference and re-run their import policy (FRR at once, BIRD
  1 s later: each driver's rpki_reload_s): 0 .. REFRESH_S + the slowest validator's reload, +
  margin (without the notify a router would wait its poll, RTR_REFRESH_S);
- geodns: an edge died: the sites' health checks leave it out after `fall` failed checks (the
  first within an interval, each at most interval + timeout apart): at most fall x (interval +
  timeout); the resolvers keep the old answer up to its TTL; the probe sees it at its next
  round: + steer interval + timeout, + margin; 0 .. that (a client handed live edges too may
  stop picking the dead one sooner); the TTL is the one in force (a steering-ttl fault);
- steered load (ttl-tradeoff): the steered name's queries/s at the sites, one per resolver
  cache per TTL (Unbound's whole-second clock: T - 1 .. T + 1 + a round apart);
- propagation: no timer (link down, withdraw, drain, policy, hijack, an iBGP session shut
  down: its Cease drops it at once): 0 .. margin.

MARGIN covers propagation through 2-3 speakers and probe resolution on a loaded 2-core host.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from dnsnode.agent.config import CheckConfig, build, load_yaml
from lab.daemons import driver_of, igp_driver_of, rtr
from lab.daemons.base import OSPF, LabAccess
from lab.model.topology import Lab, Node

MARGIN = 2.0
BFD_MARGIN = 0.6  # BFD detects within a second: its propagation margin is smaller


@dataclass(frozen=True)
class Bound:
    lo: float
    hi: float
    why: str

    def holds(self, seconds: float) -> bool:
        return self.lo <= seconds <= self.hi


def agent_check(h: LabAccess | None, site: str) -> CheckConfig:
    """The site's agent check settings as its agent runs them."""
    path = h.dir / site / "agent.yml" if h is not None else None
    if path is not None and Path(path).exists():
        return build(load_yaml(Path(path))).check
    return CheckConfig()


def agent(h: LabAccess | None, site: str, margin: float = MARGIN) -> Bound:
    c = agent_check(h, site)
    return Bound(
        (c.fall - 1) * c.interval,
        c.fall * c.interval + c.timeout + margin,
        f"agent at {site}: (fall-1) x interval .. fall x interval + timeout "
        f"({c.fall} x {c.interval:g} s, timeout {c.timeout:g} s), + {margin:g} s margin",
    )


def server(h: LabAccess | None, node: str, margin: float = MARGIN) -> Bound:
    """One server of a multi-server site fails: the site keeps announcing, so only the flows the
    site router hashed to that server wait, until its agent withdraws (fall x interval +
    timeout) and the router drops it from the ECMP set; every other client sees nothing (0)."""
    c = agent_check(h, node)
    return Bound(
        0.0,
        c.fall * c.interval + c.timeout + margin,
        f"server {node}'s agent: 0 (flows on other servers) .. fall x interval + timeout "
        f"({c.fall} x {c.interval:g} s, timeout {c.timeout:g} s), + {margin:g} s margin",
    )


def lost_in_flight(bound_hi: float, probe_interval: float) -> int:
    """At most the probes one client sends while its flow still goes to a dead server: one per
    probe interval over the bound, plus the one in the air when the route changes."""
    return math.ceil(bound_hi / probe_interval) + 1


def bfd_detection(lab: Lab, node: str) -> float | None:
    """Seconds until the node's BFD peers declare it down (None: no BFD on its sessions)."""
    n = lab.nodes[node]
    worst = None
    for s in n.sessions:
        if not s.knobs.bfd:
            continue
        mine, theirs = driver_of(n).bfd, driver_of(lab.nodes[s.peer]).bfd
        t = mine.multiplier * max(mine.interval_ms, theirs.interval_ms) / 1000
        worst = t if worst is None else max(worst, t)
    return worst


def hold(lab: Lab, node: str, margin: float = MARGIN) -> Bound:
    n = lab.nodes[node]
    bfd = bfd_detection(lab, node)
    if bfd is not None:
        m = min(margin, BFD_MARGIN)
        return Bound(
            0.0,
            round(bfd + m, 3),
            f"BFD on {node}'s sessions: detection {bfd:g} s (multiplier x the "
            f"slower end's interval), + {m:g} s propagation",
        )
    ka = min(s.knobs.keepalive for s in n.sessions)
    ho = max(s.knobs.hold for s in n.sessions)
    return Bound(
        ho - ka - 0.5,
        ho + margin,
        f"hold timer: hold - keepalive .. hold ({ho - ka}..{ho} s), -0.5 s / + {margin:g} s margin",
    )


def window(seconds: float, margin: float = MARGIN) -> Bound:
    return Bound(
        seconds - 0.5,
        seconds + margin,
        f"the loss window ({seconds:g} s): the last lost query lies within 0.5 s of its end "
        f".. + {margin:g} s margin",
    )


def rtr_change(lab: Lab, margin: float = MARGIN) -> Bound:
    validators = [n for n in lab.nodes.values() if n.kind == "router" and n.rtr_cache is not None]
    reload = max((driver_of(n).rpki_reload_s for n in validators), default=0.0)
    return Bound(
        0.0,
        rtr.REFRESH_S + reload + margin,
        f"ROA change: the RTR cache's file refresh ({rtr.REFRESH_S} s), Serial Notify, the slowest "
        f"validator's re-validation ({reload:g} s); + {margin:g} s margin",
    )


def propagation(margin: float = MARGIN) -> Bound:
    return Bound(
        0.0, margin, f"no timer: one UPDATE's propagation (advertisement interval 0); {margin:g} s margin"
    )


def geodns(lab: Lab, probe_round: float, margin: float = MARGIN, ttl: int | None = None) -> Bound:
    """`ttl`: the TTL in force (lab.faults.steering.ttl_in_force), default the model's."""
    st = lab.steering
    assert st is not None, f"lab {lab.name} steers no name"
    ttl = st.ttl if ttl is None else ttl
    hi = st.detection_s + ttl + probe_round + st.check_timeout + margin
    # no floor: a client handed live edges beside the dead one may stop picking it before the
    # check removes it (its resolver's order), so only the ceiling is a law
    return Bound(
        0.0,
        round(hi, 3),
        f"health check ({st.fall} x ({st.check_interval:g} + {st.check_timeout:g}) s) + the TTL in the "
        f"resolvers' caches ({ttl} s) + a probe round ({probe_round:g} + {st.check_timeout:g} s), "
        f"+ {margin:g} s margin",
    )


def _igp_routers(lab: Lab, asn: int | None) -> list[Node]:
    return [n for n in lab.nodes.values() if n.kind == "router" and n.asn == asn and n.runs_igp]


def igp(lab: Lab, a: str, b: str, margin: float = MARGIN) -> Bound:
    ends = [lab.nodes[a], lab.nodes[b]]
    lsa = max(igp_driver_of(n).spf.lsa_interval_ms for n in ends) / 1000
    routers = _igp_routers(lab, ends[0].asn)
    spf = max(igp_driver_of(n).spf.reaction_s for n in routers)
    return Bound(
        0.0,
        round(lsa + spf + margin, 3),
        f"IGP cost {a}-{b}: the slower end's LSA interval ({lsa:g} s) + the slowest SPF reaction in "
        f"AS{ends[0].asn} ({spf:g} s), + {margin:g} s margin",
    )


def ospf_dead(lab: Lab, node: str, margin: float = MARGIN) -> Bound:
    n = lab.nodes[node]
    routers = _igp_routers(lab, n.asn)
    spf = max((igp_driver_of(r).spf.reaction_s for r in routers), default=0.0)
    return Bound(
        OSPF.dead_s - OSPF.hello_s - 0.5,
        round(OSPF.dead_s + spf + margin, 3),
        f"OSPF dead interval at {node}'s neighbours: dead - hello .. dead "
        f"({OSPF.dead_s - OSPF.hello_s}..{OSPF.dead_s} s), + the slowest SPF reaction in AS{n.asn} "
        f"({spf:g} s), -0.5 s / + {margin:g} s margin",
    )


def load_window(ttl: int) -> float:
    """How long ttl-tradeoff counts the steered name's queries at one TTL: three TTLs (each
    cache refreshes about three times, so one refresh more or less is a third, not all), at
    least LOAD_WINDOW_MIN_S."""
    return max(LOAD_WINDOW_MIN_S, 3.0 * ttl)


LOAD_WINDOW_MIN_S = 10.0


def caches(lab: Lab) -> tuple[int, int]:
    """The resolver caches the probes' steered-name rounds keep filled, fewest .. most: one
    per resolver a client asks through, up to one per client LAN where it sends ECS (it caches
    per returned scope, which may cover several LANs)."""
    by_addr = {str(r.ifaces[0].addr4.ip): r for r in lab.of_kind("resolver")}
    keys = set()
    for c in lab.of_kind("client"):
        if c.resolver4 is None:
            continue
        res = by_addr.get(str(c.resolver4))
        keys.add((str(c.resolver4), str(c.ifaces[0].addr4.network) if res is not None and res.ecs else ""))
    return len({r for r, _ in keys}), len(keys)


def steered_load(lab: Lab, ttl: int, window: float, probe_round: float) -> Bound:
    """Queries per second for the steered name at all sites together, while the probes ask it
    every `probe_round` s through their resolvers: each cache asks again once its entry has
    expired, at the next round. Unbound keeps time in whole seconds, so an entry lives T - 1 ..
    T + 1 s; the next round comes within a round interval plus its timeout. Per cache, over
    `window` s: floor(window / (T + 1 + round + timeout)) .. floor(window / (T - 1)) + 1 queries."""
    st = lab.steering
    assert st is not None, f"lab {lab.name} steers no name"
    few, most = caches(lab)
    longest = ttl + 1 + probe_round + st.check_timeout
    shortest = max(ttl - 1.0, probe_round)
    lo = few * math.floor(window / longest) / window
    hi = most * (math.floor(window / shortest) + 1) / window
    n = f"{few}" if few == most else f"{few}..{most}"
    return Bound(
        round(lo, 3),
        round(hi, 3),
        f"{n} resolver caches each asking once per TTL ({ttl} s; Unbound's whole seconds: "
        f"{shortest:g}..{longest:g} s apart with the round), over {window:.1f} s",
    )
