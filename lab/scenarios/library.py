"""The scenarios, on the workshop topology (and its BFD variant).

Bounds come from the timers in force, read from the model and the agent's defaults, plus a
documented margin for BGP propagation on a shared 2-core host (MARGIN):

- agent detection (dnsnode killed): the agent checks every `interval` s and withdraws after
  `fall` failures: (fall - 1) x interval .. fall x interval + timeout (SPEAKERS.md measures 2.3-3.1 s);
- hold timer (a crashed speaker sends no NOTIFICATION): the peer's hold timer was last reset by
  the keepalive before the crash, so it expires hold - keepalive .. hold s after the crash;
- BFD: detection = multiplier x negotiated interval;
- link down, prepend, communities, drain, agent withdraw: no timer, only propagation.
"""

from __future__ import annotations

from typing import Any

from dnsnode.agent.config import CheckConfig
from lab import faults, faults_hijack, faults_policy
from lab.catchment import catchments
from lab.faults import FaultEvent
from lab.scenarios.runner import Ctx, Scenario

WORKSHOP = "topologies/workshop.yml"
WORKSHOP_BFD = "tests/data/topologies/workshop-bfd.yml"
WORKSHOP_HIJACK = "tests/data/topologies/workshop-hijack.yml"
WORKSHOP_HIJACK_ROV = "tests/data/topologies/workshop-hijack-rov.yml"
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


def hijack(ctx: Ctx) -> list[FaultEvent]:
    """The rogue (customer of ta1) announces 198.51.100.0/26 + 2001:db8:53::/49."""
    return [faults_hijack.hijack(ctx.h)]


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
        ),
        Scenario(
            "hijack-rov",
            "the same hijack with RFC 6811 ROV on tb1 (BIRD, static ROAs): tb1 drops it, bob keeps sin",
            WORKSHOP_HIJACK_ROV, hijack, fixed(alice="rogue", bob="sin", carol="rogue"), (0.0, MARGIN),
            "no timer: one UPDATE through rogue -> ta1 -> home1/dual1 (2 hops); margin",
        ),
    ]
}  # fmt: skip


def get(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(f"no scenario {name!r}; `lab scenario list` shows: {', '.join(SCENARIOS)}") from None
