"""What every `lab` verb shares: the consoles, the one way to choose a runtime, topology
arguments, opening a running lab."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from lab.errors import LabError
from lab.model.shipped import shipped
from lab.orchestrate.provider import DEPLOYERS, RUNTIMES, RuntimeChoice

Subparsers = argparse._SubParsersAction  # argparse's own type for add_subparsers(), not exported

console = Console(stderr=True)  # progress and messages
out = Console()  # results (tables)


def add_topology(p: argparse.ArgumentParser, required: bool = True) -> None:
    names = ", ".join(shipped())
    help_ = f"topology YAML file, or a shipped topology's name ({names})"
    if required:
        p.add_argument("topology", help=help_)
    else:
        p.add_argument("topology", nargs="?", help=help_)
    p.add_argument(
        "--force-daemon",
        choices=("frr", "bird"),
        help="run every router and site on this daemon (FRR/BIRD equivalence checks)",
    )


def add_runtime_options(p: argparse.ArgumentParser, what: str = "the lab it brings up") -> None:
    """--runtime and --clab-deployer, the same for every verb that brings a lab up."""
    p.add_argument("--runtime", choices=RUNTIMES, help=f"where {what} runs (default netns)")
    p.add_argument(
        "--clab-deployer",
        choices=DEPLOYERS,
        help="with --runtime clab: containerlab (default), or docker: the docker-SDK stand-in "
        "for containerlab's linux nodes",
    )


def runtime_choice(args: argparse.Namespace, running_lab: str | None = None) -> RuntimeChoice:
    """The runtime the options ask for. With a running lab (`--name`) they make no sense: it
    runs where it was started; say so rather than ignore them."""
    runtime, deployer = getattr(args, "runtime", None), getattr(args, "clab_deployer", None)
    if running_lab is not None and (runtime or deployer):
        raise LabError(
            f"--runtime/--clab-deployer choose the lab a command brings up; lab {running_lab!r} already runs "
            "on the runtime it was started with: drop them, or drop --name"
        )
    return RuntimeChoice(runtime or "netns", deployer)


def topology_path(arg: str | Path) -> Path:
    from lab.model.shipped import resolve

    return resolve(arg)
