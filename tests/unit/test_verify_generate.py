"""`lab verify --generate`: seeds as the CLI reads them, generated topology files, and the
checks the model cannot call (lab/testing/verify.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.cli.verify import seeds
from lab.errors import LabError
from lab.model.generate import generate, to_yaml
from lab.model.loader import load, loads
from lab.predict.changes import LinkDown, Withdrawn
from lab.testing.verify import generated, undecided


def test_seeds_one_range_or_list() -> None:
    assert seeds("7") == [7] and seeds("0..3") == [0, 1, 2, 3] and seeds("1,5,8") == [1, 5, 8]
    with pytest.raises(LabError, match=r"a range \(0\.\.9\)"):
        seeds("a..b")


def test_generated_files_read_back_to_the_generators_topology(tmp_path: Path) -> None:
    path = generated(8, tmp_path)
    assert path.name == "gen8.yml" and load(path).spec == generate(8)
    big = generated(1, tmp_path, routers=100)
    assert big.name == "gen1-100r.yml" and 80 <= len(load(big).of_kind("router")) <= 120


def test_a_med_cycle_at_a_bird_router_is_undecided_at_an_frr_one_it_is_not() -> None:
    text = to_yaml(generate(33))  # cut s2-t2-fra: t2-fra holds a MED cycle (test_model_multi_router)
    cut = [LinkDown("s2", "t2-fra")]
    bird = loads(
        text.replace(
            "{name: t2-fra, asn: 64502, pop: fra}", "{name: t2-fra, asn: 64502, pop: fra, daemon: bird}"
        )
    )
    assert bird.nodes["t2-fra"].daemon == "bird"
    assert "MED cycle at t2-fra" in str(undecided(bird, cut))
    frr = loads(text, force_daemon="frr")  # FRR's deterministic-med decides as the model does
    assert undecided(frr, cut) is None
    assert undecided(bird, []) is None and undecided(bird, [Withdrawn(frozenset({"s1"}))]) is None
