"""Process-group facts from /proc: who is in a group, and how much CPU it used.

CPU time tells a saturated server from a saturated client.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcStat:
    pid: int
    state: str
    pgrp: int
    cpu_seconds: float  # utime + stime


def _stats() -> Iterator[ProcStat]:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue  # exited while we looked
        # After the ")" closing comm: state(0) ppid(1) pgrp(2) ... utime(11) stime(12)
        fields = text.rsplit(")", 1)[1].split()
        yield ProcStat(
            int(entry.name), fields[0], int(fields[2]), (int(fields[11]) + int(fields[12])) / _TICKS
        )


def cpu_seconds(pid: int) -> float:
    """user+system CPU seconds of one process so far (0.0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def machine_busy_seconds() -> float:
    """Busy CPU seconds of every usable core since boot: a run's share of it tells how much
    of the machine other tasks took meanwhile."""
    return sum(core_times(c).busy for c in usable_cpus())


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group `pgid`."""
    return sorted(p.pid for p in _stats() if p.pgrp == pgid and p.state != "Z")


def group_cpu_seconds(pgid: int) -> float:
    """user+system CPU seconds of the processes in group `pgid` that are still there."""
    return sum(p.cpu_seconds for p in _stats() if p.pgrp == pgid)


def usable_cpus() -> list[int]:
    return sorted(os.sched_getaffinity(0))


@dataclass(frozen=True)
class CoreTimes:
    """Cumulative seconds of one CPU from /proc/stat."""

    busy: float  # everything but idle and iowait: any process, irq, softirq, steal
    interrupts: float  # irq + softirq (loopback packet processing lands here)
    total: float


def core_times(cpu: int) -> CoreTimes:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{cpu} "):
            # user nice system idle iowait irq softirq steal guest guest_nice
            v = [int(x) / _TICKS for x in line.split()[1:]]
            total = sum(v[:8])
            return CoreTimes(busy=total - v[3] - v[4], interrupts=v[5] + v[6], total=total)
    raise ValueError(f"/proc/stat has no line for cpu{cpu}")
