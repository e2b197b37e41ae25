"""Processes identified by PID *and* start time, so a recycled PID is never signalled.

A process is ours only while /proc/PID/stat shows the start time we recorded when we started
it. Signals go to the process group (every lab process leads its own session, so its group id
is its PID), which takes forked workers along.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass

from lab.poll import PollTimeout, wait_until


@dataclass(frozen=True)
class ProcId:
    pid: int
    start: int  # field 22 of /proc/PID/stat: start time in clock ticks since boot


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = open(f"/proc/{pid}/stat").read()  # noqa: SIM115 (tiny read)
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm (field 2) may contain spaces and parentheses: split after the last ')'
    return raw[raw.rindex(")") + 2 :].split()


def start_time(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None  # fields[0] is field 3 (state); 22 - 3 = 19


def is_ours(p: ProcId) -> bool:
    """Alive (not a zombie) and still the process we started."""
    fields = _stat_fields(p.pid)
    return fields is not None and int(fields[19]) == p.start and fields[0] not in ("Z", "X")


def rss_kib(pid: int) -> int:
    try:
        for line in open(f"/proc/{pid}/status"):  # noqa: SIM115
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _reap(pid: int) -> None:
    # our own children (the controller still running) would stay zombies otherwise
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def signal_group(p: ProcId, sig: int) -> bool:
    if not is_ours(p):
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(p.pid, sig)
        return True
    with contextlib.suppress(ProcessLookupError):
        os.kill(p.pid, sig)
    return True


def stop_all(procs: list[ProcId], timeout: float = 5.0) -> list[ProcId]:
    """SIGTERM every process, wait (polling) for them to go, SIGKILL the rest. Returns those
    that were still ours and had to be killed."""
    for p in procs:
        signal_group(p, signal.SIGTERM)

    def left() -> list[ProcId]:
        for p in procs:
            _reap(p.pid)
        return [p for p in procs if is_ours(p)]

    try:
        wait_until(left, lambda rest: not rest, timeout=timeout, interval=0.05, what="processes exit")
        return []
    except PollTimeout:
        stubborn = left()
        for p in stubborn:
            signal_group(p, signal.SIGKILL)
        wait_until(left, lambda rest: not rest, timeout=timeout, interval=0.05, what="processes killed")
        return stubborn
