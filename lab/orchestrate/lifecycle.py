"""The lab lifecycle: up (render, create, start, converge), status, down, cleanup.

This is where the lab's knowledge meets the runtime: which processes a router, a site, a
resolver or the primary runs, in what order, and what "converged" means. The runtime only
creates what it is told to (lab.runtime.base).

    /run/anycast-lab/<lab>/state.json   what exists (lab.runtime.state)
    /run/anycast-lab/<lab>/<node>/      rendered configs, sockets, logs of that node
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from lab.daemons.state import BestPath, SessionState, Speaker, speakers
from lab.model.loader import load
from lab.model.topology import Lab, Node
from lab.poll import PollTimeout, wait_until
from lab.render import RenderOptions, write
from lab.runtime import procs
from lab.runtime.base import EndSpec, LinkSpec, NodeSpec, ProcSpec, Teardown
from lab.runtime.clab.runtime import ClabRuntime
from lab.runtime.netns import PARALLEL, NetnsRuntime, destroy
from lab.runtime.state import STATE_FILE, LabState, StateFile

RUN_ROOT = Path("/run/anycast-lab")
TOPOLOGY_COPY = "topology.yml"
FRR_BIN = Path("/usr/lib/frr")
Progress = Callable[[str], None]


class LabError(RuntimeError):
    """A lifecycle step failed; the message says what to do next."""


def _bin(name: str) -> str:
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else (shutil.which(name) or name)


# -- finding labs ------------------------------------------------------------------------
def run_dir(name: str) -> Path:
    return RUN_ROOT / name


def running() -> list[str]:
    if not RUN_ROOT.is_dir():
        return []
    return sorted(d.name for d in RUN_ROOT.iterdir() if (d / STATE_FILE).exists())


def resolve_name(name: str | None) -> str:
    if name:
        if not (run_dir(name) / STATE_FILE).exists():
            raise LabError(
                f"no lab named {name!r} ({run_dir(name) / STATE_FILE} is missing); running: {running()}"
            )
        return name
    labs = running()
    if len(labs) == 1:
        return labs[0]
    if not labs:
        raise LabError("no lab is running (nothing under /run/anycast-lab); start one with `lab up TOPO`")
    raise LabError(f"several labs are running ({', '.join(labs)}): name one with --name")


@dataclass
class LabHandle:
    """A running (or half-built) lab: the model, its state file and its runtime (netns, or
    clab: lab.runtime.clab_lifecycle). Everything above the runtime goes through this."""

    lab: Lab
    state: StateFile
    runtime: NetnsRuntime | ClabRuntime

    @property
    def name(self) -> str:
        return self.lab.name

    @property
    def dir(self) -> Path:
        """Node directories (<dir>/<node>/): the same path on the host and inside the node."""
        return self.runtime.nodes_dir

    def speakers(self) -> list[Speaker]:
        return speakers(self.lab, self.dir)

    @classmethod
    def open(cls, name: str | None = None) -> LabHandle:
        name = resolve_name(name)
        state = StateFile.load(run_dir(name) / STATE_FILE)
        # the copy taken at `lab up`: the model the lab runs, even if the YAML changed since
        lab = dataclasses.replace(load(run_dir(name) / TOPOLOGY_COPY, state.state.force_daemon), name=name)
        if state.state.runtime == "clab":
            from lab.orchestrate import clab as clab_lifecycle  # imports this module

            rt = clab_lifecycle.runtime_for(state, lab)
            rt.link_nodes(list(lab.nodes), inside=False)  # a restarted container has a new PID
            return cls(lab, state, rt)
        return cls(lab, state, NetnsRuntime(state))


# -- what runs where ---------------------------------------------------------------------
def node_specs(lab: Lab, d: Path) -> list[NodeSpec]:
    out = []
    for n in lab.nodes.values():
        loop = list(n.loopback_addresses) + (lab.service_addresses if n.serves_service else [])
        gws = [str(g) for g in (n.gateway4, n.gateway6) if g is not None]
        resolv = (d / n.name / "resolv.conf").read_text() if n.kind == "client" else None
        out.append(NodeSpec(n.name, loop, n.kind == "router", gws, resolv))
    return out


def link_specs(lab: Lab) -> list[LinkSpec]:
    return [
        LinkSpec(
            link.id,
            link.kind,
            [EndSpec(e.node, e.name, [str(e.addr4), str(e.addr6)]) for e in link.ends],
            link.latency_ms,
            link.loss_pct,
        )
        for link in lab.links
    ]


def _proc(n: Node, d: Path, name: str, argv: list[str]) -> ProcSpec:
    nd = d / n.name
    return ProcSpec(n.name, name, argv, nd, nd / f"{name}.out")


def frr_daemon(n: Node, d: Path, daemon: str) -> ProcSpec:
    """An FRR daemon whose every path is in the node directory: vty socket, zserv, pid, log
    (no -N pathspace, so nothing lands under /var/run/frr). Each daemon reads the whole
    frr.conf and applies its own part."""
    nd = d / n.name
    argv = [
        str(FRR_BIN / daemon),
        "-f", str(nd / "frr.conf"),
        "--vty_socket", str(nd),
        "-z", str(nd / "zserv.api"),
        "-i", str(nd / f"{daemon}.pid"),
        "--log", f"file:{nd / daemon}.log",
        "-P", "0",  # no TCP vty
    ]  # fmt: skip
    if daemon in ("zebra", "bgpd"):  # bfdd refuses -e ("invalid option") and exits
        # one best path, no ECMP: the catchment is what BGP chose (as lab.catchment predicts),
        # not what a flow hash picked among equal routes
        argv += ["-e", "1"]
    return _proc(n, d, daemon, argv)


def first_procs(lab: Lab, d: Path) -> list[ProcSpec]:
    """Everything that needs nothing else running: zebra, BIRD, dnsnode, Unbound."""
    out = []
    for n in lab.nodes.values():
        nd = d / n.name
        if n.kind in ("router", "site"):
            if n.daemon == "frr":
                out.append(frr_daemon(n, d, "zebra"))
            else:
                argv = [
                    "bird",
                    "-f",
                    "-c",
                    str(nd / "bird.conf"),
                    "-s",
                    str(nd / "bird.ctl"),
                    "-P",
                    str(nd / "bird.pid"),
                ]
                out.append(_proc(n, d, "bird", argv))
        if n.kind == "primary" or (n.kind == "router" and n.role == "rogue"):
            out.append(
                _proc(n, d, "dnsnode", [_bin("dnsnode"), "serve", "--config", str(nd / "dnsnode.yml")])
            )
        if n.kind == "resolver":
            out.append(_proc(n, d, "unbound", ["unbound", "-d", "-c", str(nd / "unbound.conf")]))
    return out


def frr_procs(lab: Lab, d: Path) -> list[ProcSpec]:
    out = []
    for n in lab.nodes.values():
        if n.kind in ("router", "site") and n.daemon == "frr":
            out.append(frr_daemon(n, d, "bgpd"))
            if n.bfd:
                out.append(frr_daemon(n, d, "bfdd"))
    return out


def site_procs(lab: Lab, d: Path) -> list[ProcSpec]:
    """Each site's dnsnode and agent (the agent waits for dnsnode to answer before announcing)."""
    out = []
    for n in lab.of_kind("site"):
        nd = d / n.name
        out.append(_proc(n, d, "dnsnode", [_bin("dnsnode"), "serve", "--config", str(nd / "dnsnode.yml")]))
        out.append(_proc(n, d, "agent", [_bin("dnsnode"), "agent", "--config", str(nd / "agent.yml")]))
    return out


