"""`lab up --runtime clab` and `lab down` for such a lab: render, deploy, wait, destroy.

    /run/anycast-lab/<lab>/state.json           runtime "clab", the topology, the phase
    /run/anycast-lab/<lab>/<lab>.clab.yml       what containerlab deploys (lab.render.clab)
    /run/anycast-lab/<lab>/<node>/              that node's configs (bound into its container)
    /run/anycast-lab/<lab>/nodes/<node>         -> /proc/<pid>/root/run/anycast-lab/<node>: the
                                                node directory inside the container, where the
                                                BGP daemons' sockets are

Convergence is lab.lifecycle's own check (every session Established, every router with a best
path, every site heard, two stable passes), reading FRR's and BIRD's sockets through the
`nodes/` links: the same code judges both runtimes.

Nothing is created before containerlab is known to be installed; a failed deploy is destroyed.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from lab import lifecycle
from lab.bgpstate import Speaker, speakers
from lab.lifecycle import LabError, LabHandle, Snapshot, link_specs, run_dir
from lab.loader import load
from lab.poll import PollTimeout
from lab.render import clab as render_clab
from lab.runtime import procs
from lab.runtime.base import Teardown
from lab.runtime.clab import ClabError, ClabRuntime, ContainerlabCLI, Deployer
from lab.runtime.state import STATE_FILE, LabState, StateFile
from lab.topology import Lab

RUNTIME = "clab"
NODES_DIR = "nodes"
Progress = Callable[[str], None]


def link_ends(lab: Lab) -> dict[str, list[tuple[str, str]]]:
    return {link.id: [(e.node, e.name) for e in link.ends] for link in lab.links}


@dataclass
class ClabHandle:
    """What lab.lifecycle's convergence check reads: the model and the BGP speakers."""

    lab: Lab
    runtime: ClabRuntime
    dir: Path
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.lab.name

    def link_nodes(self) -> None:
        """nodes/<node> -> the node directory inside its container (by the container's PID)."""
        nodes = self.dir / NODES_DIR
        nodes.mkdir(exist_ok=True)
        for n in self.lab.nodes:
            target = f"/proc/{self.runtime.pid(n)}/root{render_clab.NODE_ROOT}/{n}"
            link = nodes / n
            if link.is_symlink():
                link.unlink()
            link.symlink_to(target)

    def speakers(self) -> list[Speaker]:
        return speakers(self.lab, self.dir / NODES_DIR)


@dataclass
class ClabUp:
    handle: ClabHandle
    snapshot: Snapshot
    seconds_to_converged: float


def is_clab(name: str) -> bool:
    path = run_dir(name) / STATE_FILE
    return path.exists() and StateFile.load(path).state.runtime == RUNTIME


def up(
    topology: Path,
    name: str | None = None,
    force_daemon: str | None = None,
    timeout: float = 180.0,
    progress: Progress | None = None,
    deployer: Deployer | None = None,
) -> ClabUp:
    t0 = time.monotonic()
    say = progress or (lambda _m: None)
    deployer = deployer or ContainerlabCLI()
    try:
        if isinstance(deployer, ContainerlabCLI):
            deployer.require()  # before anything exists
    except ClabError as exc:
        raise LabError(str(exc)) from None
    lab = load(topology, force_daemon)
    lab = dataclasses.replace(lab, name=name or lab.name)
    d = run_dir(lab.name)
    d.parent.mkdir(parents=True, exist_ok=True)
    try:
        d.mkdir()
    except FileExistsError:
        raise LabError(f"lab {lab.name!r} exists ({d}): `lab down {lab.name}` first") from None
    pid = os.getpid()
    state = StateFile(
        d / STATE_FILE,
        LabState(
            lab=lab.name, runtime=RUNTIME, run_dir=str(d), topology=str(Path(topology).resolve()),
            force_daemon=force_daemon, controller={"pid": pid, "start": procs.start_time(pid) or 0},
        ),
    )  # fmt: skip
    state.save()
    shutil.copyfile(topology, d / lifecycle.TOPOLOGY_COPY)
    say("rendering the containerlab topology")
    render_clab.write(lab, d)
    runtime = ClabRuntime(lab.name, d, d / render_clab.topology_file(lab), link_ends(lab), deployer)
    h = ClabHandle(lab, runtime, d)
    say(f"deploying {len(lab.nodes)} nodes with {type(deployer).__name__}")
    try:
        runtime.create([], link_specs(lab))
    except ClabError as exc:
        shutil.rmtree(d, ignore_errors=True)  # the deployer already removed what it made
        raise LabError(str(exc)) from None
    h.link_nodes()
    try:
        snap, _ = lifecycle.wait_converged(
            cast(LabHandle, h), timeout=max(1.0, timeout - (time.monotonic() - t0)), progress=say
        )
    except PollTimeout as exc:
        last = exc.last
        detail = "; ".join(last.missing[:8]) if isinstance(last, Snapshot) else str(last)
        raise LabError(
            f"lab {lab.name} did not converge in {timeout:.0f}s: {detail} "
            f"(it is still deployed: `lab down {lab.name}`)"
        ) from None
    state.set_phase("up")
    return ClabUp(h, snap, time.monotonic() - t0)


def down(name: str, deployer: Deployer | None = None) -> Teardown:
    state = StateFile.load(run_dir(name) / STATE_FILE)
    lab = load(run_dir(name) / lifecycle.TOPOLOGY_COPY, state.state.force_daemon)
    lab = dataclasses.replace(lab, name=name)
    d = Path(state.state.run_dir)
    state.set_phase("destroying")
    runtime = ClabRuntime(
        name, d, d / render_clab.topology_file(lab), link_ends(lab), deployer or ContainerlabCLI()
    )
    td = runtime.destroy()
    if not td.errors:
        shutil.rmtree(d, ignore_errors=True)
    return td
