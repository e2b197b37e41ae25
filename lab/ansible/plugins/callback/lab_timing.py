"""Ansible callback plugin: each task's start and end on CLOCK_MONOTONIC, one JSON line each.

CLOCK_MONOTONIC is one clock for every process and namespace on the host, so these times
line up with the lab's probe timelines (lab/probe.py writes `mono` the same way): what users
felt during a task is read from the probe records inside the task's window.

    LAB_RUNBOOK_TIMING=/path/tasks.jsonl   where to append (unset: the plugin does nothing)
    {"event": "task_start", "mono": ..., "task": "...", "role": "...", "uuid": "..."}
    {"event": "task_end", "mono": ..., "uuid": "...", "host": "...", "status": "ok|changed|failed|..."}
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: lab_timing
type: aggregate
short_description: per-task CLOCK_MONOTONIC timings for anycast-lab rehearsals
description:
  - Appends task start/end times (time.monotonic()) to the file named by LAB_RUNBOOK_TIMING.
requirements:
  - enable in callbacks_enabled (lab runbook run does)
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "lab_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.path = os.environ.get("LAB_RUNBOOK_TIMING")

    def _emit(self, **rec: Any) -> None:
        if not self.path:
            return
        rec["mono"] = round(time.monotonic(), 6)
        with open(self.path, "a") as f:
            f.write(json.dumps(rec, default=str) + "\n")

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        role = task._role.get_name() if getattr(task, "_role", None) else None
        self._emit(event="task_start", task=task.get_name(), role=role, uuid=task._uuid)

    def _end(self, result: Any, status: str) -> None:
        res = getattr(result, "_result", {}) or {}
        if status == "ok" and res.get("changed"):
            status = "changed"
        msg = res.get("msg") if status in ("failed", "unreachable") else None
        self._emit(
            event="task_end",
            uuid=result._task._uuid,
            host=result._host.get_name(),
            status=status,
            attempts=res.get("attempts"),
            msg=msg,
        )

    def v2_runner_on_ok(self, result: Any) -> None:
        self._end(result, "ok")

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._end(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._end(result, "skipped")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._end(result, "unreachable")
