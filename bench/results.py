"""Benchmark results: per-run records, medians per (server, mix), ratios and the verdict."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.dnsperf_run import DnsperfResult

TARGET_RATIO = 0.7  # dnsnode must reach 0.7 of NSD's QPS on its worst mix (issue 15 F) ...
TARGET_LOST = 0  # ... with no query lost on either server
BUSY = 0.9  # a process using this share of a core or more is the bottleneck
NOISY = 0.2  # other tenants using this share of the server core or more: figures unreliable


@dataclass
class Run:
    server: str
    mix: str
    repeat: int
    result: DnsperfResult
    server_cpu: float  # server CPU seconds / wall seconds (1.0 = one core busy)
    client_cpu: float  # dnsperf likewise
    server_core_busy: float = 0.0  # share of the server's core busy with anything (irq included)
    client_core_busy: float = 0.0
    others_on_server_core: float = 0.0  # busy minus irq minus the server: other engineers' work


@dataclass
class Cell:
    """The medians of the repeated runs of one server on one mix."""

    server: str
    mix: str
    qps: float
    qps_runs: list[float]
    lost_runs: list[int]
    avg_latency_ms: float | None
    server_cpu: float
    client_cpu: float
    server_core_busy: float
    client_core_busy: float
    others_on_server_core: float
    rcodes: dict[str, int]
    p50_ms: float | None = None  # from the fixed-rate latency probe
    p99_ms: float | None = None
    probe_qps: int | None = None

    @property
    def bound(self) -> str:
        """Which pinned core was full: the server's, dnsperf's (then the server could do more), or neither."""
        if self.server_core_busy >= BUSY:
            return "server core"
        if self.client_core_busy >= BUSY:
            return "dnsperf core"
        return "neither"


@dataclass
class Verdict:
    ratios: dict[str, float]  # mix -> median over repeats of the paired ratio (see paired_ratios)
    paired: dict[str, list[float]]  # mix -> dnsnode/nsd of the two runs of each repeat
    ratio_of_medians: dict[str, float]  # mix -> median dnsnode QPS / median NSD QPS
    worst_mix: str
    ratio: float  # the smallest per-mix ratio
    lost: int  # lost queries over every dnsnode and nsd run
    passed: bool


@dataclass
class Scaling:
    mix: str
    workers: int
    single_qps: float
    multi_qps: float

    @property
    def speedup(self) -> float:
        return self.multi_qps / self.single_qps if self.single_qps else 0.0


@dataclass
class Comparison:
    """ours / theirs QPS per mix: the median of the per-repeat paired ratios, and the medians."""

    title: str
    ours: str
    theirs: str
    ratios: dict[str, float]
    paired: dict[str, list[float]]
    qps: dict[str, tuple[float, float]]  # mix -> (ours median, theirs median)


@dataclass
class Report:
    setup: dict[str, Any]
    runs: list[Run] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    verdict: Verdict | None = None
    scaling: Scaling | None = None
    notes: list[str] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for run in data["runs"]:
            run["result"].pop("latencies", None)
        for c, raw in zip(self.cells, data["cells"], strict=True):
            raw["bound"] = c.bound
        return data


def _median_or_none(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarise(runs: list[Run]) -> list[Cell]:
    cells = []
    keys = dict.fromkeys((r.server, r.mix) for r in runs)  # keeps first-seen order
    for server, mix in keys:
        group = [r for r in runs if r.server == server and r.mix == mix]
        avg = _median_or_none([r.result.avg_latency for r in group])
        rcodes: dict[str, int] = {}
        for r in group:
            for name, count in r.result.rcodes.items():
                rcodes[name] = rcodes.get(name, 0) + count
        cells.append(
            Cell(
                server=server,
                mix=mix,
                qps=statistics.median(r.result.qps for r in group),
                qps_runs=[round(r.result.qps, 1) for r in group],
                lost_runs=[r.result.lost for r in group],
                avg_latency_ms=None if avg is None else avg * 1000,
                server_cpu=statistics.median(r.server_cpu for r in group),
                client_cpu=statistics.median(r.client_cpu for r in group),
                server_core_busy=statistics.median(r.server_core_busy for r in group),
                client_core_busy=statistics.median(r.client_core_busy for r in group),
                others_on_server_core=statistics.median(r.others_on_server_core for r in group),
                rcodes=rcodes,
            )
        )
    return cells


def cell(cells: list[Cell], server: str, mix: str) -> Cell | None:
    return next((c for c in cells if c.server == server and c.mix == mix), None)


def paired_ratios(runs: list[Run], mix: str, ours: str = "dnsnode", theirs: str = "nsd") -> list[float]:
    """dnsnode/NSD QPS per repeat, from the two runs made back to back in that repeat.

    Pairing cancels slow drifts in what the other tenants of the machine are doing.
    """
    ratios = []
    for repeat in sorted({r.repeat for r in runs if r.mix == mix}):
        a = [r.result.qps for r in runs if (r.server, r.mix, r.repeat) == (ours, mix, repeat)]
        b = [r.result.qps for r in runs if (r.server, r.mix, r.repeat) == (theirs, mix, repeat)]
        if a and b and b[0]:
            ratios.append(a[0] / b[0])
    return ratios


def compare(
    runs: list[Run], cells: list[Cell], mixes: list[str], ours: str, theirs: str, title: str
) -> Comparison | None:
    """Paired ratios of two servers over the mixes both ran; None if they share none."""
    ratios: dict[str, float] = {}
    paired: dict[str, list[float]] = {}
    qps: dict[str, tuple[float, float]] = {}
    for mix in mixes:
        a, b = cell(cells, ours, mix), cell(cells, theirs, mix)
        pairs = paired_ratios(runs, mix, ours, theirs)
        if a is None or b is None or not pairs:
            continue
        ratios[mix] = statistics.median(pairs)
        paired[mix] = [round(p, 3) for p in pairs]
        qps[mix] = (a.qps, b.qps)
    return Comparison(title, ours, theirs, ratios, paired, qps) if ratios else None


def verdict(
    runs: list[Run], cells: list[Cell], mixes: list[str], ours: str = "dnsnode", theirs: str = "nsd"
) -> Verdict | None:
    ratios: dict[str, float] = {}
    paired: dict[str, list[float]] = {}
    of_medians: dict[str, float] = {}
    lost = 0
    for mix in mixes:
        a, b = cell(cells, ours, mix), cell(cells, theirs, mix)
        pairs = paired_ratios(runs, mix, ours, theirs)
        if a is None or b is None or not pairs:
            return None
        paired[mix] = [round(p, 3) for p in pairs]
        ratios[mix] = statistics.median(pairs)
        of_medians[mix] = a.qps / b.qps if b.qps else 0.0
        lost += sum(a.lost_runs) + sum(b.lost_runs)
    worst = min(ratios, key=lambda m: ratios[m])
    ratio = ratios[worst]
    return Verdict(
        ratios, paired, of_medians, worst, ratio, lost, ratio >= TARGET_RATIO and lost <= TARGET_LOST
    )
