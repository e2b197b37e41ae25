"""Golden-file tests of rendering, netlab style: every rendered file is compared with
tests/golden/<case>/<node>/<file>. Any difference, missing or extra file fails.

Regenerate after an intended change, then review the diff:
    LAB_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_render_golden.py
"""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path

import pytest

from lab.loader import load
from lab.render import render_files

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
DATA = ROOT / "tests" / "data" / "topologies"
CASES: dict[str, tuple[Path, str | None]] = {
    "workshop": (ROOT / "topologies" / "workshop.yml", None),
    "workshop-frr": (ROOT / "topologies" / "workshop.yml", "frr"),
    "workshop-bird": (ROOT / "topologies" / "workshop.yml", "bird"),
    "global": (ROOT / "topologies" / "global.yml", None),
    "knobs": (DATA / "good-knobs.yml", None),
}


def _golden(case: str) -> dict[str, str]:
    base = GOLDEN / case
    return {str(p.relative_to(base)): p.read_text() for p in sorted(base.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendering_matches_golden_files(case: str) -> None:
    path, daemon = CASES[case]
    rendered = render_files(load(path, daemon))
    if os.environ.get("LAB_UPDATE_GOLDEN"):
        shutil.rmtree(GOLDEN / case, ignore_errors=True)
        for rel, text in rendered.items():
            (GOLDEN / case / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / case / rel).write_text(text)
    expected = _golden(case)
    assert sorted(rendered) == sorted(expected), "rendered files differ from tests/golden/" + case
    diffs = [
        "".join(difflib.unified_diff(expected[f].splitlines(True), rendered[f].splitlines(True), f, f))
        for f in sorted(rendered)
        if rendered[f] != expected[f]
    ]
    assert not diffs, "\n".join(diffs)


def test_a_changed_config_is_caught() -> None:
    """The comparison itself must be able to fail."""
    path, daemon = CASES["workshop"]
    rendered = render_files(load(path, daemon))
    expected = _golden("workshop")
    conf = rendered["ta1/frr.conf"]
    assert "set local-preference 200" in conf
    rendered["ta1/frr.conf"] = conf.replace("set local-preference 200", "set local-preference 201")
    assert rendered["ta1/frr.conf"] != expected["ta1/frr.conf"]


def test_forced_daemon_renders_only_that_daemon() -> None:
    names = set(_golden("workshop-frr"))
    assert not any(n.endswith("bird.conf") for n in names)
    assert {n.split("/")[-1] for n in names} >= {"frr.conf", "unbound.conf", "dnsnode.yml", "agent.yml"}
