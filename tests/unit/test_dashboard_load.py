"""The dashboard's per-site load (lab.dashboard.load, pure): cumulative readings become per-second
rates on CLOCK_MONOTONIC, the window forgets old readings, a failed reading is said, not plotted,
and the JSON has exactly the fields the page reads."""

from __future__ import annotations

import json

from lab.dashboard.load import LoadHistory
from lab.model.loader import load
from lab.model.shipped import resolve
from lab.observe.load import SiteCounters

DDOS = load(resolve("workshop-ddos"))


def reading(site: str, mono: float, offered: int, limited: int = 0, attack: int = 0,
            answered: int | None = 0, error: str | None = None) -> SiteCounters:  # fmt: skip
    sdrop = None if answered is None else 0
    return SiteCounters(site, mono, offered, attack, limited, 0, answered, sdrop, error)


def test_rates_per_second_with_the_interval_end_as_time() -> None:
    h = LoadHistory(DDOS)
    h.feed({"ams": reading("ams", 100.0, 1000, answered=900)})
    h.feed({"ams": reading("ams", 102.0, 3000, limited=600, attack=1000, answered=2300)})
    view = h.view(102.5).to_json()
    ams = next(s for s in view["sites"] if s["site"] == "ams")  # type: ignore[attr-defined]
    assert ams == {
        "site": "ams",
        "capacity_qps": 500,
        "capacity_mbit": None,
        "rates": [{"t": 102.0, "offered": 1000.0, "answered": 700.0, "dropped": 300.0, "attack": 500.0}],
        "error": None,
    }
    assert view["mono"] == 102.5 and view["every"] == 1.0 and view["window"] == 180.0
    # every site of the model is there, with nothing read yet
    assert [s["site"] for s in view["sites"]] == ["ams", "sin", "fra"]  # type: ignore[attr-defined]
    json.dumps(view)  # plain JSON all the way down


def test_since_gives_only_the_new_intervals() -> None:
    h = LoadHistory(DDOS)
    for i in range(4):
        h.feed({"sin": reading("sin", 10.0 + i, 100 * i)})
    rates = next(s for s in h.view(13.0, since=12.0).sites if s.site == "sin").rates
    assert [r.t for r in rates] == [13.0] and rates[0].offered == 100.0


def test_a_server_without_counters_has_no_answered_rate() -> None:
    h = LoadHistory(DDOS)
    h.feed({"fra": reading("fra", 1.0, 0, answered=None)})
    h.feed({"fra": reading("fra", 2.0, 50, answered=None)})
    (r,) = next(s for s in h.view(2.0).sites if s.site == "fra").rates
    assert r.answered is None and r.offered == 50.0


def test_a_failed_reading_is_reported_and_skipped() -> None:
    h = LoadHistory(DDOS)
    h.feed({"ams": reading("ams", 1.0, 100)})
    h.feed({"ams": reading("ams", 2.0, 0, error="RuntimeError: nft: no such table")})
    h.feed({"ams": reading("ams", 3.0, 300)})
    h.feed({"ams": reading("ams", 4.0, 0, error="OSError: gone")})
    ams = next(s for s in h.view(4.0).sites if s.site == "ams")
    assert [(r.t, r.offered) for r in ams.rates] == [(3.0, 100.0)]  # 200 over the 2 s between good ones
    assert ams.error == "OSError: gone"


def test_the_window_forgets_old_readings() -> None:
    h = LoadHistory(DDOS, window=10.0)
    for i in range(30):
        h.feed({"ams": reading("ams", float(i), 10 * i)})
    q = h.readings["ams"]
    assert q[0].mono < 29.0 - 10.0 <= q[1].mono  # one kept before the window: its first interval
    ts = [r.t for r in next(s for s in h.view(29.0).sites if s.site == "ams").rates]
    assert ts[0] == 19.0 and ts[-1] == 29.0 and len(ts) == len(q) - 1


def test_each_pass_publishes_only_its_new_rates() -> None:
    h = LoadHistory(DDOS)
    assert all(s.rates == [] for s in h.add({"ams": reading("ams", 1.0, 0)}, 1.0).sites)
    new = h.add({"ams": reading("ams", 2.0, 40), "sin": reading("sin", 2.01, 7)}, 2.1)
    assert [(s.site, [r.offered for r in s.rates]) for s in new.sites] == [
        ("ams", [40.0]),
        ("sin", []),
        ("fra", []),
    ]
    new = h.add({"ams": reading("ams", 3.0, 100), "sin": reading("sin", 3.01, 17)}, 3.1)
    assert [(s.site, [r.offered for r in s.rates]) for s in new.sites] == [
        ("ams", [60.0]),
        ("sin", [10.0]),
        ("fra", []),
    ]
    assert [r.t for r in next(s for s in h.view(3.1).sites if s.site == "ams").rates] == [2.0, 3.0]
