"""The benchmark's dnsperf parser and verdict: pure logic, on real dnsperf 2.10 output."""

from __future__ import annotations

import pytest

from bench.dnsperf_run import DnsperfError, parse
from bench.results import Run, summarise, verdict

REPORT = """\
DNS Performance Testing Tool
Version 2.10.0

[Status] Command line: dnsperf -s 127.0.0.1 -p 5399 -d q.txt -n 2 -v
> NOERROR www.example.net A 0.000233
> NOERROR foo.wild.example.net A 0.000105
> NXDOMAIN nx.example.net A 0.000084
[Status] Testing complete (end of file)

Statistics:

  Queries sent:         522261
  Queries completed:    522250 (100.00%)
  Queries lost:         11 (0.00%)

  Response codes:       NOERROR 348174 (66.67%), NXDOMAIN 174076 (33.33%)
  Average packet size:  request 34, response 84
  Run time (s):         3.000064
  Queries per second:   174083.286223

  Average Latency (s):  0.000087 (min 0.000012, max 0.003685)
  Latency StdDev (s):   0.000076
"""


def test_parse_reads_counts_rates_latency_and_rcodes() -> None:
    r = parse(REPORT)
    assert (r.sent, r.completed, r.lost) == (522261, 522250, 11)
    assert r.qps == pytest.approx(174083.286223)
    assert r.runtime == pytest.approx(3.000064)
    assert (r.avg_latency, r.min_latency, r.max_latency) == (0.000087, 0.000012, 0.003685)
    assert r.stddev_latency == 0.000076
    assert r.rcodes == {"NOERROR": 348174, "NXDOMAIN": 174076}
    assert r.latencies == [0.000233, 0.000105, 0.000084]


def test_parse_refuses_output_without_statistics() -> None:
    with pytest.raises(DnsperfError):
        parse("[Status] Command line: dnsperf\nError: could not open datafile\n")


def test_percentile_of_verbose_latencies() -> None:
    r = parse(REPORT)
    r.latencies = [i / 1000 for i in range(1, 1001)]  # 1 ms .. 1000 ms
    assert r.percentile(50) == pytest.approx(0.5, abs=0.002)
    assert r.percentile(99) == pytest.approx(0.99, abs=0.002)


def _run(server: str, mix: str, qps: float, lost: int = 0, repeat: int = 0) -> Run:
    r = parse(REPORT)
    r.qps, r.lost = qps, lost
    return Run(server, mix, repeat, r, server_cpu=1.0, client_cpu=0.5)


def test_verdict_is_the_worst_mix_and_counts_lost_queries() -> None:
    runs = [
        _run("dnsnode", "a", 60, repeat=0), _run("nsd", "a", 100, repeat=0),
        _run("dnsnode", "a", 80, repeat=1), _run("nsd", "a", 100, repeat=1),
        _run("dnsnode", "a", 70, repeat=2), _run("nsd", "a", 100, repeat=2),
        _run("dnsnode", "b", 30), _run("nsd", "b", 100, lost=2),
    ]  # fmt: skip
    cells = summarise(runs)
    assert [c.qps for c in cells if c.server == "dnsnode"] == [70, 30]
    v = verdict(runs, cells, ["a", "b"])
    assert v is not None
    assert v.paired["a"] == [0.6, 0.8, 0.7]
    assert v.ratios["a"] == pytest.approx(0.7)
    assert v.worst_mix == "b"
    assert v.ratio == pytest.approx(0.3)
    assert v.lost == 2
    assert not v.passed


def test_paired_ratio_cancels_drift_between_repeats() -> None:
    # The machine gets twice as busy in repeat 1: both servers halve; the pairs stay at 0.75.
    runs = [_run("dnsnode", "a", 75, repeat=0), _run("nsd", "a", 100, repeat=0)]
    runs += [_run("nsd", "a", 50, repeat=1), _run("dnsnode", "a", 37.5, repeat=1)]
    runs += [_run("dnsnode", "a", 60, repeat=2), _run("nsd", "a", 80, repeat=2)]
    v = verdict(runs, summarise(runs), ["a"])
    assert v is not None and v.paired["a"] == [0.75, 0.75, 0.75] and v.passed


def test_verdict_passes_at_0_7_with_nothing_lost() -> None:
    runs = [_run("dnsnode", "a", 70), _run("nsd", "a", 100)]
    v = verdict(runs, summarise(runs), ["a"])
    assert v is not None and v.passed and v.ratio == pytest.approx(0.7)
    runs = [_run("dnsnode", "a", 69), _run("nsd", "a", 100)]
    v = verdict(runs, summarise(runs), ["a"])
    assert v is not None and not v.passed
