"""lab.measure on synthetic probe records: outage window, lost queries, flips, convergence."""

from __future__ import annotations

from dataclasses import dataclass

from lab import measure


@dataclass(frozen=True)
class R:
    mono: float
    site: str | None
    lost: bool = False


def timeline(spec: list[tuple[float, float, str | None]], step: float = 0.02) -> list[R]:
    """[(start, end, site or None=lost)] -> one record per step."""
    out = []
    for start, end, site in spec:
        t = start
        while t < end - 1e-9:
            out.append(R(round(t, 4), site, site is None))
            t += step
    return out


def test_failover_with_an_outage() -> None:
    recs = timeline([(0, 10, "ams"), (10, 12.5, None), (12.5, 20, "fra")])
    c = measure.client_result("alice", recs, fault=10.0)
    assert (c.site_before, c.site_after) == ("ams", "fra")
    assert c.lost == 125 and abs(c.outage_s - 2.5) < 1e-6 and c.outage_start == 0.0
    assert c.flips == 1 and abs(c.converged_s - 2.5) < 1e-6


def test_move_without_loss_and_a_flap() -> None:
    recs = timeline([(0, 10, "ams"), (10, 10.4, "fra"), (10.4, 10.6, "ams"), (10.6, 15, "fra")])
    c = measure.client_result("carol", recs, fault=10.0)
    assert c.lost == 0 and c.outage_s == 0.0 and c.outage_start is None
    assert c.flips == 3 and abs(c.converged_s - 0.6) < 1e-6
    assert c.sites_seen == ["fra", "ams"]


def test_untouched_client_converges_at_zero() -> None:
    c = measure.client_result("bob", timeline([(0, 20, "sin")]), fault=10.0)
    assert (c.lost, c.flips, c.converged_s, c.site_after) == (0, 0, 0.0, "sin")


def test_convergence_parts_and_shift() -> None:
    direct = {"a": measure.client_result("a", timeline([(0, 10, "x"), (10, 11, None), (11, 15, "y")]), 10.0)}
    resolver = {
        "a": measure.client_result("a", timeline([(0, 10, "?"), (10, 12, None), (12, 15, "?")]), 10.0)
    }
    conv = measure.convergence(10.0, direct, resolver, [9.0, 10.9, 11.2], detected=10.5)
    assert conv.total_s == 1.0 and conv.resolver_s == 2.0 and conv.resolver_extra_s == 1.0
    assert conv.detection_s == 0.5 and conv.routing_first_s == 0.9 and conv.routing_stable_s == 1.2
    assert abs((conv.propagation_s or 0) - 0.7) < 1e-6
    assert measure.shift({"a": "x", "b": "z"}, {"a": "y", "b": "z"}) == {"a": ["x", "y"]}


def test_detection_is_the_first_state_change() -> None:
    ev = [
        {"event": "health", "mono": 1.0},
        {"event": "state", "from": "announced", "to": "withdrawn", "mono": 2.0},
    ]
    assert measure.detection(ev) == 2.0


def test_loss_in_a_window_counts_by_send_time() -> None:
    recs = timeline([(0, 2, "ams"), (2, 4, None), (4, 6, "ams")])
    w = measure.loss_in(recs, 1.0, 3.0)
    assert (w.sent, w.lost) == (100, 50) and w.fraction == 0.5
    assert measure.loss_in(recs, 4.0, 6.0) == measure.Loss(100, 0)
    assert measure.loss_in(recs, 7.0, 8.0).fraction == 0.0  # nothing sent: no loss, no division


def test_roundtrip_loss_and_binomial_range() -> None:
    assert abs(measure.roundtrip_loss(0.3) - 0.51) < 1e-9  # 30 % each way: query or answer lost
    assert measure.roundtrip_loss(0.0) == 0.0 and measure.roundtrip_loss(1.0) == 1.0
    lo, hi = measure.binomial_range(150, 0.51)  # mean 76.5, sd 6.1
    assert (lo, hi) == (45, 108)
    assert measure.binomial_range(10, 0.0) == (0, 0) and measure.binomial_range(10, 1.0) == (10, 10)
