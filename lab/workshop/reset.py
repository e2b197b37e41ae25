"""Put a running lab back to its model, whoever changed it (`lab fault` in a participant's
terminal, the dashboard, a half-done exercise): read what differs, undo exactly that, then
wait until it has converged and every client is where the model puts it.

What is looked at, in this order: processes that died (a killed daemon or node, a stopped DNS
server or agent: started again, a node's links cleared), links set down or lossy, agents in
maintenance (undrained), speakers whose configuration differs from the model's (BIRD: the file
on disk; FRR: fault route-maps and extra `network`s in the running config: a policy fault, ROV,
a hijack). A lab nobody touched is left alone and only checked.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field

from lab.daemons import driver_of
from lab.faults import agent, hijacks, link, policy, process
from lab.faults.base import FaultError
from lab.observe.catchment import measure
from lab.observe.probes import ProbeSet
from lab.orchestrate.converge import wait_converged
from lab.orchestrate.handle import LabHandle
from lab.poll import PollTimeout, wait_until
from lab.predict.changes import catchments
from lab.runtime.base import NotRecorded
from lab.workshop.state import WorkshopState

LOSS_RULE = re.compile(r"^-A LAB-LOSS-(\S+) .*statistic", re.M)
CONVERGE_TIMEOUT = 60.0
CATCHMENT_TIMEOUT = 30.0


@dataclass
class Restored:
    actions: list[str] = field(default_factory=list)
    seconds: float = 0.0


def stop_probes(h: LabHandle, st: WorkshopState) -> bool:
    if st.probe_run is None:
        return False
    ps = ProbeSet(
        h, st.probe_run, 0.0, {n: h.dir / n / f"probe-{st.probe_run}.jsonl" for n in st.probe_nodes}
    )
    with contextlib.suppress(NotRecorded):
        ps.stop()
    for node, path in ps.files.items():  # what the probes wrote, and their logs: ours to remove
        for f in (path, h.dir / node / f"{ps.proc_name}.out"):
            with contextlib.suppress(FileNotFoundError):
                f.unlink()
    st.probe_run, st.probe_nodes = None, []
    return True


def _processes(h: LabHandle, out: list[str]) -> None:
    for node, n in h.lab.nodes.items():
        dead = [p for p in process.node_procs(h, node) if not h.runtime.running(node, p)]
        if not dead:
            continue
        if n.daemon is not None:
            process.restart_node(h, node, dead)  # in start order; the node's links cleared
        else:
            for p in dead:
                process.start_proc(h, node, p)
        out.append(f"started {node}'s {', '.join(dead)} again")


def _links(h: LabHandle, out: list[str]) -> None:
    for lk in h.lab.links:
        if lk.kind != "p2p":
            continue
        a, b = (e.node for e in lk.ends)
        if any(h.runtime.link_state(e.node, e.name) not in ("UP", "UNKNOWN") for e in lk.ends):
            link.link_up(h, a, b)
            out.append(f"link {a}-{b} up")
    lossy: set[str] = set()
    for node, n in h.lab.nodes.items():
        if n.kind not in ("router", "site"):
            continue
        res = h.runtime.exec(node, ["sh", "-c", "iptables-save -t raw; ip6tables-save -t raw"], timeout=20)
        ifnames = set(LOSS_RULE.findall(res.stdout))
        lossy |= {i.link for i in n.ifaces if i.name in ifnames}
    for lk in h.lab.links:
        if lk.id in lossy:
            a, b = (e.node for e in lk.ends)
            link.loss(h, a, b, 0.0)
            out.append(f"loss on {a}-{b} cleared")


def _agents(h: LabHandle, out: list[str]) -> None:
    for site in h.lab.of_kind("site"):
        if not h.runtime.running(site.name, "agent"):
            continue
        status = agent.agent_ctl(h, site.name, "status")
        if status.get("maintenance"):
            agent.undrain(h, site.name)
            out.append(f"{site.name} undrained")


def _frr_running(h: LabHandle, node: str) -> str:
    n = h.lab.nodes[node]
    argv = [*driver_of(n).shell_argv(h.dir / node), "-d", "bgpd", "-c", "show running-config"]
    res = h.runtime.exec(node, argv, timeout=20)
    if res.returncode != 0:
        raise FaultError(f"{node}: vtysh: {res.stderr.strip() or res.stdout.strip()}")
    return res.stdout


def _speakers(h: LabHandle, out: list[str]) -> None:
    render = policy.renderer(h)
    rogue_nets = [str(p) for p in hijacks.hijack_prefixes(h)]
    for node, n in h.lab.nodes.items():
        if n.kind not in ("router", "site") or n.daemon is None:
            continue
        drv = driver_of(n)
        if n.daemon == "bird":
            on_disk = (h.dir / node / drv.config_file).read_text()
            if on_disk != render(n):
                drv.reset_knobs(h, n, n.sessions, render)  # the model's config, reloaded
                out.append(f"{node}: BIRD configuration back to the model's")
            continue
        text = _frr_running(h, node)
        if "LAB-FAULT-" in text:
            drv.reset_knobs(h, n, n.sessions, render)
            out.append(f"{node}: policy faults removed")
        if n.role == "rogue" and any(f"network {p}" in text for p in rogue_nets):
            hijacks.unhijack(h, node)
            out.append(f"{node}: hijack withdrawn")


def restore(h: LabHandle, state: WorkshopState | None = None) -> Restored:
    t0 = time.monotonic()
    res = Restored()
    if state is not None and stop_probes(h, state):
        res.actions.append("the exercise's probes stopped")
    _processes(h, res.actions)
    _links(h, res.actions)
    _agents(h, res.actions)
    _speakers(h, res.actions)
    wait_converged(h, CONVERGE_TIMEOUT)
    model = catchments(h.lab)

    def off() -> list[str]:
        m = measure(h.lab, h.runtime)
        return [
            f"{c}: {p.site}/{p.site6} (model {model.get(c)})"
            for c, p in m.items()
            if p.site != model.get(c) or p.site6 != model.get(c)
        ]

    try:
        wait_until(
            off, lambda left: not left, timeout=CATCHMENT_TIMEOUT, interval=0.3, what="the model's catchment"
        )
    except PollTimeout as exc:
        raise FaultError(f"lab {h.name} converged but not to the model's catchment: {exc.last}") from None
    res.seconds = time.monotonic() - t0
    return res
