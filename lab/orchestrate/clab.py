"""`lab up --runtime clab` and `lab down` for such a lab: render, deploy, wait, destroy.

    /run/anycast-lab/<lab>/state.json           runtime "clab", the topology, the phase
    /run/anycast-lab/<lab>/<lab>.clab.yml       what containerlab deploys (lab.render.clab)
    /run/anycast-lab/<lab>/<node>/              that node's configs (bound into its container)
    /run/anycast-lab/<lab>/nodes/<node>         -> /proc/<pid>/root/run/anycast-lab/<node>: the
                                                node directory inside the container, where the
                                                BGP daemons' sockets are; the same path inside
                                                the container links there too (ClabRuntime)

The lab's handle is lab.lifecycle.LabHandle with a ClabRuntime (`runtime_for`), so status,
exec, catchment, faults, probes and scenarios use the code they use on netns. The state file
says who deployed the lab (containerlab, or the docker stand-in with every container and
network it made), so `lab down` in another process destroys it the same way.

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
from dataclasses import dataclass
from pathlib import Path

from lab.model.loader import load
from lab.model.topology import Lab
from lab.orchestrate import lifecycle
from lab.orchestrate.lifecycle import LabError, LabHandle, Snapshot, link_specs, run_dir
from lab.poll import PollTimeout
from lab.render import clab as render_clab
from lab.runtime import procs
from lab.runtime.base import Teardown
from lab.runtime.clab import mgmt as clab_mgmt
from lab.runtime.clab.docker_deployer import DockerDeployer
from lab.runtime.clab.runtime import NODES_DIR, ClabError, ClabRuntime, ContainerlabCLI, Deployer
from lab.runtime.state import STATE_FILE, LabState, StateFile

RUNTIME = "clab"
DEPLOYERS = ("containerlab", "docker")
Progress = Callable[[str], None]
__all__ = ["NODES_DIR", "ClabHandle", "ClabUp", "down", "is_clab", "runtime_for", "up"]


def link_ends(lab: Lab) -> dict[str, list[tuple[str, str]]]:
    return {link.id: [(e.node, e.name) for e in link.ends] for link in lab.links}


ClabHandle = LabHandle  # a clab lab's handle: lab.lifecycle's, with a ClabRuntime


def deployer_name(deployer: Deployer) -> str:
    return "docker" if isinstance(deployer, DockerDeployer) else "containerlab"


def runtime_for(state: StateFile, lab: Lab, deployer: Deployer | None = None) -> ClabRuntime:
    """The runtime of a deployed lab, with the deployer its state file names."""
    d = Path(state.state.run_dir)
    rt = ClabRuntime(lab.name, d, d / render_clab.topology_file(lab), link_ends(lab), ContainerlabCLI())
    if deployer is None and state.state.deployer == "docker":
        deployer = DockerDeployer.from_state(rt.docker(), state)
    rt.deployer = deployer or rt.deployer
    return rt


@dataclass
class ClabUp:
    handle: LabHandle
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
            deployer=deployer_name(deployer),
        ),
    )  # fmt: skip
    state.save()
    if isinstance(deployer, DockerDeployer) and deployer.state is None:
        deployer.state = state  # what it creates is recorded in the lab's state file
    shutil.copyfile(topology, d / lifecycle.TOPOLOGY_COPY)
    say("rendering the containerlab topology")
    runtime = runtime_for(state, lab, deployer)
    try:  # a management subnet no other docker network (another clab lab) uses
        options = clab_mgmt.options_for_new_lab(runtime.docker())
    except (ClabError, RuntimeError) as exc:
        shutil.rmtree(d, ignore_errors=True)
        raise LabError(str(exc)) from None
    render_clab.write(lab, d, options)
    h = LabHandle(lab, state, runtime)
    say(f"deploying {len(lab.nodes)} nodes with {type(deployer).__name__}")
    try:
        runtime.create([], link_specs(lab))
    except Exception as exc:  # ClabError, or docker's own (e.g. APIError "Pool overlaps")
        shutil.rmtree(d, ignore_errors=True)  # the deployer already removed what it made
        raise LabError(f"lab {lab.name}: deploy failed: {exc}") from None
    runtime.link_nodes(list(lab.nodes))
    try:
        snap, _ = lifecycle.wait_converged(
            h, timeout=max(1.0, timeout - (time.monotonic() - t0)), progress=say
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
    """Destroy with the deployer that deployed it (from the state file unless given)."""
    state = StateFile.load(run_dir(name) / STATE_FILE)
    lab = load(run_dir(name) / lifecycle.TOPOLOGY_COPY, state.state.force_daemon)
    lab = dataclasses.replace(lab, name=name)
    d = Path(state.state.run_dir)
    state.set_phase("destroying")
    try:
        runtime = runtime_for(state, lab, deployer)
        td = runtime.destroy()
    except ClabError as exc:
        raise LabError(f"lab {name}: {exc}") from None
    if not td.errors:
        shutil.rmtree(d, ignore_errors=True)
    return td
