"""Running labs for integration tests: unique names, brought up once per module, torn down
exactly, and a check that nothing the lab recorded is left behind.

    @pytest.fixture(scope="module")
    def workshop() -> Iterator[UpResult]:
        yield from running_lab(TOPOLOGIES / "workshop.yml")
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab import lifecycle
from lab.runtime import procs
from lab.runtime.netns import ETC_NETNS, NETNS_DIR
from lab.runtime.state import STATE_FILE

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGIES = ROOT / "topologies"
LAB_BIN = ROOT / ".venv" / "bin" / "lab"


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")


def unique_name(prefix: str = "t") -> str:
    return f"{prefix}{secrets.token_hex(3)}"  # <= 11 chars: namespaces are <name>-<node>


@dataclass(frozen=True)
class Footprint:
    """What a lab's state file says it created, read before teardown."""

    name: str
    run_dir: Path
    namespaces: list[str]
    procs: list[procs.ProcId]
    paths: list[Path]

    @classmethod
    def of(cls, name: str) -> Footprint:
        d = lifecycle.run_dir(name)
        data = json.loads((d / STATE_FILE).read_text())
        items = data["items"]
        return cls(
            name,
            d,
            [i["id"] for i in items if i["kind"] == "netns"],
            [
                procs.ProcId(i["data"]["pid"], i["data"]["start"])
                for i in items
                if i["kind"] == "proc" and "pid" in i["data"]
            ],
            [Path(i["id"]) for i in items if i["kind"] in ("dir", "file")],
        )

    def leftovers(self) -> list[str]:
        left = [f"netns {n}" for n in self.namespaces if (NETNS_DIR / n).exists()]
        left += [f"process {p.pid}" for p in self.procs if procs.is_ours(p)]
        left += [f"path {p}" for p in self.paths if p.exists()]
        if self.run_dir.exists():
            left.append(f"run dir {self.run_dir}")
        # anything else named after the lab: namespaces and /etc/netns entries it may have made
        left += [f"netns {p.name}" for p in NETNS_DIR.glob(f"{self.name}-*")]
        if ETC_NETNS.is_dir():
            left += [f"path {p}" for p in ETC_NETNS.glob(f"{self.name}-*")]
        return sorted(set(left))


def running_lab(
    topology: Path, force_daemon: str | None = None, prefix: str = "t", timeout: float = 120.0
) -> Iterator[lifecycle.UpResult]:
    """Fixture body: bring a lab up (unique name), yield it, tear it down and check it is gone."""
    need_root()
    name = unique_name(prefix)
    try:
        res = lifecycle.up(topology, name=name, force_daemon=force_daemon, timeout=timeout)
    except BaseException:
        if (lifecycle.run_dir(name) / STATE_FILE).exists():
            lifecycle.down(name)
        raise
    print(f"\nlab {name} ({topology.name}) converged in {res.seconds_to_converged:.1f}s")
    try:
        yield res
    finally:
        foot = Footprint.of(name)
        td = lifecycle.down(name)
        assert not td.errors, td.errors
        assert foot.leftovers() == []
