"""The scenarios, on the workshop topology (and its BFD variant).

Bounds come from the timers in force, read from the model and the agent's defaults, plus a
documented margin for BGP propagation on a shared 2-core host (MARGIN):

- agent detection (dnsnode killed): the agent checks every `interval` s and withdraws after
  `fall` failures: (fall - 1) x interval .. fall x interval + timeout (SPEAKERS.md measures 2.3-3.1 s);
- hold timer (a crashed speaker sends no NOTIFICATION): the peer's hold timer was last reset by
  the keepalive before the crash, so it expires hold - keepalive .. hold s after the crash;
- BFD: detection = multiplier x negotiated interval;
- link down, prepend, communities, drain, agent withdraw: no timer, only propagation;
- MED, local-pref, drain by prepend: no timer either (FRR: soft clear; BIRD: `configure`
  re-runs the filters), and the catchment they lead to is the model's (`predicted`);
- loss on a link: no routing change at all; users feel it for as long as the loss lasts.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from dnsnode.agent.config import CheckConfig
from lab import faults
from lab.faults import FaultEvent
from lab.faults import hijack as faults_hijack
from lab.faults import policy as faults_policy
from lab.model.topology import Lab
from lab.poll import wait_until
from lab.predict.bgp import catchments
from lab.scenarios.runner import Ctx, Scenario

# shipped topologies (lab/topologies/, package data), by name: lab.model.shipped.resolve
WORKSHOP = "workshop"
WORKSHOP_BFD = "workshop-bfd"
WORKSHOP_HIJACK = "workshop-hijack"
WORKSHOP_HIJACK_ROV = "workshop-hijack-rov"
MARGIN = 2.0  # seconds: propagation through 2-3 speakers and probe resolution on a loaded host
CHECK = CheckConfig()  # the agent's defaults: the rendered agent.yml does not override them


def _timers(h: Any, node: str, peer: str) -> tuple[int, int]:
    s = next(s for s in h.lab.nodes[node].sessions if s.peer == peer)
    return s.knobs.keepalive, s.knobs.hold


def without(*sites: str) -> Any:
    def expect(h: Any) -> dict[str, str]:
        allsites = {n.name for n in h.lab.of_kind("site")}
        pred = catchments(h.lab, announcing=allsites - set(sites))
        return {c.name: str(pred[c.name]) for c in h.lab.of_kind("client")}

    return expect


KnobChange = tuple[str, str | None, dict[str, Any]]  # node, peer (None: every session), knobs


def with_knobs(lab: Lab, changes: tuple[KnobChange, ...]) -> Lab:
    """A copy of the model with policy faults applied as faults_policy applies them."""
    nodes = dict(lab.nodes)
    for node, peer, ch in changes:
        n = nodes[node]
        sessions = [
            dataclasses.replace(s, knobs=faults_policy.knobs_after(s.knobs, ch))
            if peer is None or s.peer == peer else s
            for s in n.sessions
        ]  # fmt: skip
        nodes[node] = dataclasses.replace(n, sessions=sessions)
    return dataclasses.replace(lab, nodes=nodes)


def predicted(*changes: KnobChange) -> Any:
    """The catchment the model (lab.catchment) predicts with these knob changes: what `lab
    predict` would print for a topology file carrying them."""

    def expect(h: Any) -> dict[str, str]:
        pred = catchments(with_knobs(h.lab, changes))
        return {c.name: str(pred[c.name]) for c in h.lab.of_kind("client")}

    return expect


def fixed(**sites: str) -> Any:
    def expect(h: Any) -> dict[str, str]:
        return dict(sites)

    return expect


# -- inject steps ------------------------------------------------------------------------
def site_failure(ctx: Ctx) -> list[FaultEvent]:
    return [faults.stop_dns(ctx.h, "ams")]


def link_cut(ctx: Ctx) -> list[FaultEvent]:
    return [faults.link_down(ctx.h, "ta1", "ams")]


def prepend_sin(ctx: Ctx) -> list[FaultEvent]:
    return [faults_policy.prepend(ctx.h, "sin", 3)]


def drain_graceful(ctx: Ctx) -> list[FaultEvent]:
    """Maintenance done right: drain, wait until the probes show the traffic gone, withdraw,
    stop the service."""
    ev = [faults.drain(ctx.h, "ams")]
    ctx.wait_sites(without("ams")(ctx.h), timeout=10, stable=1.0)
    ev.append(faults.withdraw(ctx.h, "ams"))
    ev.append(faults.stop_dns(ctx.h, "ams"))
    return ev


def withdraw_hard(ctx: Ctx) -> list[FaultEvent]:
    """Maintenance done in a hurry: withdraw and stop the service at once."""
    return [faults.withdraw(ctx.h, "ams"), faults.stop_dns(ctx.h, "ams")]


def crash(ctx: Ctx) -> list[FaultEvent]:
    return [faults.kill_node(ctx.h, "ams")]


def partial(ctx: Ctx) -> list[FaultEvent]:
    """ams tags its announcement to ta1 with 0:64512: ta1 (and tb1: the community travels with
    the route) do not announce it to AS64512 (dual1). ta1's best is still ams, so it announces
    nothing to dual1; tb1's best is sin: carol moves to sin (not fra), alice stays at ams."""
    return [faults_policy.community(ctx.h, "ams", "ta1", ["0:64512"])]


