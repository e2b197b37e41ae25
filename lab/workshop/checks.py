"""An exercise's check against the live lab: each item holds or says what is still wrong.

The catchment is measured once per check (dig +nsid from every client and resolver, IPv4 and
IPv6: `lab catchment`), routes are read from the daemons through their drivers, lost queries
from the exercise's own probes (started by `lab workshop start`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from lab.daemons import speaker
from lab.daemons.base import DaemonError, DaemonUnreachable, Route
from lab.faults.hijacks import hijack_prefixes
from lab.observe.catchment import Probe, measure
from lab.observe.probes import ProbeSet
from lab.observe.steered import answers, handed
from lab.orchestrate.handle import LabHandle
from lab.predict.changes import Withdrawn as WithdrawnChange
from lab.predict.changes import catchments
from lab.workshop.spec import (
    Announced,
    CatchmentCheck,
    CatchmentWithout,
    Check,
    EdgeCheck,
    Established,
    Lost,
    RouteCheck,
    Stopped,
    Withdrawn,
)
from lab.workshop.state import WorkshopState


@dataclass(frozen=True)
class Result:
    ok: bool
    text: str

    def to_json(self) -> dict[str, object]:
        return {"ok": self.ok, "text": self.text}

    def line(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.text}"


@dataclass
class Looker:
    """The live lab, read lazily and once per check."""

    h: LabHandle
    state: WorkshopState
    _routes: dict[tuple[str, str], list[Route] | str] = field(default_factory=dict)

    @cached_property
    def measured(self) -> dict[str, Probe]:
        return measure(self.h.lab, self.h.runtime)

    @cached_property
    def model(self) -> dict[str, str | None]:
        return catchments(self.h.lab)

    def prefix(self, name: str) -> str:
        svc = self.h.lab.service
        if name.startswith("hijack"):
            p4, p6 = hijack_prefixes(self.h)
            return str(p4 if name.endswith("4") else p6)
        return str(svc.prefix4 if name.endswith("4") else svc.prefix6)

    def routes(self, node: str, prefix: str) -> list[Route] | str:
        """The routes, or why they could not be read."""
        key = (node, prefix)
        if key not in self._routes:
            n = self.h.lab.nodes[node]
            try:
                self._routes[key] = speaker(n, self.h.dir / node).routes(prefix)
            except (DaemonUnreachable, DaemonError, OSError) as exc:
                self._routes[key] = f"{node}'s BGP daemon does not answer ({exc})"
        return self._routes[key]


def _path(r: Route) -> str:
    return " ".join(map(str, r.as_path)) or "(local)"


def catchment(lk: Looker, c: CatchmentCheck) -> list[Result]:
    out = []
    for node, want in c.want.items():
        goal = lk.model.get(node) if want == "model" else want
        p = lk.measured.get(node)
        if p is None:
            out.append(Result(False, f"{node}: no such client or resolver in lab {lk.h.name}"))
            continue
        why = " (where the model puts it)" if want == "model" else ""
        if p.site == goal and p.site6 == goal:
            out.append(Result(True, f"{node} reaches {goal} over IPv4 and IPv6{why}"))
        else:
            out.append(
                Result(
                    False,
                    f"{node} reaches {p.site or 'nothing'} (v4) and {p.site6 or 'nothing'} "
                    f"(v6); the goal is {goal}{why}",
                )
            )
    return out


def catchment_without(lk: Looker, c: CatchmentWithout) -> list[Result]:
    want = catchments(lk.h.lab, [WithdrawnChange(frozenset(c.sites))])
    clients = {n.name for n in lk.h.lab.of_kind("client")}
    return catchment(lk, CatchmentCheck({k: str(v) for k, v in want.items() if k in clients}))


def route(lk: Looker, c: RouteCheck) -> Result:
    prefix = lk.prefix(c.prefix)
    got = lk.routes(c.at, prefix)
    if isinstance(got, str):
        return Result(False, got)
    if c.peer is None:
        r = next((x for x in got if x.best), None)
        what = f"{c.at}'s best route for {prefix}"
    else:
        r = next((x for x in got if x.peer == c.peer), None)
        what = f"{c.at}'s route from {c.peer} for {prefix}"
    if r is None:
        if not c.present:
            return Result(True, f"{c.at} holds no route{' from ' + c.peer if c.peer else ''} for {prefix}")
        return Result(False, f"{c.at} holds no route{' from ' + c.peer if c.peer else ''} for {prefix}")
    desc = f"{what}: path {_path(r)}, local-pref {r.local_pref}{' (best)' if r.best else ''}"
    if not c.present:
        return Result(False, f"{desc}: it should not be there")
    wrong = []
    if c.best is not None and r.best != c.best:
        wrong.append("it should be the best" if c.best else "it should not be the best")
    if c.path_len is not None and len(r.as_path) != c.path_len:
        wrong.append(f"its AS path should be {c.path_len} long")
    if c.local_pref is not None and r.local_pref != c.local_pref:
        wrong.append(f"its local-pref should be {c.local_pref}")
    if c.community is not None and c.community not in r.communities:
        wrong.append(f"it should carry {c.community}")
    return Result(not wrong, desc + (": " + "; ".join(wrong) if wrong else ""))


def established(lk: Looker, c: Established) -> Result:
    n = lk.h.lab.nodes[c.node]
    try:
        sessions = speaker(n, lk.h.dir / c.node).sessions()
    except (DaemonUnreachable, DaemonError, OSError) as exc:
        return Result(False, f"{c.node}'s BGP daemon does not answer ({exc})")
    down = sorted({f"{s.peer} ({s.afi} {s.state})" for s in sessions if not s.up})
    want = 2 * len(n.sessions)
    if down or len(sessions) < want:
        return Result(False, f"{c.node}: sessions down: {', '.join(down) or f'{len(sessions)}/{want} seen'}")
    return Result(True, f"every BGP session of {c.node} is Established")


def _heard_by(lk: Looker, site: str) -> list[str]:
    """The upstreams that hold the site's route for both service prefixes."""
    ups = sorted({s.peer for s in lk.h.lab.nodes[site].sessions})
    out = []
    for u in ups:
        fams = [lk.routes(u, lk.prefix(p)) for p in ("service4", "service6")]
        if all(not isinstance(rs, str) and any(r.peer == site for r in rs) for rs in fams):
            out.append(u)
    return out


