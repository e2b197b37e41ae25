"""The answers to an exercise's questions, read off the live lab at the moment they are given
(a question about the lab as it is before the change stays answered after the change).

- site_of CLIENT: the site its IPv4 queries reach now (dig +nsid);
- best_from ROUTER: the neighbour its best route for the service's IPv4 prefix comes from;
- decided_by ROUTER: the best-path step that puts that route before the runner-up:
  local-pref, as-path (length), or router-id (every earlier step equal: the tie-break by the
  lowest neighbour router id, after MED, which the lab's drivers do not read; none of the
  shipped topologies sets a MED where it would decide).
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.daemons import speaker
from lab.daemons.base import Route
from lab.errors import LabError
from lab.observe.catchment import measure
from lab.orchestrate.handle import LabHandle
from lab.workshop.spec import Question

STEPS = {  # accepted spellings -> the step
    "local-pref": "local-pref",
    "localpref": "local-pref",
    "local_pref": "local-pref",
    "lp": "local-pref",
    "local-preference": "local-pref",
    "as-path": "as-path",
    "aspath": "as-path",
    "as_path": "as-path",
    "path": "as-path",
    "as-path-length": "as-path",
    "path-length": "as-path",
    "shorter-path": "as-path",
    "router-id": "router-id",
    "routerid": "router-id",
    "router_id": "router-id",
    "rid": "router-id",
    "tie-break": "router-id",
    "tiebreak": "router-id",
    "lowest-router-id": "router-id",
    "med": "med",
    "only-route": "only-route",
}


@dataclass(frozen=True)
class Verdict:
    key: str
    given: str
    truth: str
    ok: bool

    def to_json(self) -> dict[str, object]:
        return {"key": self.key, "given": self.given, "truth": self.truth, "ok": self.ok}


def normal(q: Question, value: str) -> str:
    v = value.strip().lower().replace(" ", "-")
    return STEPS.get(v, v) if q.truth == "decided_by" else v


def _lp(r: Route) -> int:
    return r.local_pref if r.local_pref is not None else 100


def decided_by(routes: list[Route]) -> str:
    best = next((r for r in routes if r.best), None)
    others = [r for r in routes if not r.best]
    if best is None:
        raise LabError("no best route: nothing decided")
    if not others:
        return "only-route"
    runner = max(others, key=lambda r: (_lp(r), -len(r.as_path)))
    if _lp(best) != _lp(runner):
        return "local-pref"
    if len(best.as_path) != len(runner.as_path):
        return "as-path"
    return "router-id"


def truth(h: LabHandle, q: Question) -> str:
    lab = h.lab
    if q.of not in lab.nodes:
        raise LabError(f"question {q.key}: no node {q.of} in lab {h.name}")
    if q.truth == "site_of":
        return str(measure(lab, h.runtime)[q.of].site)
    prefix = str(lab.service.prefix4)
    sp = speaker(lab.nodes[q.of], h.dir / q.of)
    if q.truth == "best_from":
        return str(sp.best(prefix).best_peer)
    return decided_by(sp.routes(prefix))


def judge(h: LabHandle, q: Question, given: str) -> Verdict:
    t = truth(h, q)
    return Verdict(q.key, given, t, normal(q, given) == normal(q, t))
