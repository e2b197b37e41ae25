"""One rehearsal: probes on, the playbook through ansible-runner, task windows on the
monotonic clock, what users felt per task, objectives, and the report on disk.

    out/runbooks/<playbook>-<lab>-<time>/   (LAB_REPORTS_DIR/runbooks/... when set)
        inventory/hosts.json   the generated inventory
        tasks.jsonl            task start/end (lab/ansible/plugins/callback/lab_timing.py)
        measurements.jsonl     what the roles' checks measured (lab runbook serials, withdraw)
        probes.json            the probe timeline files (client -> JSON lines)
        report.json            the report (`lab runbook run --json` prints the same)
        artifacts/             ansible-runner's (stdout, events)
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ansible_runner

from lab.ansible import felt, objectives, ops
from lab.ansible.inventory import inventory
from lab.errors import LabError
from lab.orchestrate import lifecycle
from lab.orchestrate.handle import LabHandle
from lab.orchestrate.lifecycle import open_lab
from lab.poll import wait_until

HERE = Path(__file__).resolve().parent
PLUGINS = HERE / "plugins"  # our connection (netns) and callback (task timing) plugins: package data
ROLES = HERE / "roles"
Progress = Callable[[str], None] | None
PROBE_TIMEOUT = 1.0  # lab.probe_run's default: a query unanswered after this is lost
MAX_PLAYBOOK_S = 600.0


def reports_root() -> Path:
    return Path(os.environ.get("LAB_REPORTS_DIR") or Path.cwd() / "out") / "runbooks"


def ansible_env(workdir: Path) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    return {
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
        "ANSIBLE_CONNECTION_PLUGINS": str(PLUGINS / "connection"),
        "ANSIBLE_CALLBACK_PLUGINS": str(PLUGINS / "callback"),
        "ANSIBLE_CALLBACKS_ENABLED": "lab_timing",
        "ANSIBLE_ROLES_PATH": str(ROLES),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_LOCAL_TEMP": str(workdir / "tmp"),
        "ANSIBLE_REMOTE_TEMP": str(workdir / "tmp"),
        "LAB_RUNBOOK_TIMING": str(workdir / "tasks.jsonl"),
        ops.RUNBOOK_DIR_ENV: str(workdir),
    }


def task_windows(path: Path) -> list[objectives.TaskWindow]:
    """Task start/end lines -> one window per task (start to the last host's end)."""
    starts: dict[str, dict[str, Any]] = {}
    ends: dict[str, list[dict[str, Any]]] = {}
    order: list[str] = []
    if path.exists():
        for line in path.read_text().splitlines():
            d = json.loads(line)
            if d["event"] == "task_start":
                starts[d["uuid"]] = d
                order.append(d["uuid"])
            elif d["event"] == "task_end":
                ends.setdefault(d["uuid"], []).append(d)
    out = []
    for i, uuid in enumerate(order):
        s = starts[uuid]
        es = ends.get(uuid, [])
        nxt = starts[order[i + 1]]["mono"] if i + 1 < len(order) else None
        end = max((e["mono"] for e in es), default=nxt if nxt is not None else s["mono"])
        statuses = [e["status"] for e in es]
        status = next(
            (st for st in ("failed", "unreachable", "changed", "ok", "ignored") if st in statuses),
            "skipped" if statuses else "none",
        )
        until = max(nxt, end) if nxt is not None else end
        out.append(objectives.TaskWindow(s["task"], s.get("role"), s["mono"], end, status, until))
    return out


def _wait_probes_past(workdir: Path, t: float) -> float:
    """Until every probe has resolved (answered or timed out) every query sent before t."""

    def behind() -> list[str]:
        recs = felt.read_probes(workdir)
        return [c for c, rs in recs.items() if not any(r.mono >= t + PROBE_TIMEOUT + 0.2 for r in rs)]

    return wait_until(
        behind, lambda b: not b, timeout=30.0, interval=0.1, what="probes past the rehearsal"
    ).elapsed


def rehearse(
    playbook: Path,
    topo: Path | None = None,
    name: str | None = None,
    extra_vars: dict[str, Any] | None = None,
    settle: float = 2.0,
    progress: Progress = None,
) -> dict[str, Any]:
    """Run `playbook` on a running lab (or one brought up from `topo` and torn down after)."""
    objs = objectives.load(playbook)  # a bad objectives file fails before anything runs
    if topo is not None:
        res = lifecycle.up(topo, name)
        try:
            return _rehearse(res.handle, playbook, objs, extra_vars or {}, settle, progress)
        finally:
            lifecycle.down(res.handle.name)
    return _rehearse(open_lab(name), playbook, objs, extra_vars or {}, settle, progress)


def lab_inventory(h: LabHandle) -> dict[str, Any]:
    """The running lab's inventory on its own runtime: on clab with its containers' names."""
    if h.runtime.kind == "clab":  # the containers' names, as the runtime knows them
        return inventory(h.lab, "clab", h.dir, {n: h.runtime.node_ref(n) for n in h.lab.nodes})
    return inventory(h.lab, "netns", h.dir)


def _rehearse(
    h: LabHandle,
    playbook: Path,
    objs: list[objectives.Objective],
    extra_vars: dict[str, Any],
    settle: float,
    progress: Progress,
) -> dict[str, Any]:
    say = progress or (lambda _m: None)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    workdir = reports_root() / f"{playbook.stem}-{h.name}-{stamp}-{os.getpid()}"
    (workdir / "inventory").mkdir(parents=True)
    (workdir / "tmp").mkdir()
    (workdir / "inventory" / "hosts.json").write_text(json.dumps(lab_inventory(h), indent=1))

    say(f"probes: one per client, every 20 ms ({h.name})")
    t_probes = time.monotonic()
    ps = felt.start_probes(h, workdir, duration=MAX_PLAYBOOK_S + 60)
    try:
        felt.wait_answering(ps, t_probes)
        say(f"running {playbook} through ansible-runner")

        errors: list[str] = []

        def on_event(ev: dict[str, Any]) -> bool:
            if ev.get("event") == "playbook_on_task_start":
                say(f"  task: {ev.get('event_data', {}).get('task')}")
            res = ev.get("event_data", {}).get("res", {})
            if ev.get("event") == "runner_on_ok" and isinstance(res, dict) and "msg" in res:
                say(f"    {res['msg']}")  # a role's debug message: what the operator must know now
            if (
                ev.get("event") == "runner_on_failed"
                and isinstance(res, dict)
                and not ev["event_data"].get("ignore_errors")
            ):  # why a task failed (e.g. a zone's FILE:LINE), in the report and at once
                errors.append(str(res.get("msg") or res.get("stderr") or res.get("stdout") or res))
                say(f"    failed: {errors[-1]}")
            return True

        t0 = time.monotonic()
        r = ansible_runner.run(
            private_data_dir=str(workdir),
            playbook=str(playbook.resolve()),
            inventory=str(workdir / "inventory" / "hosts.json"),
            envvars=ansible_env(workdir),
            extravars=extra_vars,
            quiet=True,
            event_handler=on_event,
            timeout=int(MAX_PLAYBOOK_S),
        )
        t1 = time.monotonic()
        _wait_probes_past(workdir, t1 + settle)
    finally:
        # the roles' helpers (`lab runbook withdraw|announce`) rewrote the state file in other
        # processes: stop the probes through a fresh copy, or its save would undo their records
        ps.handle = open_lab(h.name)
        ps.stop()
    records = felt.read_probes(workdir)
    tasks = task_windows(workdir / "tasks.jsonl")
    run_window = (tasks[0].start if tasks else t0, t1 + settle)
    measurements = ops.read_measurements(workdir)

    def window_metric(metric: str, windows: list[tuple[float, float]]) -> float | None:
        if not records:
            return None
        fs = [felt.felt(records, a, b) for a, b in windows]
        if metric == "moves":
            return float(sum(len(f.moves) for f in fs))
        return float(sum(getattr(f, metric) for f in fs))

    results = objectives.evaluate(objs, tasks, window_metric, measurements, run_window, records)
    total = felt.felt(records, *run_window)
    after = felt.felt(records, t1, t1 + settle)
    stdout = workdir / "artifacts"
    report: dict[str, Any] = {
        "playbook": str(playbook),
        "lab": h.name,
        "ansible": {"rc": r.rc, "status": r.status, "artifacts": str(stdout)},
        "tasks": [
            {
                "name": t.name,
                "role": t.role,
                "status": t.status,
                "start": round(t.start, 6),
                "duration_s": round(t.end - t.start, 3),
                "felt": _felt_json(felt.felt(records, *t.window)),
            }
            for t in tasks
        ],
        "after_playbook": {"settle_s": settle, "felt": _felt_json(after)},
        "lost": total.lost,
        "lost_direct": total.lost_direct,
        "lost_v6": total.lost_v6,
        "lost_resolver": total.lost_resolver,
        "late": total.late,
        "dropped": total.dropped,
        "sent": total.sent,
        "moves": total.moves,
        "lost_by_client": total.lost_by_client,
        "dropped_by_client": total.dropped_by_client,
        "duration_s": round(t1 - t0, 3),
        "measurements": measurements,
        "objectives": [o.to_json() for o in results],
        "objectives_met": all(o.met for o in results) and r.rc == 0,
        "files": {"dir": str(workdir), "report": str(workdir / "report.json")},
    }
    if r.rc != 0:
        report["ansible"]["errors"] = errors
        report["ansible"]["failed"] = [
            t["name"] for t in report["tasks"] if t["status"] in ("failed", "unreachable")
        ]
    if records:
        png = felt.timeline_png(
            records, tasks, workdir / "timeline.png", f"{playbook.name} on {h.name}", total.lost
        )
        report["files"]["png"] = str(png)
    (workdir / "report.json").write_text(json.dumps(report, indent=2))
    return report


def _felt_json(f: felt.Felt) -> dict[str, Any]:
    return {
        "sent": f.sent,
        "lost": f.lost,
        "lost_direct": f.lost_direct,
        "lost_v6": f.lost_v6,
        "lost_resolver": f.lost_resolver,
        "late": f.late,
        "dropped": f.dropped,
        "moves": [f"{m['client']} {m['from']}->{m['to']}" for m in f.moves],
        "lost_by_client": f.lost_by_client,
        "dropped_by_client": f.dropped_by_client,
    }


def ensure_lab(name: str | None) -> LabHandle:
    try:
        return open_lab(name)
    except LabError as exc:
        raise LabError(f"{exc} (or pass --topo TOPO to bring one up for the rehearsal)") from None
