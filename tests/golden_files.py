"""Golden-file comparison shared by the rendering tests (netlab style): the rendered files must
equal tests/golden/<case>/ byte for byte; LAB_UPDATE_GOLDEN=1 rewrites them (inspect the diff)."""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path


def read(base: Path) -> dict[str, str]:
    """Every file under `base`, by path relative to it."""
    return {str(p.relative_to(base)): p.read_text() for p in sorted(base.rglob("*")) if p.is_file()}


def assert_matches(rendered: dict[str, str], base: Path) -> None:
    if os.environ.get("LAB_UPDATE_GOLDEN"):
        shutil.rmtree(base, ignore_errors=True)
        for rel, text in rendered.items():
            (base / rel).parent.mkdir(parents=True, exist_ok=True)
            (base / rel).write_text(text)
    expected = read(base)
    assert sorted(rendered) == sorted(expected), f"rendered files differ from {base}"
    diffs = [
        "".join(difflib.unified_diff(expected[f].splitlines(True), rendered[f].splitlines(True), f, f))
        for f in sorted(rendered)
        if rendered[f] != expected[f]
    ]
    assert not diffs, "\n".join(diffs)
