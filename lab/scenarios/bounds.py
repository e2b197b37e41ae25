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
- propagation: no timer (link down, withdraw, drain, policy, hijack): 0 .. margin.

MARGIN covers propagation through 2-3 speakers and probe resolution on a loaded 2-core host.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dnsnode.agent.config import CheckConfig, build, load_yaml
from lab.daemons import driver_of
from lab.daemons.base import LabAccess
from lab.model.topology import Lab

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


def propagation(margin: float = MARGIN) -> Bound:
    return Bound(
        0.0, margin, f"no timer: one UPDATE's propagation (advertisement interval 0); {margin:g} s margin"
    )
