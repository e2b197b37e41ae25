"""The netns provider: render into the run directory, create namespaces and links, start the
process stages of lab.daemons.processes, each once the one before is ready (the sites' DNS
servers once the hidden primary's has started: its DNS driver's ready files)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from lab.daemons import driver_of, processes
from lab.daemons.dns import dns_driver_of
from lab.errors import LabError
from lab.model.topology import Lab
from lab.orchestrate.converge import wait_primary_routes
from lab.orchestrate.handle import LabHandle
from lab.orchestrate.provider import Progress, RuntimeChoice
from lab.orchestrate.specs import link_specs, node_specs
from lab.poll import PollTimeout, wait_until
from lab.render import RenderOptions, write
from lab.runtime.base import Teardown
from lab.runtime.netns import NetnsRuntime, destroy
from lab.runtime.state import StateFile


def wait_files(h: LabHandle, paths: list[Path], what: str, timeout: float = 20.0) -> None:
    """Until every path exists; a process of the lab that exited meanwhile fails it at once."""

    def missing() -> list[str]:
        dead = [f"{p.node}/{p.name}" for p in h.runtime.processes() if not p.alive]
        if dead:
            raise LabError(f"processes exited: {', '.join(dead)} (see {h.dir}/<node>/<name>.out)")
        return [str(p) for p in paths if not p.exists()]

    try:
        wait_until(missing, lambda m: not m, timeout=timeout, what=what)
    except PollTimeout as exc:
        raise LabError(f"lab {h.name}: {what}: still missing {exc.last}") from None


class NetnsProvider:
    name = "netns"
    default_timeout = 120.0

    def check(self, choice: RuntimeChoice) -> None:
        return None

    def new_runtime(self, state: StateFile, lab: Lab, choice: RuntimeChoice) -> NetnsRuntime:
        return NetnsRuntime(state)

    def open(self, state: StateFile, lab: Lab) -> NetnsRuntime:
        return NetnsRuntime(state)

    def build(
        self, h: LabHandle, say: Progress, deadline: float, nodes_exist: Callable[[], list[str]]
    ) -> list[str]:
        lab, d = h.lab, h.dir
        say("rendering configs")
        write(lab, d, RenderOptions(state_root=PurePosixPath(d)))
        speakers = [n for n in lab.nodes.values() if n.daemon is not None]
        for n in lab.nodes.values():
            (d / n.name).mkdir(exist_ok=True)
        for n in speakers:
            user = driver_of(n).run_user
            if user:  # it drops privileges and writes its logs in the node directory
                shutil.chown(d / n.name, user, user)

        say(f"creating {len(lab.nodes)} namespaces and {len(lab.links)} links")
        h.runtime.create(node_specs(lab, d), link_specs(lab))
        notes = nodes_exist()

        stages = processes.stages(lab, d)
        say("starting zebra, BIRD, Unbound, the primary's DNS server")
        h.runtime.start(stages.base)
        wait_files(h, [p for n in speakers for p in driver_of(n).base_ready(d / n.name)], "zebra ready")
        say("starting bgpd")
        h.runtime.start(stages.bgp)
        wait_files(h, [driver_of(n).control_socket(d / n.name) for n in speakers], "BGP speakers ready")
        say("waiting for the sites' routes to the primary")
        try:
            wait_primary_routes(h, timeout=max(1.0, deadline - time.monotonic()))
        except PollTimeout as exc:
            raise LabError(f"lab {lab.name}: sites without a route to the primary: {exc.last}") from None
        servers = [n for n in lab.nodes.values() if n.dns_server is not None and not n.runs_agent]
        ready = [p for n in servers for p in dns_driver_of(n).ready_files(d / n.name)]
        wait_files(h, ready, "the primary's DNS server started")
        say("starting the sites' DNS servers and agents")
        h.runtime.start(stages.services)
        return notes + list(h.runtime.capabilities().notes)

    def destroy(self, state: StateFile, lab: Lab | None) -> Teardown:
        return destroy(state)