def hijack_watch(h: Any) -> list[str]:
    return [str(p) for p in faults_hijack.hijack_prefixes(h)]


def hijack(ctx: Ctx) -> list[FaultEvent]:
    """The rogue (customer of ta1) announces 198.51.100.0/26 + 2001:db8:53::/49."""
    return [faults_hijack.hijack(ctx.h)]


# -- steering: local-pref, MED, drain by prepend; loss on a link --------------------------
LP_CHANGE: KnobChange = ("dual1", "tb1", {"local_pref": 300})
MED_CHANGE: KnobChange = ("ams", "ta1", {"med": 100})
# sin's path to tb1 as long as fra's (2 + 1 = 3 x AS64496): alone, router id keeps bob at sin
MED_BIRD_CHANGE: KnobChange = ("sin", "tb1", {"prepend": 2, "med": 100})
DRAIN_PREPEND = 3  # `lab fault drain SITE --method prepend` default count
DRAIN_SITES = ("ams", "fra")  # every site behind ta1
LOSS_LINK = ("ta1", "home1")  # alice's only way out: her queries cross it, bob's and carol's do not
LOSS_PCT = 30.0  # dropped at each end's ingress: a query is lost with 1 - 0.7^2 = 51 %
LOSS_WINDOW = 3.0  # seconds of loss: ~150 probes per family at 20 ms


def local_pref(ctx: Ctx) -> list[FaultEvent]:
    """dual1 (FRR) raises local-pref on routes from tb1 to 300 (provider default 50): its best
    path is now tb1's, sin, although ta1's was equally long and won on router id."""
    node, peer, ch = LP_CHANGE
    assert peer is not None
    return [faults_policy.local_pref(ctx.h, node, peer, ch["local_pref"])]


def med(ctx: Ctx) -> list[FaultEvent]:
    """ams (BIRD) sends MED 100 to ta1 (FRR), fra sends none (= 0, RFC 4271). Both routes come
    from AS64496 over different sessions, with equal local-pref and length: FRR compares MED
    between routes from the same neighbouring AS by default, so ta1 picks fra over the router-id
    winner ams. (tb1, BIRD, would too: BIRD compares MED only within one neighbour AS unless
    `med metric` is on; at tb1 sin's path is shorter than fra's, so MED never gets a say.)"""
    node, peer, ch = MED_CHANGE
    assert peer is not None
    return [faults_policy.med(ctx.h, node, peer, ch["med"])]


def med_bird(ctx: Ctx) -> list[FaultEvent]:
    """The same on tb1 (BIRD): sin makes its path to tb1 as long as fra's (two prepends) and
    sends MED 100. Equal local-pref and length, same neighbour AS: BIRD compares MED (its
    default, like FRR) and takes fra. The model says the prepends alone keep bob at sin."""
    node, peer, ch = MED_BIRD_CHANGE
    return [faults_policy.set_knobs(ctx.h, node, peer, **ch)]


