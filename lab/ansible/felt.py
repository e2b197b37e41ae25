"""The seam to the lab's probes and measurement (lab.observe, lab.measure, lab.faults):
the only module of lab.ansible that calls them.

What users felt during a window [start, end) on CLOCK_MONOTONIC: the probe records sent in it
(per client, direct queries to the service address and queries through the client's
resolver), the queries lost, and the catchment moves (a client's answering site changing).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lab import faults, measure
from lab.daemons.base import LabAccess
from lab.measure.report import ProbePoint
from lab.observe import probes as probe_run
from lab.observe.probes import ProbeSet, Record

PROBES_FILE = "probes.json"  # in the rehearsal directory: client -> probe timeline file


def start_probes(h: LabAccess, out_dir: Path, duration: float) -> ProbeSet:
    ps = probe_run.start(h, duration=duration)
    (out_dir / PROBES_FILE).write_text(json.dumps({c: str(p) for c, p in ps.files.items()}))
    return ps


def wait_answering(ps: ProbeSet, since: float) -> float:
    return probe_run.wait_answering(ps, since)


def read_probes(out_dir: Path) -> dict[str, list[Record]]:
    """The records of the rehearsal's probes, read from their files (any process may call it)."""
    path = out_dir / PROBES_FILE
    if not path.exists():
        return {}
    files = json.loads(path.read_text())
    return {c: probe_run.read_records(Path(p), c) for c, p in files.items()}


def current_sites(out_dir: Path, now: float, window: float = 0.5) -> dict[str, set[str]]:
    """Per client, the sites that answered its direct probes sent in the last `window` s."""
    out: dict[str, set[str]] = {}
    for client, recs in read_probes(out_dir).items():
        out[client] = {
            r.site or "?" for r in recs if r.kind == "direct" and not r.lost and r.mono >= now - window
        }
    return out


@dataclass
class Felt:
    """What users felt in one window."""

    start: float
    end: float
    sent: int = 0
    lost: int = 0  # every query sent in the window and not answered (v4, v6, via resolver)
    lost_direct: int = 0  # to the service address over IPv4
    lost_v6: int = 0  # to the service address over IPv6
    lost_resolver: int = 0
    late: int = 0  # lost queries answered after the probe's timeout (a slow machine, a retry)
    dropped: int = 0  # lost and never answered: what a black hole or a loop does
    moves: list[dict[str, Any]] = field(default_factory=list)  # {client, from, to, mono}
    lost_by_client: dict[str, int] = field(default_factory=dict)
    dropped_by_client: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def felt(records: Mapping[str, Sequence[Record]], start: float, end: float) -> Felt:
    """Pure: lost queries and catchment moves among the records sent in [start, end)."""
    f = Felt(start, end)
    for client, recs in sorted(records.items()):
        inside = [r for r in recs if start <= r.mono < end]
        f.sent += len(inside)
        lost = [r for r in inside if r.lost]
        f.lost += len(lost)
        f.lost_direct += sum(1 for r in lost if r.kind == "direct")
        f.lost_v6 += sum(1 for r in lost if r.kind == "v6")
        f.lost_resolver += sum(1 for r in lost if r.kind == "resolver")
        dropped = sum(1 for r in lost if r.dropped)
        f.dropped += dropped
        f.late += len(lost) - dropped
        if lost:
            f.lost_by_client[client] = len(lost)
        if dropped:
            f.dropped_by_client[client] = dropped
        direct = sorted((r for r in recs if r.kind == "direct" and r.mono < end), key=lambda r: r.mono)
        # the site the client was at when the window opened: its last answer before it
        prev = next((r.site for r in reversed(direct) if r.mono < start and not r.lost and r.site), None)
        for r in direct:
            if r.mono < start or r.lost or not r.site:
                continue
            if prev is not None and r.site != prev:
                f.moves.append({"client": client, "from": prev, "to": r.site, "mono": r.mono})
            prev = r.site
    return f


# -- announcing a site: the agent process (recorded by the runtime: netns in the lab's state
# file, clab inside the site's container; lab.faults.running asks the runtime) ------------------
def agent_running(h: LabAccess, site: str) -> bool:
    return faults.running(h, site, "agent")


def announce(h: LabAccess, site: str) -> None:
    """Start the site's stopped agent (withdrawing is the running agent's `ctl withdraw`)."""
    faults.announce(h, site)


def proc_running(h: LabAccess, node: str, name: str) -> bool:
    return faults.running(h, node, name)


def dns_running(h: LabAccess, site: str) -> bool:
    """The site's DNS server (whichever its driver runs) is running."""
    return faults.running(h, site, faults.dns_process(h, site))


def stop_dns(h: LabAccess, site: str) -> None:
    """SIGTERM to the site's DNS server (an operator's `stop`): the agent withdraws once its
    checks fail (fall 3 x 1 s)."""
    faults.stop_proc(h, site, faults.dns_process(h, site))


def start_dns(h: LabAccess, site: str) -> None:
    faults.start_proc(h, site, faults.dns_process(h, site))


def timeline_png(
    records: dict[str, list[Record]], tasks: Sequence[Any], path: Path, title: str, lost: int
) -> Path:
    """The rehearsal's timeline through lab.timeline_png (the scenario reports' picture): one
    row per client, a dot per probe coloured by site, lost queries as red crosses, and each
    task's start as a vertical line (in place of a scenario's faults)."""
    from lab.measure import picture

    t0 = tasks[0].start if tasks else min((r.mono for rs in records.values() for r in rs), default=0.0)
    dur = round(tasks[-1].end - t0, 2) if tasks else 0.0
    timeline = picture.Timeline(
        f"{title}: convergence {dur} s, lost {lost}",
        {c: [ProbePoint(r.mono - t0, r.kind, measure.state(r)) for r in rs] for c, rs in records.items()},
        [picture.Mark(t.start - t0, t.name[:28]) for t in tasks if t.status in ("changed", "failed")],
    )
    return picture.write(timeline, path)
