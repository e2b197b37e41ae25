"""Running labs for integration tests: unique names, brought up once per module, torn down
exactly, and a check that nothing the lab recorded is left behind.

    @pytest.fixture(scope="module")
    def workshop() -> Iterator[UpResult]:
        yield from running_lab(TOPOLOGIES / "workshop.yml")

The runtime is netns unless pytest ran with `--runtime clab` (tests/conftest.py): then the
lab is deployed as containers, by containerlab, or by the docker-SDK stand-in
(lab.runtime.clab_docker) with `--clab-deployer docker`. Either way the test gets a handle
with the same API (lab.orchestrate.handle.LabHandle), from the one lifecycle
(lab.orchestrate.lifecycle.up with a RuntimeChoice).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lab.orchestrate import lifecycle
from lab.orchestrate.handle import run_dir
from lab.orchestrate.provider import RuntimeChoice
from lab.runtime import procs
from lab.runtime.clab.runtime import LAB_LABEL, find_containerlab
from lab.runtime.netns import ETC_NETNS, NETNS_DIR
from lab.runtime.state import STATE_FILE

ROOT = Path(__file__).resolve().parents[2]
TOPOLOGIES = ROOT / "topologies"
LAB_BIN = ROOT / ".venv" / "bin" / "lab"


@dataclass
class SuiteRuntime:
    runtime: str = "netns"  # or "clab"
    deployer: str = "containerlab"  # clab: or "docker" (the stand-in)


CHOICE = SuiteRuntime()  # set by tests/conftest.py from --runtime / --clab-deployer
CLAB_IMAGES = ["base", "router", "dnsnode", "resolver", "client"]


def configure(runtime: str, deployer: str) -> None:
    CHOICE.runtime, CHOICE.deployer = runtime, deployer


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
        d = run_dir(name)
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


def docker_client() -> Any:
    """dockerd's client, or a skip that says how to get one."""
    try:
        import docker

        client = docker.from_env()
        client.ping()
    except Exception as exc:
        pytest.skip(
            f"dockerd is not reachable ({type(exc).__name__}): start dockerd to run labs as containers"
        )
    return client


def clab_deployer() -> str:
    """containerlab where it is installed (unless --clab-deployer docker); the docker-SDK
    stand-in only when asked for: a test run never silently swaps one for the other."""
    if CHOICE.deployer == "docker":
        return "docker"
    if find_containerlab() is None:
        pytest.skip(
            "containerlab not installed: no `containerlab` or `clab` on PATH "
            "(https://containerlab.dev/install/); "
            "pass --clab-deployer docker to use the docker-SDK stand-in (lab.runtime.clab.docker_deployer)"
        )
    return "containerlab"


def need_images(client: Any) -> None:
    from lab.runtime.clab.images import image_name

    missing = [image_name(i) for i in CLAB_IMAGES if not client.images.list(image_name(i))]
    if missing:
        pytest.skip(f"images missing: {', '.join(missing)}: build them with `make images`")


def running_clab(
    topology: Path,
    force_daemon: str | None = None,
    prefix: str = "t",
    timeout: float = 240.0,
    deployer: str | None = None,
) -> Iterator[lifecycle.UpResult]:
    """running_lab on the clab runtime: deployed, converged, destroyed, checked gone (no
    container or network with the lab's label, no run directory). The deployer is the one
    pytest was asked for, unless `deployer` names one."""
    need_root()
    client = docker_client()
    need_images(client)
    choice = RuntimeChoice("clab", deployer or clab_deployer())
    name = unique_name(prefix)
    try:
        res = lifecycle.up(topology, name, force_daemon, timeout=timeout, choice=choice)
    except BaseException:
        if (run_dir(name) / STATE_FILE).exists():
            lifecycle.down(name)
        raise
    took = res.seconds_to_converged
    print(f"\nlab {name} ({topology.name}) on {choice} converged in {took:.1f}s")
    try:
        yield res
    finally:
        td = lifecycle.down(name)
        assert not td.errors, td.errors
        label = {"label": f"{LAB_LABEL}={name}"}
        left = [f"container {c.name}" for c in client.containers.list(all=True, filters=label)]
        left += [f"network {n.name}" for n in client.networks.list(filters=label)]
        assert left == [] and not run_dir(name).exists(), left


def running_lab(
    topology: Path, force_daemon: str | None = None, prefix: str = "t", timeout: float = 120.0
) -> Iterator[lifecycle.UpResult]:
    """Fixture body: bring a lab up (unique name), yield it, tear it down and check it is gone.
    On the runtime pytest was asked for (--runtime; netns by default)."""
    if CHOICE.runtime == "clab":
        yield from running_clab(topology, force_daemon, prefix, max(timeout, 240.0))
        return
    need_root()
    name = unique_name(prefix)
    try:
        res = lifecycle.up(topology, name=name, force_daemon=force_daemon, timeout=timeout)
    except BaseException:
        if (run_dir(name) / STATE_FILE).exists():
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
