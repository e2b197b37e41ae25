"""Objectives declared beside a playbook and checked after the rehearsal (pure: unit-tested).

    playbooks/maintenance.yml
    playbooks/maintenance.objectives.yml:

        objectives:
          - name: no query lost while draining
            metric: lost          # lost | lost_direct | lost_resolver | moves | serial_skew_s |
            role: anycast_drain   #   failed_tasks | duration_s
            max: 0                # and/or min: N
          - {name: rollout skew, metric: serial_skew_s, max: 5}

Scope of `lost`/`moves`: the windows of the tasks of `role:` (or of tasks whose name matches
the glob `task:`), else the whole rehearsal (first task start to the end of the settle time
after the last task). `serial_skew_s` is the largest skew window the rollout role measured.
A metric that could not be measured (no probes, no rollout) misses its objective.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

METRICS = ("lost", "lost_direct", "lost_resolver", "moves", "serial_skew_s", "failed_tasks", "duration_s")


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
        unknown = set(o) - {"name", "metric", "max", "min", "role", "task"}
        if unknown:
            raise ObjectiveError(
                f"{at}: unknown keys {sorted(unknown)} (fix: name, metric, max, min, role, task)"
            )
        metric = o.get("metric")
        if metric not in METRICS:
            raise ObjectiveError(f"{at}: metric {metric!r} unknown (fix: one of {', '.join(METRICS)})")
        if o.get("max") is None and o.get("min") is None:
            raise ObjectiveError(f"{at}: give max: and/or min: (e.g. max: 0)")
        out.append(
            Objective(
                str(o.get("name") or metric), metric, o.get("max"), o.get("min"), o.get("role"), o.get("task")
            )
        )
    return out


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


def evaluate(
    objectives: Sequence[Objective],
    tasks: Sequence[TaskWindow],
    window_metric: Callable[[str, list[tuple[float, float]]], float | None],
    measurements: Sequence[dict[str, Any]],
    run_window: tuple[float, float],
) -> list[Result]:
    """`window_metric(metric, windows)` counts lost/moves in the given windows (None: no probes)."""
    out = []
    for o in objectives:
        scope = f"role {o.role}" if o.role else f"tasks {o.task}" if o.task else "whole rehearsal"
        value: float | None
        if o.metric in ("lost", "lost_direct", "lost_resolver", "moves"):
            if o.role or o.task:
                ts = scoped(tasks, o)
                value = window_metric(o.metric, [t.window for t in ts]) if ts else None
                if not ts:
                    scope += " (no such task ran)"
            else:
                value = window_metric(o.metric, [run_window])
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
