"""One lifecycle for both runtimes: up (render, create, start, converge), open, down, cleanup.

What is common lives here: the run directory (exclusive: the lab's name is ours while it
exists), the state file (written before anything is created), the copy of the topology the
lab runs, convergence (lab.orchestrate.converge), and teardown of a bring-up that failed, so
nothing is left half-built. The runtime-specific steps are the provider's
(lab.orchestrate.netns, lab.orchestrate.clab).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from lab.errors import LabError
from lab.model.loader import load
from lab.model.shipped import resolve
from lab.orchestrate import capacity
from lab.orchestrate.clab import ClabProvider
from lab.orchestrate.converge import NotConverged, Snapshot, wait_converged
from lab.orchestrate.handle import TOPOLOGY_COPY, LabHandle, resolve_name, run_dir, running
from lab.orchestrate.netns import NetnsProvider
from lab.orchestrate.provider import Progress, Provider, RuntimeChoice
from lab.poll import PollTimeout
from lab.runtime import procs
from lab.runtime.base import Teardown
from lab.runtime.state import STATE_FILE, LabState, StateFile

PROVIDERS: dict[str, Provider] = {p.name: p for p in (NetnsProvider(), ClabProvider())}


def provider(runtime: str) -> Provider:
    try:
        return PROVIDERS[runtime]
    except KeyError:
        raise LabError(f"unknown runtime {runtime!r} (known: {', '.join(PROVIDERS)})") from None


@dataclass
class UpResult:
    handle: LabHandle
    snapshot: Snapshot
    seconds_to_converged: float  # from the start of `up` to the stable pass
    seconds_waiting: float  # of which polling for convergence
    notes: list[str]
    phases: dict[str, float] = field(default_factory=dict)  # step -> seconds since the start


def up(
    topology: str | Path,
    name: str | None = None,
    force_daemon: str | None = None,
    timeout: float | None = None,
    progress: Progress | None = None,
    choice: RuntimeChoice | None = None,
    keep_on_failure: bool = False,
) -> UpResult:
    """Bring a lab up and wait until it has converged. On any failure what was created is
    removed again (unless `keep_on_failure`, to look at it), and LabError says why."""
    choice = choice or RuntimeChoice()
    prov = provider(choice.runtime)
    timeout = timeout if timeout is not None else prov.default_timeout
    t0 = time.monotonic()
    deadline = t0 + timeout
    phases: dict[str, float] = {}

    def say(msg: str) -> None:
        if not msg.startswith("waiting for convergence"):
            phases[msg] = round(time.monotonic() - t0, 2)
        if progress:
            progress(msg)

    path = resolve(topology)
    lab = load(path, force_daemon)
    lab = dataclasses.replace(lab, name=name or lab.name)
    prov.check(choice)
    d = run_dir(lab.name)
    d.parent.mkdir(parents=True, exist_ok=True)
    try:
        d.mkdir()  # exclusive: the lab's name is ours while this directory exists
    except FileExistsError:
        raise LabError(
            f"lab {lab.name!r} exists ({d}): `lab down {lab.name}` or `lab cleanup {lab.name}` first"
        ) from None
    d.chmod(0o755)
    pid = os.getpid()
    state = StateFile(
        d / STATE_FILE,
        LabState(
            lab=lab.name,
            runtime=prov.name,
            run_dir=str(d),
            topology=str(path.resolve()),
            force_daemon=force_daemon,
            controller={"pid": pid, "start": procs.start_time(pid) or 0},
        ),
    )
    state.save()
    shutil.copyfile(path, d / TOPOLOGY_COPY)
    try:
        h = LabHandle(lab, state, prov.new_runtime(state, lab, choice))

        def nodes_exist() -> list[str]:
            # site capacities and load counters, read back; one that did not apply is a note,
            # and the record (capacity.json) says so: the lab never claims a limit the kernel
            # lacks. As soon as the nodes exist: before the daemons load the cores, its
            # `exec`s take a second, not the 20 s they took after 500 routers' bgpd started
            say("site capacity and load counters")
            return [f"capacity not applied: {f}" for f in capacity.failures(capacity.apply(h))]

        notes = prov.build(h, say, deadline, nodes_exist)
        # a step of its own: each step's time is until the next one starts
        say("polling until converged (sessions, OSPF, best paths; two passes agreeing)")
        t_wait = time.monotonic()
        try:
            snap, _ = wait_converged(h, timeout=max(1.0, deadline - t_wait), progress=say)
        except PollTimeout as exc:
            last = exc.last
            detail = (
                str(last)
                if isinstance(last, NotConverged)
                else ("; ".join(last.missing[:8]) if isinstance(last, Snapshot) else str(last))
            )
            raise LabError(f"lab {lab.name} did not converge in {timeout:.0f}s: {detail}") from None
    except BaseException as exc:
        if keep_on_failure:
            raise
        td = _destroy(state)
        left = f"; teardown incomplete: {'; '.join(td.errors)}" if td.errors else "; removed what it made"
        if isinstance(exc, LabError):
            raise LabError(f"{exc}{left}") from None
        raise
    t_done = time.monotonic()
    state.set_phase("up")
    phases["converged"] = round(t_done - t0, 2)
    return UpResult(h, snap, t_done - t0, t_done - t_wait, notes, phases)


def open_lab(name: str | None = None) -> LabHandle:
    """The handle of a running lab (started by this or another process), on its own runtime."""
    name = resolve_name(name)
    state = StateFile.load(run_dir(name) / STATE_FILE)
    # the copy taken at `lab up`: the model the lab runs, even if the YAML changed since
    lab = dataclasses.replace(load(run_dir(name) / TOPOLOGY_COPY, state.state.force_daemon), name=name)
    return LabHandle(lab, state, provider(state.state.runtime).open(state, lab))


def _destroy(st: StateFile) -> Teardown:
    lab = None
    copy = Path(st.state.run_dir) / TOPOLOGY_COPY
    if copy.exists():
        lab = dataclasses.replace(load(copy, st.state.force_daemon), name=st.state.lab)
    st.set_phase("destroying")
    try:
        td = provider(st.state.runtime).destroy(st, lab)
    except LabError as exc:  # e.g. dockerd gone: say so, keep the state file for `lab cleanup`
        return Teardown(errors=[str(exc)])
    if not td.errors:
        shutil.rmtree(st.state.run_dir, ignore_errors=True)
    return td


def down(name: str | None = None) -> Teardown:
    """Tear a lab down on the runtime (and with the deployer) its state file names."""
    name = resolve_name(name)
    return _destroy(StateFile.load(run_dir(name) / STATE_FILE))


def cleanup(name: str | None = None) -> dict[str, Teardown]:
    """With a name: destroy that lab, whatever state it is in. Without: every lab whose `lab up`
    was interrupted (phase still "creating" or "destroying", controller gone)."""
    if name:
        return {name: down(name)}
    out = {}
    for lab in running():
        try:
            st = StateFile.load(run_dir(lab) / STATE_FILE)
        except (OSError, ValueError) as exc:
            raise LabError(f"{run_dir(lab) / STATE_FILE}: unreadable ({exc}); remove it by hand") from None
        ctl = st.state.controller
        alive = bool(ctl) and procs.is_ours(procs.ProcId(ctl["pid"], ctl["start"]))
        if st.state.phase != "up" and not alive:
            out[lab] = _destroy(st)
    return out


__all__ = ["PROVIDERS", "RuntimeChoice", "UpResult", "cleanup", "down", "open_lab", "provider", "up"]
