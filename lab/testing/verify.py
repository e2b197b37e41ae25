"""`lab verify TOPO`: the check a user runs after changing a topology or a policy.

It brings the lab up; checks that the measured catchment is the predicted one; then for every
site withdraws it, and once for each upstream session of each site cuts that link, and each
time compares every client's measured catchment (IPv4 and IPv6) with the model's prediction
with that fault applied; undoes it and waits for the baseline. The result has a list `checks`
(each with `ok`, what was done, predicted and measured). Nothing is left behind.

A check the model cannot call is marked `undecided` (with why) and kept out of the verdict:
where equal-cost IGP paths end at different sites (`ambiguous`), or where a router whose
daemon compares MED pairwise (BIRD, lab.model.policy) holds a MED cycle
(`med_order_dependent`): there the daemon's choice depends on the order routes arrived in.

`generated(seed, dir, routers)` writes a seeded random multi-router internet
(lab.model.generate) as a topology file: `lab verify --generate 0..9` checks those.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

from lab.daemons import driver_of
from lab.faults.base import FaultEvent
from lab.model.generate import Shape, generate, to_yaml
from lab.model.topology import Lab
from lab.predict.bgp import ambiguous, med_order_dependent
from lab.predict.changes import Change, LinkDown, Withdrawn, apply
from lab.scenarios.bounds import MARGIN
from lab.testing.lab import AnycastLab, CatchmentMismatch, Sites

SETTLE_TIMEOUT = 20.0  # no timer is involved (withdraw, link down): propagation, generously
Progress = Callable[[str], None]


@dataclass
class Check:
    name: str  # e.g. "withdraw ams"
    action: str  # what was done, in words
    predicted: Sites
    measured: Sites  # IPv4
    measured6: Sites
    ok: bool
    seconds: float | None  # until the measured catchment matched (None: it did not)
    error: str | None = None
    undecided: str | None = None  # why the model cannot call this one (kept out of the verdict)


@dataclass
class VerifyReport:
    topology: str
    lab: str
    runtime: str
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(c.ok or c.undecided for c in self.checks)

    @property
    def mismatches(self) -> list[Check]:
        return [c for c in self.checks if not c.ok and not c.undecided]

    def to_json(self) -> dict[str, object]:
        return {
            "topology": self.topology,
            "lab": self.lab,
            "runtime": self.runtime,
            "ok": self.ok,
            "seconds": round(self.seconds, 1),
            "checks": [asdict(c) for c in self.checks],
        }


def undecided(model: Lab, changes: list[Change]) -> str | None:
    """Why the model cannot call the catchment with these changes (None: it can)."""
    a = apply(model, changes)
    split = {
        c: s for c, s in ambiguous(a.lab, a.announcing, a.failures).items() if model.nodes[c].kind == "client"
    }
    if split:
        return f"equal-cost IGP paths to different sites: {split}"
    cycles = {
        r: sites
        for r, sites in med_order_dependent(a.lab, a.announcing, a.failures).items()
        if not driver_of(model.nodes[r]).deterministic_med
    }
    if cycles:
        return (
            f"a MED cycle at {', '.join(sorted(cycles))} (pairwise MED: the arrival order decides): {cycles}"
        )
    return None


def _check(
    lab: AnycastLab,
    name: str,
    action: str,
    predicted: Sites,
    fault: Callable[[], FaultEvent] | None,
    baseline: Sites,
    why_undecided: str | None = None,
) -> Check:
    ev = fault() if fault is not None else None
    try:
        try:
            secs: float | None = lab.wait_catchment(predicted, timeout=SETTLE_TIMEOUT)
            error = None
        except CatchmentMismatch as exc:
            secs, error = None, str(exc)
        m = lab.measure()
        measured = {c: p.site for c, p in m.clients.items()}
        measured6 = {c: p.site6 for c, p in m.clients.items()}
    finally:
        if ev is not None:
            ev.undo()
    if ev is not None:  # back where we started before the next check
        lab.wait_catchment(baseline, timeout=SETTLE_TIMEOUT + MARGIN)
    ok = error is None and measured == predicted and measured6 == predicted
    return Check(
        name,
        action,
        predicted,
        measured,
        measured6,
        ok,
        round(secs, 3) if secs is not None else None,
        error,
        why_undecided if not ok else None,
    )


def verify(lab: AnycastLab, topology: str, progress: Progress | None = None) -> VerifyReport:
    say = progress or (lambda _m: None)
    t0 = time.monotonic()
    rep = VerifyReport(topology, lab.name, lab.handle.runtime.kind)
    model = lab.handle.lab
    baseline = lab.predict()
    say("baseline: measured catchment == predicted")
    rep.checks.append(
        _check(
            lab, "baseline", "nothing: the lab as it came up", baseline, None, baseline, undecided(model, [])
        )
    )
    for site in model.of_kind("site"):
        s = site.name
        for up in sorted({x.peer for x in site.sessions if not x.in_site}) if site.servers else []:
            # a multi-server site's router: its upstream links (withdrawing is per server:
            # `lab scenario run server-failure`)
            say(f"cut {s}-{up}")
            rep.checks.append(
                _check(
                    lab, f"cut {s}-{up}", f"link {s}-{up} down", lab.predict(links_down=[(s, up)]),
                    partial(lab.faults.link_down, s, up), baseline, undecided(model, [LinkDown(s, up)]),
                )
            )  # fmt: skip
        if site.servers:
            continue
        say(f"withdraw {s}")
        gone: list[Change] = [Withdrawn(frozenset({s}))]
        rep.checks.append(
            _check(
                lab,
                f"withdraw {s}",
                f"{s}'s agent stopped (it withdraws)",
                lab.predict(without=[s]),
                partial(lab.faults.withdraw, s),
                baseline,
                undecided(model, gone),
            )
        )
        for up in sorted({x.peer for x in site.sessions}):
            say(f"cut {s}-{up}")
            cut: list[Change] = [LinkDown(s, up)]
            rep.checks.append(
                _check(
                    lab,
                    f"cut {s}-{up}",
                    f"link {s}-{up} down",
                    lab.predict(links_down=[(s, up)]),
                    partial(lab.faults.link_down, s, up),
                    baseline,
                    undecided(model, cut),
                )
            )
    rep.seconds = time.monotonic() - t0
    return rep


def generated(seed: int, out: Path, routers: int | None = None) -> Path:
    """A seeded random internet (lab.model.generate; `routers`: Shape.sized) as a topology file
    in `out`; the same seed and size always give the same file."""
    shape = Shape.sized(routers) if routers else Shape()
    name = f"gen{seed}" + (f"-{routers}r" if routers else "")
    path = out / f"{name}.yml"
    comment = f"generated by lab.model.generate: seed {seed}" + (
        f", Shape.sized({routers})" if routers else ""
    )
    path.write_text(to_yaml(generate(seed, shape), comment))
    return path