agent_procs = site_procs  # the name lab/render/clab.py uses for the last start stage


def wait_primary_routes(h: LabHandle, timeout: float) -> float:
    """Until every site's speaker has a route to the hidden primary's LAN: a site's dnsnode
    started before that would fail its first transfer and wait out its retry timer (5 s)."""
    lan = next((link for link in h.lab.links if h.lab.primary4 and link.prefix4.supernet_of(
        ipaddress.IPv4Network(h.lab.primary4))), None)  # fmt: skip
    if lan is None:
        return 0.0
    sites = [sp for sp in h.speakers() if sp.node.kind == "site"]
    prefixes = [str(lan.prefix4), str(lan.prefix6)]

    def missing() -> list[str]:
        return [f"{sp.node.name} {p}" for sp in sites for p in prefixes if sp.best(p).as_path is None]

    return wait_until(
        missing, lambda m: not m, timeout=timeout, interval=0.1, what="routes to the primary"
    ).elapsed


# -- convergence -------------------------------------------------------------------------
@dataclass
class Snapshot:
    sessions: list[SessionState] = field(default_factory=list)
    best: dict[str, dict[str, BestPath]] = field(default_factory=dict)  # node -> prefix -> best
    errors: dict[str, str] = field(default_factory=dict)  # node -> why it could not be read
    missing: list[str] = field(default_factory=list)  # why not converged

    @property
    def converged(self) -> bool:
        return not self.missing

    def paths(self) -> dict[str, dict[str, list[int] | None]]:
        return {
            n: {p: (list(b.as_path) if b.as_path is not None else None) for p, b in per.items()}
            for n, per in self.best.items()
        }


