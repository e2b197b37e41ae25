"""The workshop's verbs on a lab: start an exercise, check it, hint, solve it, reset the lab.
What `lab workshop ...` and the dashboard's exercise panel call.

start N: the lab (brought up from the exercise's topology when none fits), put back to its
model, the exercise's setup applied (exercise 5: the hijack), its probes started where its
check counts lost queries; the workshop state remembers it. check N: the questions answered so
far (judged against the live lab when answered) and every check item, now. solve N: the
reference answers and steps, then polls until the check holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lab.errors import LabError
from lab.faults import catalog
from lab.observe import probes
from lab.observe.catchment import measure
from lab.observe.steered import wait_handed
from lab.orchestrate import lifecycle
from lab.orchestrate.handle import LabHandle, running
from lab.poll import PollTimeout, wait_until
from lab.predict.changes import catchments
from lab.scenarios.files import EdgeWaitStep, FaultStep, KeepStep, Step, WaitStep, changes_of, read_steps
from lab.workshop import checks, needs, spec, truths
from lab.workshop.checks import Result
from lab.workshop.reset import Restored, restore, stop_probes
from lab.workshop.spec import Exercise
from lab.workshop.state import WorkshopState

Say = Callable[[str], None]
SOLVE_TIMEOUT = 30.0  # after the reference steps: until the check holds


def _quiet(msg: str) -> None:
    pass


@dataclass
class Outcome:
    exercise: int
    lab: str
    items: list[Result] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return bool(self.items) and all(i.ok for i in self.items)

    def to_json(self) -> dict[str, object]:
        return {
            "exercise": self.exercise,
            "lab": self.lab,
            "met": self.met,
            "items": [i.to_json() for i in self.items],
        }


def listing(name: str | None = None) -> list[dict[str, object]]:
    """Every exercise with whether it can run (on lab `name`, or on its own topology)."""
    h = lifecycle.open_lab(name) if name else None
    out = []
    for ex in spec.load_all():
        a = needs.check(ex, h.lab if h else None)
        out.append(
            {
                "number": ex.number,
                "title": ex.title,
                "topology": ex.topology,
                "available": a.ok,
                "why_not": a.why(),
                "file": ex.path,
            }
        )
    return out


# -- which lab -----------------------------------------------------------------------------------
def _fits(ex: Exercise, h: LabHandle) -> needs.Availability:
    return needs.check(ex, h.lab)


def lab_for(ex: Exercise, name: str | None, say: Say = _quiet) -> tuple[LabHandle, bool]:
    """(the lab, brought up now). A named lab that runs must fit; one that does not run is
    brought up from the exercise's topology. Without a name: the one running lab that fits."""
    a = needs.check(ex)
    if not a.ok:
        raise LabError(f"exercise {ex.number} ({ex.title}) is not available: {a.why()}")
    if name and name in running():
        h = lifecycle.open_lab(name)
        fit = _fits(ex, h)
        if not fit.ok:
            raise LabError(
                f"lab {name} does not fit exercise {ex.number}: {fit.why()}; "
                f"`lab workshop start {ex.number} --name OTHER` brings up {ex.topology} beside it"
            )
        return h, False
    if not name:
        labs = running()
        fitting = [n for n in labs if _fits(ex, lifecycle.open_lab(n)).ok]
        if len(fitting) == 1:
            return lifecycle.open_lab(fitting[0]), False
        if len(fitting) > 1:
            raise LabError(f"labs {', '.join(fitting)} all fit exercise {ex.number}: name one with --name")
        if labs:
            raise LabError(
                f"no running lab fits exercise {ex.number} (running: {', '.join(labs)}): "
                f"`lab workshop start {ex.number} --name NEW` brings up {ex.topology}"
            )
    path = needs.topology_path(ex)
    assert path is not None  # needs.check said it is shipped
    say(f"bringing up {ex.topology}{f' as {name}' if name else ''} for exercise {ex.number}")
    res = lifecycle.up(path, name, progress=say)
    say(f"lab {res.handle.name} converged in {res.seconds_to_converged:.1f} s")
    return res.handle, True