def drain_prepend(ctx: Ctx) -> list[FaultEvent]:
    """`lab fault drain SITE --method prepend` on ams and fra (maintenance of everything behind
    ta1). dual1 compares two provider routes of equal local-pref, so the longer path loses:
    carol moves to sin. ta1 still prefers its customer routes (local-pref 200, however long) to
    the peer route from tb1 (100): alice cannot move, and keeps reaching the drained ams.
    A GRACEFUL_SHUTDOWN drain (local-pref 0 everywhere) would move her to sin too."""
    return [faults_policy.prepend(ctx.h, site, DRAIN_PREPEND) for site in DRAIN_SITES]


def probed_for(ctx: Ctx, client: str, since: float, seconds: float) -> float:
    """Until the client's probes have run `seconds` past `since` (its newest direct record,
    answered or lost, was sent that late). Returns the elapsed wait."""

    def newest() -> float:
        rs = ctx.probes.records().get(client, [])
        return max((r.mono for r in rs if r.kind == "direct"), default=0.0)

    return wait_until(newest, lambda t: t >= since + seconds, timeout=seconds + 10, interval=0.1,
                      what=f"{client} probed for {seconds} s").elapsed  # fmt: skip


def link_loss(ctx: Ctx) -> list[FaultEvent]:
    """LOSS_PCT % loss on ta1-home1 for LOSS_WINDOW s, then none. No route moves (BGP's TCP
    retransmits through it; keepalive 3 s, hold 9 s): alice loses queries, nobody else does."""
    a, b = LOSS_LINK
    on = faults.loss(ctx.h, a, b, LOSS_PCT)
    probed_for(ctx, "alice", on.done, LOSS_WINDOW)
    return [on, faults.loss(ctx.h, a, b, 0.0)]