def snapshot(h: LabHandle) -> Snapshot:
    """One pass over every speaker (in parallel): sessions, and best paths for the service."""
    svc = h.lab.service
    prefixes = [str(svc.prefix4), str(svc.prefix6)]
    snap = Snapshot()

    def one(sp: Speaker) -> tuple[str, list[SessionState], dict[str, BestPath], str | None]:
        try:
            return sp.node.name, sp.sessions(), {p: sp.best(p) for p in prefixes}, None
        except Exception as exc:  # a daemon still starting refuses its socket
            return sp.node.name, [], {}, f"{type(exc).__name__}: {exc}"

    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(one, h.speakers()))
    for node, sessions, best, err in results:
        snap.sessions += sessions
        snap.best[node] = best
        if err:
            snap.errors[node] = err
            snap.missing.append(f"{node}: {err}")
            continue
        want = 2 * len(h.lab.nodes[node].sessions)
        down = [f"{s.peer}/{s.afi}={s.state}" for s in sessions if not s.up]
        if down or len(sessions) != want:
            snap.missing.append(
                f"{node}: sessions {len(sessions) - len(down)}/{want} up {' '.join(down[:4])}"
            )
        if h.lab.nodes[node].kind == "router":
            nobest = [p for p, b in best.items() if b.as_path is None]
            if nobest:
                snap.missing.append(f"{node}: no route to {' '.join(nobest)}")
    # every site announces: each is heard by at least one of its upstreams
    for site in h.lab.of_kind("site"):
        ups = {s.peer for s in site.sessions}
        for p in prefixes:
            if not any(
                site.name in snap.best.get(u, {}).get(p, BestPath(u, p, None, 0)).from_peers for u in ups
            ):
                snap.missing.append(f"{site.name}: {p} not heard by its upstreams (agent not announcing)")
    return snap


def wait_converged(h: LabHandle, timeout: float, progress: Progress | None = None) -> tuple[Snapshot, float]:
    """Poll until every session is Established, every router has a best path for both service
    prefixes, every site is heard, and two consecutive passes agree on every best path."""
    previous: list[dict[str, Any]] = [{}]

    def probe() -> Snapshot:
        snap = snapshot(h)
        if progress:
            why = f" (e.g. {snap.missing[0]})" if snap.missing else ", checking stability"
            progress(f"waiting for convergence: {len(snap.missing)} things missing{why}")
        return snap

    def ok(snap: Snapshot) -> bool:
        stable = snap.converged and snap.paths() == previous[0]
        previous[0] = snap.paths() if snap.converged else {}
        return stable

    res = wait_until(probe, ok, timeout=timeout, interval=0.2, what=f"lab {h.name} converged")
    return res.value, res.elapsed


# -- up / down ---------------------------------------------------------------------------
@dataclass
class UpResult:
    handle: LabHandle
    snapshot: Snapshot
    seconds_to_converged: float  # from the start of `up` to the stable pass
    seconds_waiting: float  # of which polling for convergence
    notes: list[str]
    phases: dict[str, float] = field(default_factory=dict)  # step -> seconds since the start


