"""Measurement over probe records, fault events, routing changes and agent logs, all on
CLOCK_MONOTONIC. Pure functions: unit-tested without a lab (tests/unit/test_measure.py).

Words as in DESIGN.md: per client, the *outage window* runs from the first unanswered probe
after the fault to the first answered one after it; *convergence* runs from the fault until
every client is answered again and its site no longer changes; *routing-stable* is the last
change of any router's best path.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, Protocol


class Rec(Protocol):
    @property
    def mono(self) -> float: ...
    @property
    def site(self) -> str | None: ...
    @property
    def lost(self) -> bool: ...


def state(r: Rec) -> str | None:
    """What the user saw: the site that answered, or None for no answer."""
    return None if r.lost else (r.site or "?")


def catchment(records: Sequence[Rec], start: float, end: float) -> str | None:
    """The site that answered most of the records sent in [start, end) (None: none answered)."""
    sites = Counter(r.site for r in records if start <= r.mono < end and not r.lost and r.site)
    return sites.most_common(1)[0][0] if sites else None


@dataclass
class ClientResult:
    client: str
    site_before: str | None
    site_after: str | None
    lost: int  # unanswered queries sent after the fault
    sent: int  # queries sent after the fault
    outage_s: float  # first unanswered probe -> first answered one after it (0: none lost)
    outage_start: float | None  # seconds after the fault
    flips: int  # changes of answering site after the fault
    converged_s: float  # fault -> start of the final stable run (answered, at its last site)
    sites_seen: list[str] = field(default_factory=list)


def client_result(client: str, records: Sequence[Rec], fault: float, before: float = 1.0) -> ClientResult:
    """Records of one client and one kind (direct or resolver), sorted by send time."""
    pre = [r for r in records if r.mono < fault]
    post = [r for r in records if r.mono >= fault]
    site_before = catchment(pre, fault - before, fault)
    lost = [r for r in post if r.lost]
    outage_s = 0.0
    outage_start = None
    if lost:
        first = lost[0].mono
        back = next((r.mono for r in post if r.mono > first and not r.lost), None)
        outage_s = (back if back is not None else post[-1].mono) - first
        outage_start = first - fault
    answered = [r for r in post if not r.lost]
    # changes of the answering site, counted from the site before the fault
    chain = ([site_before] if site_before else []) + [r.site for r in answered]
    flips = sum(1 for a, b in pairwise(chain) if a != b)
    # the final stable run: the longest suffix where every record shows the same state
    converged = fault
    if post:
        final = state(post[-1])
        k = len(post) - 1
        while k > 0 and state(post[k - 1]) == final:
            k -= 1
        if k > 0 or (pre and state(pre[-1]) != final):
            converged = post[k].mono
    seen = list(dict.fromkeys(r.site or "?" for r in answered))
    return ClientResult(
        client,
        site_before,
        state(post[-1]) if post else site_before,
        len(lost),
        len(post),
        round(outage_s, 3),
        round(outage_start, 3) if outage_start is not None else None,
        flips,
        round(converged - fault, 3),
        seen,
    )


@dataclass
class Convergence:
    total_s: float  # fault -> every client answered again at its final site (direct queries)
    detection_s: float | None  # fault -> the agent's first state change (None: no agent involved)
    routing_first_s: float | None  # fault -> first change of any router's best path
    routing_stable_s: float | None  # fault -> last change of any router's best path
    propagation_s: float | None  # detection (or fault) -> routing-stable
    resolver_s: float | None  # fault -> every client answered again through its resolver
    resolver_extra_s: float | None  # resolver_s - total_s: what resolver retries add (or save)


def agent_events(path: Path, since: float, until: float | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if d.get("mono", 0) >= since and (until is None or d["mono"] <= until):
            out.append(d)
    return out


def detection(events: Iterable[dict[str, Any]]) -> float | None:
    """The first agent state change (e.g. announced -> withdrawn) among the events."""
    for d in events:
        if d.get("event") == "state" and d.get("from") != d.get("to"):
            return float(d["mono"])
    return None


def convergence(
    fault: float,
    direct: dict[str, ClientResult],
    resolver: dict[str, ClientResult],
    route_changes: Sequence[float],
    detected: float | None,
) -> Convergence:
    total = max((c.converged_s for c in direct.values()), default=0.0)
    res = max((c.converged_s for c in resolver.values()), default=None) if resolver else None
    after = [t for t in route_changes if t >= fault]
    first = min(after) - fault if after else None
    stable = max(after) - fault if after else None
    det = detected - fault if detected is not None else None
    prop = (stable - (det or 0.0)) if stable is not None else None
    r3 = lambda x: round(x, 3) if x is not None else None  # noqa: E731
    return Convergence(
        round(total, 3),
        r3(det),
        r3(first),
        r3(stable),
        r3(prop),
        r3(res),
        r3(res - total) if res is not None else None,
    )


def shift(before: dict[str, str | None], after: dict[str, str | None]) -> dict[str, list[str | None]]:
    """Clients whose site changed: client -> [from, to]."""
    return {
        c: [before.get(c), after.get(c)]
        for c in sorted(set(before) | set(after))
        if before.get(c) != after.get(c)
    }


@dataclass
class Loss:
    """Queries sent in a window and how many of them went unanswered."""

    sent: int
    lost: int

    @property
    def fraction(self) -> float:
        return self.lost / self.sent if self.sent else 0.0


def loss_in(records: Iterable[Rec], start: float, end: float) -> Loss:
    """Lost of sent among the records sent in [start, end) (by send time)."""
    window = [r for r in records if start <= r.mono < end]
    return Loss(len(window), sum(1 for r in window if r.lost))


def roundtrip_loss(link_loss: float) -> float:
    """Probability that a query is lost when a link drops `link_loss` (0..1) of what arrives
    at each end: the query crosses one lossy ingress and its answer the other."""
    return 1.0 - (1.0 - link_loss) ** 2


def binomial_range(n: int, p: float, z: float = 5.0) -> tuple[int, int]:
    """Counts of n Bernoulli(p) trials outside [lo, hi] have probability ~ below z sigma
    (normal approximation; z = 5: about 6e-7), clipped to [0, n]."""
    mean, sd = n * p, math.sqrt(n * p * (1.0 - p))
    return max(0, math.floor(mean - z * sd)), min(n, math.ceil(mean + z * sd))


def to_json(obj: Any) -> Any:
    return asdict(obj)
