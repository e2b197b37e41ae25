"""The clab provider: render `<name>.clab.yml`, deploy it, link the node directories.

    /run/anycast-lab/<lab>/state.json           runtime "clab", the deployer, the phase
    /run/anycast-lab/<lab>/<lab>.clab.yml       what containerlab deploys (lab.render.clab)
    /run/anycast-lab/<lab>/<node>/              that node's configs (bound into its container)
    /run/anycast-lab/<lab>/nodes/<node>         -> /proc/<pid>/root/run/anycast-lab/<node>: the
                                                node directory inside the container, where the
                                                BGP daemons' sockets are; the same path inside
                                                the container links there too (ClabRuntime)

Each node's start.sh (lab.render.clab) starts the process stages of lab.daemons.processes, so
the common lifecycle only waits for convergence, reading FRR's and BIRD's sockets through the
`nodes/` links: the same code judges both runtimes. The state file says who deployed the lab
(containerlab, or the docker stand-in with every container and network it made), so `lab down`
in another process destroys it the same way. Nothing is created before containerlab is known
to be installed; a failed deploy is destroyed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lab.errors import LabError
from lab.model.topology import Lab
from lab.orchestrate.handle import LabHandle
from lab.orchestrate.provider import Progress, RuntimeChoice
from lab.render import clab as render_clab
from lab.runtime.base import Teardown
from lab.runtime.clab import mgmt
from lab.runtime.clab.docker_deployer import DockerDeployer
from lab.runtime.clab.runtime import ClabError, ClabRuntime, ContainerlabCLI, Deployer, docker_client
from lab.runtime.state import StateFile


def link_ends(lab: Lab) -> dict[str, list[tuple[str, str]]]:
    return {link.id: [(e.node, e.name) for e in link.ends] for link in lab.links}


def make_deployer(name: str) -> Deployer:
    """containerlab itself, or the docker-SDK stand-in (needs a reachable dockerd)."""
    if name == "docker":
        try:
            return DockerDeployer(docker_client())
        except ClabError as exc:
            raise LabError(str(exc)) from None
    return ContainerlabCLI()


def runtime_for(state: StateFile, lab: Lab, deployer: Deployer | None = None) -> ClabRuntime:
    """The runtime of a deployed lab, with the deployer its state file names."""
    d = Path(state.state.run_dir)
    rt = ClabRuntime(lab.name, d, d / render_clab.topology_file(lab), link_ends(lab), ContainerlabCLI())
    if deployer is None and state.state.deployer == "docker":
        deployer = DockerDeployer.from_state(rt.docker(), state)
    rt.deployer = deployer or rt.deployer
    if isinstance(rt.deployer, DockerDeployer) and rt.deployer.state is None:
        rt.deployer.state = state  # what it creates is recorded in the lab's state file
    return rt


class ClabProvider:
    name = "clab"
    default_timeout = 180.0  # containers: image start and docker execs add to BGP's time

    def check(self, choice: RuntimeChoice) -> None:
        if choice.deployer_name == "containerlab":
            try:
                ContainerlabCLI().require()  # before anything exists
            except ClabError as exc:
                raise LabError(str(exc)) from None

    def new_runtime(self, state: StateFile, lab: Lab, choice: RuntimeChoice) -> ClabRuntime:
        state.state.deployer = choice.deployer_name
        state.save()
        return runtime_for(state, lab, make_deployer(choice.deployer_name))

    def open(self, state: StateFile, lab: Lab) -> ClabRuntime:
        rt = runtime_for(state, lab)
        rt.link_nodes(list(lab.nodes), inside=False)  # a restarted container has a new PID
        return rt

    def build(
        self, h: LabHandle, say: Progress, deadline: float, nodes_exist: Callable[[], list[str]]
    ) -> list[str]:
        rt = h.runtime
        assert isinstance(rt, ClabRuntime)
        say("rendering the containerlab topology")
        try:  # a management subnet no other docker network (another clab lab) uses
            mgmt4, mgmt6 = mgmt.subnets_for_new_lab(rt.docker())
        except (ClabError, RuntimeError) as exc:
            raise LabError(str(exc)) from None
        render_clab.write(h.lab, rt.run_dir, render_clab.ClabOptions(mgmt4=mgmt4, mgmt6=mgmt6))
        say(f"deploying {len(h.lab.nodes)} nodes with {type(rt.deployer).__name__}")
        try:
            rt.create([], [])  # containerlab creates nodes and links from the rendered file
        except Exception as exc:  # ClabError, or docker's own (e.g. APIError "Pool overlaps")
            raise LabError(f"lab {h.name}: deploy failed: {exc}") from None
        rt.link_nodes(list(h.lab.nodes))
        return nodes_exist()  # the containers exist from here

    def destroy(self, state: StateFile, lab: Lab | None) -> Teardown:
        if lab is None:
            raise LabError(f"lab {state.state.lab}: its topology copy is unreadable; destroy it by hand")
        try:
            return runtime_for(state, lab).destroy()
        except ClabError as exc:
            raise LabError(f"lab {state.state.lab}: {exc}") from None