def _wait_files(paths: list[Path], h: LabHandle, what: str, timeout: float = 20.0) -> None:
    def missing() -> list[str]:
        dead = [f"{p.node}/{p.name}" for p in h.runtime.processes() if not p.alive]
        if dead:
            raise LabError(f"processes exited: {', '.join(dead)} (see {h.dir}/<node>/<name>.out)")
        return [str(p) for p in paths if not p.exists()]

    try:
        wait_until(missing, lambda m: not m, timeout=timeout, what=what)
    except PollTimeout as exc:
        if isinstance(exc.last, LabError):
            raise exc.last from None
        raise


def up(
    topology: Path,
    name: str | None = None,
    force_daemon: str | None = None,
    timeout: float = 120.0,
    progress: Progress | None = None,
) -> UpResult:
    t0 = time.monotonic()
    phases: dict[str, float] = {}

    def say(msg: str) -> None:
        if not msg.startswith("waiting for convergence"):
            phases[msg] = round(time.monotonic() - t0, 2)
        if progress:
            progress(msg)

    lab = load(topology, force_daemon)
    lab = dataclasses.replace(lab, name=name or lab.name)
    d = run_dir(lab.name)
    RUN_ROOT.mkdir(parents=True, exist_ok=True)
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
            lab=lab.name, runtime="netns", run_dir=str(d), topology=str(Path(topology).resolve()),
            force_daemon=force_daemon, controller={"pid": pid, "start": procs.start_time(pid) or 0},
        ),
    )  # fmt: skip
    state.save()
    h = LabHandle(lab, state, NetnsRuntime(state))

    say("rendering configs")
    shutil.copyfile(topology, d / TOPOLOGY_COPY)
    write(lab, d, RenderOptions(state_root=PurePosixPath(d)))
    for n in lab.nodes.values():
        (d / n.name).mkdir(exist_ok=True)
        if n.daemon == "frr":  # FRR drops to user frr: it writes logs in the node directory
            shutil.chown(d / n.name, "frr", "frr")

    say(f"creating {len(lab.nodes)} namespaces and {len(lab.links)} links")
    h.runtime.create(node_specs(lab, d), link_specs(lab))

    say("starting zebra, BIRD, Unbound, the primary")
    h.runtime.start(first_procs(lab, d))
    frr = [n for n in lab.nodes.values() if n.daemon == "frr"]
    _wait_files([d / n.name / "zserv.api" for n in frr], h, "zebra ready")
    say("starting bgpd")
    h.runtime.start(frr_procs(lab, d))
    socks = [d / n.name / "bgpd.vty" for n in frr]
    socks += [d / n.name / "bird.ctl" for n in lab.nodes.values() if n.daemon == "bird"]
    _wait_files(socks, h, "BGP speakers ready")
    say("waiting for the sites' routes to the primary")
    try:
        wait_primary_routes(h, timeout=max(1.0, timeout - (time.monotonic() - t0)))
    except PollTimeout as exc:
        raise LabError(f"lab {lab.name}: sites without a route to the primary: {exc.last}") from None
    say("starting the sites' dnsnode and agent")
    h.runtime.start(site_procs(lab, d))

    t_wait = time.monotonic()
    try:
        snap, _ = wait_converged(h, timeout=max(1.0, timeout - (t_wait - t0)), progress=say)
    except PollTimeout as exc:
        last = exc.last
        detail = "; ".join(last.missing[:8]) if isinstance(last, Snapshot) else str(last)
        raise LabError(f"lab {lab.name} did not converge in {timeout:.0f}s: {detail}") from None
    t_done = time.monotonic()
    state.set_phase("up")
    notes = list(h.runtime.capabilities().notes)
    phases["converged"] = round(t_done - t0, 2)
    return UpResult(h, snap, t_done - t0, t_done - t_wait, notes, phases)


def _destroy(st: StateFile) -> Teardown:
    if st.state.runtime == "clab":
        from lab.orchestrate import clab as clab_lifecycle  # imports this module

        return clab_lifecycle.down(st.state.lab)
    return destroy(st)


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