# keepalive 3 / hold 9 on every workshop session (lab.model.Knobs defaults)
KA, HOLD = 3, 9

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario(
            "site-failure",
            "dnsnode at ams dies; the agent sees it and withdraws; alice and carol move to fra",
            WORKSHOP, site_failure, without("ams"),
            ((CHECK.fall - 1) * CHECK.interval, CHECK.fall * CHECK.interval + CHECK.timeout + MARGIN),
            "agent: (fall-1) x interval .. fall x interval + timeout, + margin",
            min_lost=1,
        ),
        Scenario(
            "link-cut",
            "the link ams-ta1 goes down; ta1 drops the session at once (interface down); alice, carol -> fra",
            WORKSHOP, link_cut, without("ams"), (0.0, MARGIN + 1.0),
            "no timer: FRR fast-external-failover resets the session on interface down; margin",
        ),
        Scenario(
            "prepend",
            "sin prepends AS64496 three times: its path at tb1 becomes longer than fra's; bob -> fra",
            WORKSHOP, prepend_sin, fixed(alice="ams", bob="fra", carol="ams"), (0.0, MARGIN),
            "no timer (advertisement interval 0, soft reconfiguration); margin", max_lost=0,
        ),
        Scenario(
            "drain-graceful",
            "ams drained (GRACEFUL_SHUTDOWN), withdrawn once the traffic left, then its DNS stopped",
            WORKSHOP, drain_graceful, without("ams"), (0.0, MARGIN),
            "no timer: the community reaches ta1 and local-pref 0 moves traffic; margin", max_lost=0,
        ),
        Scenario(
            "withdraw-hard",
            "ams withdrawn and its DNS stopped at once (no drain): queries in flight are lost",
            WORKSHOP, withdraw_hard, without("ams"), (0.0, MARGIN),
            "no timer: the agent withdraws on SIGTERM (0.15-0.28 s); margin",
        ),
        Scenario(
            "crash-hold",
            "ams loses power (bird, dnsnode, agent SIGKILLed): ta1 waits out its hold timer",
            WORKSHOP, crash, without("ams"), (HOLD - KA - 0.5, HOLD + MARGIN),
            f"hold timer: hold - keepalive .. hold ({HOLD - KA}..{HOLD} s), -0.5 s / + margin",
            min_lost=1,
        ),
        Scenario(
            "crash-bfd",
            "the same crash with BFD on ams-ta1: BFD notices within its detection time",
            WORKSHOP_BFD, crash, without("ams"), (0.0, 1.5),
            "BFD 3 x 300 ms (FRR bfdd default receive interval at ta1) = 0.9 s, + 0.6 s propagation",
            min_lost=1,
        ),
        Scenario(
            "partial-withdrawal",
            "ams tags its route to ta1 with 0:64512 (do not announce to AS64512): only carol moves, to sin",
            WORKSHOP, partial, fixed(alice="ams", bob="sin", carol="sin"), (0.0, MARGIN),
            "no timer (soft reconfiguration); margin", max_lost=0,
        ),
        Scenario(
            "hijack",
            "a rogue customer of ta1 announces a more-specific of the service; no ROV: everyone -> rogue",
            WORKSHOP_HIJACK, hijack, fixed(alice="rogue", bob="rogue", carol="rogue"), (0.0, MARGIN),
            "no timer: one UPDATE via rogue -> ta1 -> tb1 -> home2 (advertisement interval 0); margin",
            watch=hijack_watch,
        ),
        Scenario(
            "local-pref",
            "dual1 raises local-pref for routes from tb1 (300 > provider 50): carol -> sin; alice, bob stay",
            WORKSHOP, local_pref, predicted(LP_CHANGE), (0.0, MARGIN),
            "no timer: FRR soft clear in re-runs dual1's import map; one hop to carol; margin", max_lost=0,
        ),
        Scenario(
            "med",
            "ams sends MED 100 to ta1, fra none: same neighbour AS, ta1 (FRR) takes fra; alice, carol -> fra",
            WORKSHOP, med, predicted(MED_CHANGE), (0.0, MARGIN),
            "no timer: BIRD configure at ams, one UPDATE to ta1 (advertisement interval 0); margin",
            max_lost=0,
        ),
        Scenario(
            "med-bird",
            "sin: 2 prepends + MED 100 to tb1, a tie with fra's path broken by MED at tb1 (BIRD); bob -> fra",
            WORKSHOP, med_bird, predicted(MED_BIRD_CHANGE), (0.0, MARGIN),
            "no timer: FRR soft clear out at sin, one UPDATE to tb1; margin", max_lost=0,
        ),
        Scenario(
            "drain-prepend",
            "ams and fra drained by 3 prepends: carol -> sin; alice can't move (ta1: customer lp 200 > peer)",
            WORKSHOP, drain_prepend,
            predicted(*((s, None, {"prepend": DRAIN_PREPEND}) for s in DRAIN_SITES)), (0.0, MARGIN),
            "no timer: two BIRD configures, UPDATEs through ta1 to dual1 (interval 0); margin", max_lost=0,
        ),
        Scenario(
            "link-loss",
            f"{LOSS_PCT:g} % loss on ta1-home1 for {LOSS_WINDOW:g} s: alice loses ~51 % of queries, "
            "bob and carol none; no route moves",
            WORKSHOP, link_loss, predicted(), (LOSS_WINDOW - 0.5, LOSS_WINDOW + MARGIN),
            f"the loss window ({LOSS_WINDOW:g} s): alice's last lost query lies within 0.5 s of its end "
            "(P(25 answered in a row) = 0.49^25 ~ 2e-8) .. + iptables on 2 ends + margin",
            min_lost=1,
        ),
        Scenario(
            "hijack-rov",
            "the same hijack with RFC 6811 ROV on tb1 (BIRD, static ROAs): tb1 drops it, bob keeps sin",
            WORKSHOP_HIJACK_ROV, hijack, fixed(alice="rogue", bob="sin", carol="rogue"), (0.0, MARGIN),
            "no timer: one UPDATE through rogue -> ta1 -> home1/dual1 (2 hops); margin",
            watch=hijack_watch,
        ),
    ]
}  # fmt: skip


def get(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(f"no scenario {name!r}; `lab scenario list` shows: {', '.join(SCENARIOS)}") from None
