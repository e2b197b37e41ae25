"""Objectives declared beside a playbook and checked after the rehearsal (pure: unit-tested).

    playbooks/maintenance.yml
    playbooks/maintenance.objectives.yml:

        objectives:
          - name: no query lost while draining
            metric: lost          # lost | lost_direct | lost_v6 | lost_resolver | dropped |
            role: anycast_drain   #   moves | serial_skew_s | failed_tasks | duration_s
            max: 0                # and/or min: N
          - {name: rollout skew, metric: serial_skew_s, max: 5}

Scope of `lost`/`moves`/`outage_s`: the windows of the tasks of `role:` (or of tasks whose
name matches the glob `task:`), else the whole rehearsal (first task start to the end of the
settle time after the last task). `serial_skew_s` is the largest skew window the rollout role
measured. `lost` counts every query unanswered at the probe's timeout (1 s: the user's stub
gives up); `dropped` only those never answered at all (lab/observe/probe.py records late
answers): a drain that black-holes or loops shows in both, a slow machine only in `lost`.
A metric that could not be measured (no probes, no rollout) misses its objective.

`clients:` counts only some clients' probes (direct and through their resolver): a list of
names (`clients: [carol]`), or `behind` / `others`: the clients the router_maintenance role
measured as single-homed behind the router it maintained, or all the others
(lab/ansible/router_maint.py). `outage_s` is the longest outage window of one client: from its
first unanswered probe to the first answered one after it (the same query kind).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from lab.observe.probes import Record

METRICS = (
    "lost",
    "lost_direct",
    "lost_v6",
    "lost_resolver",
    "dropped",
    "moves",
    "outage_s",
    "serial_skew_s",
    "failed_tasks",
    "duration_s",
)
WINDOW_METRICS = ("lost", "lost_direct", "lost_v6", "lost_resolver", "dropped", "moves", "outage_s")
CLIENT_SETS = ("behind", "others")  # resolved from the router_maintenance role's measurement


class ObjectiveError(ValueError):
    pass


@dataclass(frozen=True)
class Objective:
    name: str
    metric: str
    max: float | None = None
    min: float | None = None
    role: str | None = None
    task: str | None = None
    clients: tuple[str, ...] | str | None = None  # names, or one of CLIENT_SETS


@dataclass(frozen=True)
class TaskWindow:
    name: str  # the task's name as Ansible prints it ("role : task")
    role: str | None
    start: float
    end: float
    status: str  # ok | changed | failed | skipped | ...
    # What users felt is attributed to a task until the next task starts, so nothing that happens
    # between two tasks (Ansible's own overhead) escapes per-task counts and objectives.
    until: float | None = None

    @property
    def window(self) -> tuple[float, float]:
        return (self.start, self.until if self.until is not None else self.end)


@dataclass
class Result:
    name: str
    metric: str
    value: float | None
    max: float | None
    min: float | None
    met: bool
    scope: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def objectives_path(playbook: Path) -> Path:
    return playbook.with_name(playbook.stem + ".objectives.yml")


def parse(data: Any, where: str) -> list[Objective]:
    if not isinstance(data, dict) or not isinstance(data.get("objectives"), list):
        raise ObjectiveError(
            f"{where}: expected a mapping with a list `objectives:` (fix: see lab/ansible/objectives.py)"
        )
    out = []
    for i, o in enumerate(data["objectives"], 1):
        at = f"{where}: objective {i}"
        if not isinstance(o, dict):
            raise ObjectiveError(f"{at}: expected a mapping with name, metric, max/min")
        unknown = set(o) - {"name", "metric", "max", "min", "role", "task", "clients"}
        if unknown:
            raise ObjectiveError(
                f"{at}: unknown keys {sorted(unknown)} (fix: name, metric, max, min, role, task, clients)"
            )
        metric = o.get("metric")
        if metric not in METRICS:
            raise ObjectiveError(f"{at}: metric {metric!r} unknown (fix: one of {', '.join(METRICS)})")
        if o.get("max") is None and o.get("min") is None:
            raise ObjectiveError(f"{at}: give max: and/or min: (e.g. max: 0)")
        clients = _clients(o.get("clients"), at)
        if clients is not None and metric not in WINDOW_METRICS:
            raise ObjectiveError(f"{at}: clients: applies to {', '.join(WINDOW_METRICS)} only")
        out.append(
            Objective(
                str(o.get("name") or metric),
                metric,
                o.get("max"),
                o.get("min"),
                o.get("role"),
                o.get("task"),
                clients,
            )
        )
    return out


def _clients(v: Any, at: str) -> tuple[str, ...] | str | None:
    if v is None or v in CLIENT_SETS:
        return v
    if isinstance(v, list) and v and all(isinstance(c, str) for c in v):
        return tuple(v)
    raise ObjectiveError(
        f"{at}: clients: {v!r}: expected a list of client names (clients: [carol]) "
        f"or one of {', '.join(CLIENT_SETS)}"
    )


def load(playbook: Path) -> list[Objective]:
    path = objectives_path(playbook)
    if not path.exists():
        return []
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ObjectiveError(f"{path}: not YAML: {exc}") from None
    return parse(data, str(path))


def scoped(tasks: Sequence[TaskWindow], o: Objective) -> list[TaskWindow]:
    if o.role:
        return [t for t in tasks if t.role == o.role]
    if o.task:
        return [t for t in tasks if fnmatch.fnmatchcase(t.name, o.task)]
    return list(tasks)


def client_set(o: Objective, measurements: Sequence[dict[str, Any]]) -> tuple[str, ...] | None:
    """The objective's clients by name; `behind`/`others` from the last router_drained
    measurement (None: the role measured none)."""
    if o.clients is None or isinstance(o.clients, tuple):
        return o.clients
    drained = [m for m in measurements if m.get("kind") == "router_drained" and m.get("behind")]
    if not drained:
        return None
    return tuple(drained[-1]["behind"]["clients" if o.clients == "behind" else "others"])


def outage_s(records: Mapping[str, Sequence[Record]], start: float, end: float) -> float:
    """Pure: the longest outage window of one client and query kind among the records sent in
    [start, end): first unanswered probe to the first answered one after it (or to `end`)."""
    longest = 0.0
    for recs in records.values():
        for kind in {r.kind for r in recs}:
            first_lost: float | None = None
            inside = sorted(
                (r for r in recs if r.kind == kind and start <= r.mono < end), key=lambda r: r.mono
            )
            for r in inside:
                if r.lost and first_lost is None:
                    first_lost = r.mono
                elif not r.lost and first_lost is not None:
                    longest = max(longest, r.mono - first_lost)
                    first_lost = None
            if first_lost is not None:
                longest = max(longest, end - first_lost)
    return longest


def records_metric(
    records: Mapping[str, Sequence[Record]], metric: str, windows: list[tuple[float, float]]
) -> float:
    """Pure: a window metric computed from the probe records themselves (a subset of clients)."""
    from lab.ansible.felt import felt

    if metric == "outage_s":
        return max((outage_s(records, a, b) for a, b in windows), default=0.0)
    fs = [felt(records, a, b) for a, b in windows]
    if metric == "moves":
        return float(sum(len(f.moves) for f in fs))
    return float(sum(getattr(f, metric) for f in fs))


def evaluate(
    objectives: Sequence[Objective],
    tasks: Sequence[TaskWindow],
    window_metric: Callable[[str, list[tuple[float, float]]], float | None],
    measurements: Sequence[dict[str, Any]],
    run_window: tuple[float, float],
    records: Mapping[str, Sequence[Record]] | None = None,
) -> list[Result]:
    """`window_metric(metric, windows)` counts lost/moves in the given windows (None: no probes).
    `records` (the probe records by client) serve `clients:` and `outage_s`."""
    out = []
    for o in objectives:
        scope = f"role {o.role}" if o.role else f"tasks {o.task}" if o.task else "whole rehearsal"
        value: float | None
        if o.metric in WINDOW_METRICS:
            windows = [run_window]
            if o.role or o.task:
                windows = [t.window for t in scoped(tasks, o)]
                if not windows:
                    scope += " (no such task ran)"
            names = client_set(o, measurements)
            if o.clients is not None:
                who = ", ".join(names) if names is not None else f"{o.clients} (not measured)"
                scope += f", clients {who}"
            if not windows or (o.clients is not None and names is None):
                value = None
            elif o.clients is None and o.metric != "outage_s":
                value = window_metric(o.metric, windows)
            elif not records:
                value = None
            else:
                picked = records if names is None else {c: r for c, r in records.items() if c in names}
                value = records_metric(picked, o.metric, windows)
        elif o.metric == "serial_skew_s":
            skews = [m.get("skew_s") for m in measurements if m.get("kind") == "serial_skew"]
            value = None if not skews or any(s is None for s in skews) else max(float(s or 0) for s in skews)
        elif o.metric == "failed_tasks":
            value = float(sum(1 for t in scoped(tasks, o) if t.status in ("failed", "unreachable")))
        else:  # duration_s
            ts = scoped(tasks, o)
            value = sum(t.end - t.start for t in ts) if (o.role or o.task) else run_window[1] - run_window[0]
        met = value is not None and (o.max is None or value <= o.max) and (o.min is None or value >= o.min)
        out.append(Result(o.name, o.metric, value, o.max, o.min, met, scope))
    return out