def _open(name: str | None) -> LabHandle:
    return lifecycle.open_lab(name)


# -- steps ---------------------------------------------------------------------------------------
def _steps(ex: Exercise, raw: object, where: str) -> list[Step]:
    steps = read_steps(ex.source, raw, (where,) if where == "setup" else ("solution", "steps"))
    if any(isinstance(s, KeepStep) for s in steps):
        raise LabError(f"{ex.path}: `keep:` is a scenario's step; an exercise waits with wait_catchment")
    return steps


def wait_sites(h: LabHandle, want: Mapping[str, str | None], timeout: float) -> float:
    """Until every named client is measured at its site over IPv4 and IPv6 (dig +nsid)."""

    def off() -> list[str]:
        m = measure(h.lab, h.runtime)
        return [
            f"{c} at {m[c].site}/{m[c].site6}, not {s}"
            for c, s in want.items()
            if m[c].site != s or m[c].site6 != s
        ]

    try:
        return wait_until(off, lambda left: not left, timeout=timeout, interval=0.3, what="catchment").elapsed
    except PollTimeout as exc:
        raise LabError(f"the catchment did not come: {exc.last}") from None


def run_steps(h: LabHandle, steps: list[Step], say: Say) -> None:
    for i, s in enumerate(steps):
        if isinstance(s, FaultStep):
            catalog.check_nodes(h, s.kind, s.args)
            ev = s.kind.apply(h, s.args)
            say(f"  {ev.name}")
        elif isinstance(s, WaitStep):
            pred = catchments(h.lab, changes_of(steps[:i]))
            want: dict[str, str | None] = (
                dict(s.expect) if s.expect else {c.name: pred[c.name] for c in h.lab.of_kind("client")}
            )
            took = wait_sites(h, want, s.timeout)
            say(f"  catchment {want} after {took:.1f} s")
        elif isinstance(s, EdgeWaitStep):
            try:
                took = wait_handed(h, s.expect, s.timeout)
            except PollTimeout as exc:
                raise LabError(f"the steered answers did not come: {exc.last}") from None
            say(f"  steered answers {s.expect} after {took:.1f} s")


# -- the verbs -----------------------------------------------------------------------------------
@dataclass
class Started:
    exercise: Exercise
    lab: str
    brought_up: bool
    restored: Restored | None


def start(number: int, name: str | None = None, say: Say = _quiet) -> Started:
    ex = spec.get(number)
    h, fresh = lab_for(ex, name, say)
    st = WorkshopState.load(h.name)
    restored = None
    if not fresh:
        restored = restore(h, st)
        for a in restored.actions:
            say(f"  reset: {a}")
    setup = _steps(ex, ex.setup, "setup")
    if setup:
        say(f"exercise {number} setup:")
        run_steps(h, setup, say)
    st.exercise, st.started = number, time.monotonic()
    st.answers.pop(str(number), None)
    if ex.probes:
        ps = probes.start(h, duration=probes_duration())
        st.probe_run, st.probe_nodes = ps.run_id, list(ps.files)
        probes.wait_answering(ps, st.started, count=3)
    st.save(h.name)
    return Started(ex, h.name, fresh, restored)


def probes_duration() -> float:
    return 900.0  # the probe's own limit: an exercise that takes longer is started again


def judge_answers(h: LabHandle, ex: Exercise, st: WorkshopState, given: Mapping[str, str]) -> list[str]:
    """Judge and keep answers (KEY=VALUE); unknown keys are refused with the questions."""
    qs = {q.key: q for q in ex.questions}
    unknown = sorted(set(given) - set(qs))
    if unknown:
        keys = ", ".join(qs) or "none: this exercise asks nothing"
        raise LabError(f"exercise {ex.number} asks no {', '.join(unknown)}; its questions: {keys}")
    kept = st.answers.setdefault(str(ex.number), {})
    for key, value in given.items():
        kept[key] = truths.judge(h, qs[key], value).to_json()
    return list(given)


