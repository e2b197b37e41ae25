"""The per-runtime hooks of one lifecycle (as netlab's providers): lab.orchestrate.lifecycle
does what is common (run directory, state file, convergence, teardown on failure) and asks the
lab's provider for the rest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from lab.errors import LabError
from lab.model.topology import Lab
from lab.orchestrate.handle import LabHandle
from lab.runtime.base import Runtime, Teardown
from lab.runtime.state import StateFile

Progress = Callable[[str], None]
RUNTIMES = ("netns", "clab")
DEPLOYERS = ("containerlab", "docker")


@dataclass(frozen=True)
class RuntimeChoice:
    """Where a new lab runs: netns (default), or clab deployed by containerlab or by the
    docker-SDK stand-in (lab.runtime.clab.docker_deployer). The one place both are checked."""

    runtime: str = "netns"
    deployer: str | None = None  # clab only; None: containerlab

    def __post_init__(self) -> None:
        if self.runtime not in RUNTIMES:
            raise LabError(f"runtime {self.runtime!r}: use one of {', '.join(RUNTIMES)}")
        if self.deployer is not None and self.deployer not in DEPLOYERS:
            raise LabError(f"deployer {self.deployer!r}: use one of {', '.join(DEPLOYERS)}")
        if self.deployer is not None and self.runtime != "clab":
            raise LabError(f"--clab-deployer {self.deployer} needs --runtime clab")

    @property
    def deployer_name(self) -> str:
        return (self.deployer or "containerlab") if self.runtime == "clab" else ""

    def __str__(self) -> str:
        return self.runtime + (f" ({self.deployer_name})" if self.runtime == "clab" else "")


class Provider(Protocol):
    name: str  # the state file's `runtime`
    default_timeout: float  # seconds from `lab up` to converged

    def check(self, choice: RuntimeChoice) -> None:
        """Before anything exists: refuse (LabError, with the fix) what cannot work here."""
        ...

    def new_runtime(self, state: StateFile, lab: Lab, choice: RuntimeChoice) -> Runtime: ...

    def build(
        self, h: LabHandle, say: Progress, deadline: float, nodes_exist: Callable[[], list[str]]
    ) -> list[str]:
        """Render, create, start (up to the BGP speakers and agents); returns notes for the
        user (e.g. a capability this kernel lacks), `nodes_exist`'s among them: called once,
        as soon as every node and link exists (the lifecycle's work inside the nodes)."""
        ...

    def open(self, state: StateFile, lab: Lab) -> Runtime:
        """The runtime of a lab another process brought up."""
        ...

    def destroy(self, state: StateFile, lab: Lab | None) -> Teardown: ...
