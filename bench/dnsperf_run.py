"""Run dnsperf (bounded in time and count) and parse its report into a dataclass."""

from __future__ import annotations

import re
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

QUERY_TIMEOUT = 5.0  # dnsperf -t: a query unanswered after this is "lost"


class DnsperfError(RuntimeError):
    """dnsperf failed or printed something we cannot read."""


@dataclass(frozen=True)
class DnsperfConfig:
    seconds: float  # -l
    clients: int = 8  # -c: distinct source ports, so SO_REUSEPORT spreads them over workers
    outstanding: int = 100  # -q
    threads: int = 1  # -T
    cpus: str = ""  # taskset CPU list for dnsperf itself
    max_qps: int = 0  # -Q (0 = unlimited)
    verbose: bool = False  # -v: one line per query, for latency percentiles
    binary: bool = False  # -B: the data file holds length-prefixed wire queries


@dataclass
class DnsperfResult:
    sent: int
    completed: int
    lost: int
    qps: float
    runtime: float
    avg_latency: float | None = None  # seconds
    min_latency: float | None = None
    max_latency: float | None = None
    stddev_latency: float | None = None
    rcodes: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # only with verbose

    def percentile(self, pct: float) -> float | None:
        if len(self.latencies) < 2:
            return None
        return statistics.quantiles(self.latencies, n=1000, method="inclusive")[round(pct * 10) - 1]


_INT_FIELDS = {
    "sent": r"Queries sent:\s+(\d+)",
    "completed": r"Queries completed:\s+(\d+)",
    "lost": r"Queries lost:\s+(\d+)",
}
_QPS = re.compile(r"Queries per second:\s+([\d.]+)")
_RUNTIME = re.compile(r"Run time \(s\):\s+([\d.]+)")
_LATENCY = re.compile(r"Average Latency \(s\):\s+([\d.]+) \(min ([\d.]+), max ([\d.]+)\)")
_STDDEV = re.compile(r"Latency StdDev \(s\):\s+([\d.]+)")
_RCODES = re.compile(r"Response codes:\s+(.*)")
_RCODE_ITEM = re.compile(r"([A-Z]+) (\d+) \(")
_VERBOSE_LINE = re.compile(r"^> ([A-Z]+) \S+ \S+ ([\d.]+)$")


def parse(output: str) -> DnsperfResult:
    values: dict[str, int] = {}
    for key, pattern in _INT_FIELDS.items():
        match = re.search(pattern, output)
        if match is None:
            raise DnsperfError(f"dnsperf output has no {pattern!r} line:\n{output[-2000:]}")
        values[key] = int(match.group(1))
    qps = _QPS.search(output)
    runtime = _RUNTIME.search(output)
    if qps is None or runtime is None:
        raise DnsperfError(f"dnsperf output has no QPS/run time:\n{output[-2000:]}")
    result = DnsperfResult(
        sent=values["sent"],
        completed=values["completed"],
        lost=values["lost"],
        qps=float(qps.group(1)),
        runtime=float(runtime.group(1)),
    )
    if latency := _LATENCY.search(output):
        result.avg_latency, result.min_latency, result.max_latency = (float(g) for g in latency.groups())
    if stddev := _STDDEV.search(output):
        result.stddev_latency = float(stddev.group(1))
    if rcodes := _RCODES.search(output):
        result.rcodes = {name: int(count) for name, count in _RCODE_ITEM.findall(rcodes.group(1))}
    result.latencies = [float(m.group(2)) for line in output.splitlines() if (m := _VERBOSE_LINE.match(line))]
    return result


def command(cfg: DnsperfConfig, port: int, datafile: Path, max_runs: int) -> list[str]:
    cmd = ["taskset", "-c", cfg.cpus] if cfg.cpus else []
    cmd += [
        "dnsperf",
        *("-s", "127.0.0.1", "-p", str(port), "-d", str(datafile)),
        *("-l", f"{cfg.seconds:g}", "-n", str(max_runs)),  # bounded in time and in count
        *("-c", str(cfg.clients), "-q", str(cfg.outstanding), "-T", str(cfg.threads)),
        *("-t", f"{QUERY_TIMEOUT:g}"),
    ]
    if cfg.max_qps:
        cmd += ["-Q", str(cfg.max_qps)]
    if cfg.verbose:
        cmd.append("-v")
    if cfg.binary:
        cmd.append("-B")
    return cmd


def run(
    cfg: DnsperfConfig, port: int, datafile: Path, lines: int, count_cap: int = 2_000_000
) -> DnsperfResult:
    """One bounded dnsperf run; `count_cap` bounds the number of queries via -n passes over the file."""
    max_runs = max(1, count_cap // max(1, lines))
    cmd = command(cfg, port, datafile, max_runs)
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=cfg.seconds + QUERY_TIMEOUT + 30, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise DnsperfError(f"dnsperf did not finish in time: {' '.join(cmd)}") from exc
    if proc.returncode != 0:
        raise DnsperfError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return parse(proc.stdout)