def outcome(h: LabHandle, ex: Exercise, st: WorkshopState) -> Outcome:
    out = Outcome(ex.number, h.name)
    if st.exercise != ex.number:
        out.items.append(
            Result(
                False,
                f"exercise {ex.number} is not started on lab {h.name} "
                f"(`lab workshop start {ex.number} --name {h.name}`)",
            )
        )
    kept = st.answers.get(str(ex.number), {})
    for q in ex.questions:
        v = kept.get(q.key)
        if v is None:
            out.items.append(
                Result(False, f"{q.key}: {q.ask} (answer: lab workshop check {ex.number} {q.key}=...)")
            )
        elif v["ok"]:
            out.items.append(Result(True, f"{q.key} = {v['given']}"))
        else:
            out.items.append(Result(False, f"{q.key} = {v['given']}: not what the lab shows; {q.ask}"))
    out.items += checks.evaluate(h, ex.checks, st)
    return out


def check(number: int, name: str | None = None, answers: Mapping[str, str] | None = None) -> Outcome:
    ex = spec.get(number)
    h = _open(name)
    st = WorkshopState.load(h.name)
    if answers:
        judge_answers(h, ex, st, answers)
        st.save(h.name)
    return outcome(h, ex, st)


def solve(number: int, name: str | None = None, say: Say = _quiet) -> Outcome:
    ex = spec.get(number)
    labs = running()
    lab = name if name in labs else (labs[0] if not name and len(labs) == 1 else None)
    if lab is None or WorkshopState.load(lab).exercise != number:
        lab = start(number, lab or name, say).lab  # not started yet: start it (bringing a lab up if need be)
    h = _open(lab)
    st = WorkshopState.load(h.name)
    if ex.answers:
        judge_answers(h, ex, st, ex.answers)
        st.save(h.name)
        say("answers: " + " ".join(f"{k}={v}" for k, v in ex.answers.items()))
    steps = _steps(ex, ex.steps, "solution")
    if steps:
        say("solution:")
        run_steps(h, steps, say)
    try:
        res = wait_until(
            lambda: outcome(h, ex, st),
            lambda o: o.met,
            timeout=SOLVE_TIMEOUT,
            interval=0.5,
            what=f"exercise {number}'s check",
        )
        return res.value
    except PollTimeout:
        return outcome(h, ex, st)


def hint(number: int, name: str | None = None, level: int | None = None) -> tuple[list[str], int]:
    """(the hints to show, how many there are). Without a level: one more than shown before
    (remembered per lab when one runs)."""
    ex = spec.get(number)
    lab = name or (running()[0] if len(running()) == 1 else None)
    st = WorkshopState.load(lab) if lab else WorkshopState()
    shown = st.hints.get(str(number), 0)
    n = level if level is not None else min(shown + 1, len(ex.hints))
    if lab and level is None:
        st.hints[str(number)] = n
        st.save(lab)
    return ex.hints[:n], len(ex.hints)


def reset(name: str | None = None, say: Say = _quiet) -> Restored:
    h = _open(name)
    st = WorkshopState.load(h.name)
    res = restore(h, st)
    st.exercise, st.started = None, 0.0
    st.save(h.name)
    for a in res.actions:
        say(f"reset: {a}")
    return res


# -- for the dashboard -------------------------------------------------------------------------
def active_json(h: LabHandle) -> dict[str, object]:
    st = WorkshopState.load(h.name)
    if st.exercise is None:
        return {"active": None}
    ex = spec.get(st.exercise)
    return {"active": {"number": ex.number, "title": ex.title, "goal": ex.goal, "started": st.started}}


def check_active(h: LabHandle) -> dict[str, object]:
    st = WorkshopState.load(h.name)
    if st.exercise is None:
        raise LabError(f"no exercise runs on lab {h.name}: lab workshop start N --name {h.name}")
    return outcome(h, spec.get(st.exercise), st).to_json()


__all__ = ["Outcome", "check", "hint", "listing", "reset", "solve", "start", "stop_probes"]