def announced(lk: Looker, c: Announced) -> list[Result]:
    sites = c.sites or tuple(n.name for n in lk.h.lab.of_kind("site"))
    out = []
    for s in sites:
        by = _heard_by(lk, s)
        out.append(
            Result(
                bool(by),
                f"{s} is announced (heard by {', '.join(by)})"
                if by
                else f"{s} is not announced: none of its upstreams hears it",
            )
        )
    return out


def withdrawn(lk: Looker, c: Withdrawn) -> Result:
    ups = sorted({s.peer for s in lk.h.lab.nodes[c.site].sessions})
    heard = []
    for u in ups:
        for p in ("service4", "service6"):
            rs = lk.routes(u, lk.prefix(p))
            if isinstance(rs, str) or any(r.peer == c.site for r in rs):
                heard.append(f"{u} ({p})")
    if heard:
        return Result(False, f"{c.site} is still announced: heard by {', '.join(heard)}")
    return Result(True, f"{c.site} is withdrawn: none of {', '.join(ups)} hears it")


def stopped(lk: Looker, c: Stopped) -> Result:
    if lk.h.runtime.running(c.node, c.process):
        return Result(False, f"{c.node}'s {c.process} still runs")
    return Result(True, f"{c.node}'s {c.process} is stopped")


def lost(lk: Looker, c: Lost) -> Result:
    st = lk.state
    if st.probe_run is None:
        return Result(False, "no probes ran for this exercise: `lab workshop start N` starts them")
    ps = ProbeSet(
        lk.h, st.probe_run, 0.0, {n: lk.h.dir / n / f"probe-{st.probe_run}.jsonl" for n in st.probe_nodes}
    )
    recs = ps.records()
    count = {
        n: sum(1 for r in rs if r.lost and r.kind in ("direct", "v6") and r.mono >= st.started)
        for n, rs in recs.items()
    }
    total = sum(count.values())
    ended = [n for n in st.probe_nodes if not lk.h.runtime.running(n, ps.proc_name)]
    who = ", ".join(f"{n} {k}" for n, k in sorted(count.items()) if k)
    if ended:
        return Result(
            False,
            f"the exercise's probes ended at {', '.join(ended)} (they run 15 min at most): "
            f"`lab workshop start N` again; until then they saw {total} lost",
        )
    if total > c.max:
        return Result(
            False, f"{total} queries lost since the exercise started ({who}); at most {c.max} may be"
        )
    return Result(True, f"{total} queries lost since the exercise started (at most {c.max})")


def edges(lk: Looker, c: EdgeCheck) -> list[Result]:
    out = []
    for client, want in c.want.items():
        got = handed(lk.h, client)
        if got != want:
            out.append(
                Result(False, f"{client} is handed {', '.join(got) or 'nothing'}, not {', '.join(want)}")
            )
            continue
        dead = [e for e in got if not answers(lk.h, client, e)]
        if dead:
            out.append(
                Result(False, f"{client} is handed {', '.join(got)}, but {', '.join(dead)} does not answer")
            )
        else:
            out.append(Result(True, f"{client} is handed {', '.join(got)}, and it answers"))
    return out


def evaluate(h: LabHandle, checks: list[Check], state: WorkshopState) -> list[Result]:
    lk = Looker(h, state)
    out: list[Result] = []
    for c in checks:
        if isinstance(c, CatchmentCheck):
            out += catchment(lk, c)
        elif isinstance(c, CatchmentWithout):
            out += catchment_without(lk, c)
        elif isinstance(c, RouteCheck):
            out.append(route(lk, c))
        elif isinstance(c, Established):
            out.append(established(lk, c))
        elif isinstance(c, Announced):
            out += announced(lk, c)
        elif isinstance(c, Withdrawn):
            out.append(withdrawn(lk, c))
        elif isinstance(c, Stopped):
            out.append(stopped(lk, c))
        elif isinstance(c, EdgeCheck):
            out += edges(lk, c)
        else:
            out.append(lost(lk, c))
    return out
