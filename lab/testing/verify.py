"""`lab verify TOPO`: the check a user runs after changing a topology or a policy.

It brings the lab up; checks that the measured catchment is the predicted one; then for every
site withdraws it, and once for each upstream session of each site cuts that link, and each
time compares every client's measured catchment (IPv4 and IPv6) with the model's prediction
with that fault applied; undoes it and waits for the baseline. The result has a list `checks`
(each with `ok`, what was done, predicted and measured). Nothing is left behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial

from lab.faults.base import FaultEvent
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


@dataclass
class VerifyReport:
    topology: str
    lab: str
    runtime: str
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def mismatches(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def to_json(self) -> dict[str, object]:
        return {
            "topology": self.topology,
            "lab": self.lab,
            "runtime": self.runtime,
            "ok": self.ok,
            "seconds": round(self.seconds, 1),
            "checks": [asdict(c) for c in self.checks],
        }


def _check(
    lab: AnycastLab,
    name: str,
    action: str,
    predicted: Sites,
    fault: Callable[[], FaultEvent] | None,
    baseline: Sites,
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
        name, action, predicted, measured, measured6, ok, round(secs, 3) if secs is not None else None, error
    )


def verify(lab: AnycastLab, topology: str, progress: Progress | None = None) -> VerifyReport:
    say = progress or (lambda _m: None)
    t0 = time.monotonic()
    rep = VerifyReport(topology, lab.name, lab.handle.runtime.kind)
    baseline = lab.predict()
    say("baseline: measured catchment == predicted")
    rep.checks.append(_check(lab, "baseline", "nothing: the lab as it came up", baseline, None, baseline))
    model = lab.handle.lab
    for site in model.of_kind("site"):
        s = site.name
        say(f"withdraw {s}")
        rep.checks.append(
            _check(
                lab,
                f"withdraw {s}",
                f"{s}'s agent stopped (it withdraws)",
                lab.predict(without=[s]),
                partial(lab.faults.withdraw, s),
                baseline,
            )
        )
        for up in sorted({x.peer for x in site.sessions}):
            say(f"cut {s}-{up}")
            rep.checks.append(
                _check(
                    lab,
                    f"cut {s}-{up}",
                    f"link {s}-{up} down",
                    lab.predict(links_down=[(s, up)]),
                    partial(lab.faults.link_down, s, up),
                    baseline,
                )
            )
    rep.seconds = time.monotonic() - t0
    return rep
