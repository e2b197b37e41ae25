"""Debian's headless Chromium driven by Playwright (the Python package, pointed at
/usr/bin/chromium: no browser is ever downloaded). The flags are the ones that work on a
machine with no network beyond its registries: no background networking, sync or updates."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

CHROMIUM = Path(os.environ.get("LAB_CHROMIUM", "/usr/bin/chromium"))
FLAGS = [
    "--no-sandbox",  # as root, in a container-like sandbox of its own
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextlib.contextmanager
def chromium_page(width: int = 1400, height: int = 900) -> Iterator[Page]:
    """A fresh page in a fresh profile; the browser and its profile gone afterwards."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} missing: `make setup` installs Debian's chromium and chromium-driver")
    profile = tempfile.mkdtemp(prefix="lab-chromium-")
    try:
        with sync_playwright() as p:
            ctx = p.chromium.launch_persistent_context(
                profile, executable_path=str(CHROMIUM), headless=True, args=FLAGS,
                viewport={"width": width, "height": height},
            )  # fmt: skip
            try:
                yield ctx.new_page()
            finally:
                ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
