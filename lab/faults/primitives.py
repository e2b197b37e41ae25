"""Fault primitives: each does one thing to a running lab, returns the CLOCK_MONOTONIC time
of the event, and can be undone.

    ev = faults.link_down(h, "ta1", "ams")      # FaultEvent(mono=..., undo=...)
    ...
    ev.undo()                                   # the opposite fault, with its own timestamp

Everything goes through the runtime contract (set_link, impair, exec, start, running, stop):
a process is signalled by the PID and start time its runtime recorded when it started it
(netns: the lab's state file; clab: a record inside the node's container), never by a name
pattern, so the same scenario runs on netns and on containerlab. Routing-policy faults
(prepend, MED, local-pref, communities) live in lab/faults_policy.py.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lab.orchestrate import lifecycle
from lab.poll import PollTimeout, wait_until
from lab.runtime.base import NotRecorded, ProcSpec


class FaultError(RuntimeError):
    pass


@dataclass
class FaultEvent:
    name: str  # e.g. "link_down ta1-ams"
    mono: float  # CLOCK_MONOTONIC just before the action
    done: float  # CLOCK_MONOTONIC when the action returned
    undo_fn: Callable[[], FaultEvent] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def undo(self) -> FaultEvent:
        if self.undo_fn is None:
            raise FaultError(f"{self.name} cannot be undone")
        return self.undo_fn()

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "mono": round(self.mono, 6), "done": round(self.done, 6), **self.details}


def _timed(
    name: str, action: Callable[[], Any], undo: Callable[[], FaultEvent] | None, **details: Any
) -> FaultEvent:
    t0 = time.monotonic()
    action()
    return FaultEvent(name, t0, time.monotonic(), undo, details)


# -- links -------------------------------------------------------------------------------
def link_between(h: Any, a: str, b: str) -> str:
    for link in h.lab.links:
        if {e.node for e in link.ends} == {a, b}:
            return str(link.id)
    raise FaultError(f"no link between {a} and {b} in lab {h.name}")


def link_down(h: Any, a: str, b: str) -> FaultEvent:
    link = link_between(h, a, b)
    return _timed(
        f"link_down {a}-{b}", lambda: h.runtime.set_link(link, up=False), lambda: link_up(h, a, b), link=link
    )


def link_up(h: Any, a: str, b: str) -> FaultEvent:
    link = link_between(h, a, b)
    return _timed(
        f"link_up {a}-{b}", lambda: h.runtime.set_link(link, up=True), lambda: link_down(h, a, b), link=link
    )


def loss(h: Any, a: str, b: str, pct: float) -> FaultEvent:
    """Random loss on both ends' ingress (iptables statistic). Latency cannot be faked: the
    netns runtime has no netem on this kernel (runtime.capabilities().netem)."""
    link = link_between(h, a, b)
    return _timed(f"loss {pct:g}% {a}-{b}", lambda: h.runtime.impair(link, loss_pct=pct),
                  lambda: loss(h, a, b, 0.0), link=link, loss_pct=pct)  # fmt: skip


# -- processes ---------------------------------------------------------------------------
def running(h: Any, node: str, name: str) -> bool:
    return bool(h.runtime.running(node, name))


def _items(h: Any, node: str, name: str) -> list[str]:
    """For callers written before runtime.running (lab/ansible): non-empty while it runs."""
    return [f"{node}/{name}"] if running(h, node, name) else []


def stop_proc(h: Any, node: str, name: str, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    """Signal a recorded process (its group) and wait until it is gone (the runtime's stop)."""
    try:
        h.runtime.stop(node, name, sig, timeout)
    except NotRecorded:
        raise FaultError(f"no running process {node}/{name} recorded in lab {h.name}") from None


def proc_spec(h: Any, node: str, name: str) -> ProcSpec:
    lab, d = h.lab, h.dir
    for spec in lifecycle.first_procs(lab, d) + lifecycle.frr_procs(lab, d) + lifecycle.site_procs(lab, d):
        if spec.node == node and spec.name == name:
            return spec
    raise FaultError(f"lab {h.name}: node {node} runs no {name}")


def start_proc(h: Any, node: str, name: str) -> None:
    if h.runtime.running(node, name):
        raise FaultError(f"{node}/{name} is already running")
    h.runtime.start([proc_spec(h, node, name)])


def bgp_daemon(h: Any, node: str) -> str:
    return "bgpd" if h.lab.nodes[node].daemon == "frr" else "bird"


def kill_bgp(h: Any, node: str) -> FaultEvent:
    """A crash: SIGKILL, so no NOTIFICATION leaves; peers notice by hold timer or BFD."""
    d = bgp_daemon(h, node)
    return _timed(f"kill_bgp {node}", lambda: stop_proc(h, node, d, signal.SIGKILL),
                  lambda: restart_bgp(h, node), node=node, daemon=d)  # fmt: skip


def restart_bgp(h: Any, node: str) -> FaultEvent:
    d = bgp_daemon(h, node)
    return _timed(f"restart_bgp {node}", lambda: start_proc(h, node, d), lambda: kill_bgp(h, node), node=node)


def node_procs(h: Any, node: str) -> list[str]:
    """The node's processes in start order (what lab up starts for it)."""
    lab, d = h.lab, h.dir
    specs = lifecycle.first_procs(lab, d) + lifecycle.frr_procs(lab, d) + lifecycle.site_procs(lab, d)
    return [s.name for s in specs if s.node == node]


def node_links(h: Any, node: str) -> list[str]:
    return [str(link.id) for link in h.lab.links if any(e.node == node for e in link.ends)]


def kill_node(h: Any, node: str) -> FaultEvent:
    """A power cut of the box: first 100 % loss on every link of the node (a dead box sends
    nothing: no TCP FIN or RST that would tell its peers at once), then SIGKILL to every
    process, last started first. Its peers notice by hold timer or BFD."""
    names = [n for n in reversed(node_procs(h, node)) if h.runtime.running(node, n)]
    links = node_links(h, node)

    def act() -> None:
        for link in links:
            h.runtime.impair(link, loss_pct=100.0)
        for n in names:
            stop_proc(h, node, n, signal.SIGKILL)

    return _timed(f"kill_node {node}", act, lambda: restart_node(h, node, names), node=node, procs=names,
                  links=links)  # fmt: skip


def restart_node(h: Any, node: str, names: list[str] | None = None) -> FaultEvent:
    names = list(reversed(names)) if names else node_procs(h, node)

    def act() -> None:
        for n in names:
            if n == "bgpd":  # bgpd needs zebra's socket
                wait_until((h.dir / node / "zserv.api").exists, timeout=10, what="zebra ready")
            start_proc(h, node, n)
        for link in node_links(h, node):
            h.runtime.impair(link, loss_pct=0.0)

    return _timed(f"restart_node {node}", act, lambda: kill_node(h, node), node=node, procs=names)


# -- the DNS service and the agent -------------------------------------------------------
def stop_dns(h: Any, site: str) -> FaultEvent:
    """The site's dnsnode dies (SIGKILL); the agent sees it fail and withdraws."""
    return _timed(f"stop_dns {site}", lambda: stop_proc(h, site, "dnsnode", signal.SIGKILL),
                  lambda: start_dns(h, site), site=site)  # fmt: skip


def start_dns(h: Any, site: str) -> FaultEvent:
    return _timed(
        f"start_dns {site}", lambda: start_proc(h, site, "dnsnode"), lambda: stop_dns(h, site), site=site
    )


def agent_ctl(h: Any, site: str, command: str) -> dict[str, Any]:
    """One command on the agent's control socket, straight from here: a unix socket needs no
    namespace (as lab.bgpstate talks to the BGP daemons), and on clab the node directory's
    path reaches into the container. No process to start: the fault's time is the command's."""
    from dnsnode.agent import control

    sock = h.dir / site / "agent.sock"

    # a just-started agent listens once it has read its config; until then the socket is
    # missing, or is the previous agent's and refuses (the undo of a withdraw, then undrain).
    # wait_until retries on those errors; every command is idempotent at the agent.
    try:
        reply = wait_until(
            lambda: dict(control.request(sock, command, timeout=10)),
            lambda _r: True,
            timeout=10,
            interval=0.05,
            what=f"agent at {sock} accepting {command!r}",
        ).value
    except PollTimeout as exc:
        raise FaultError(f"agent ctl {command} at {site}: {sock}: {exc} (is the agent running?)") from None
    if not reply.get("ok"):
        raise FaultError(f"agent ctl {command} at {site}: {reply}")
    return reply


def drain(h: Any, site: str) -> FaultEvent:
    """RFC 8326 GRACEFUL_SHUTDOWN on the site's announcements (the agent's drain); the agent
    withdraws after its drain hold, or `withdraw` does it when the traffic has moved."""
    return _timed(f"drain {site}", lambda: agent_ctl(h, site, "drain"), lambda: undrain(h, site), site=site)


def undrain(h: Any, site: str) -> FaultEvent:
    return _timed(f"undrain {site}", lambda: agent_ctl(h, site, "undrain"), lambda: drain(h, site), site=site)


def withdraw(h: Any, site: str) -> FaultEvent:
    """Withdraw the site: stop its agent (SIGTERM: the agent withdraws before it exits; its
    log says when, SPEAKERS.md: 0.15-0.28 s at the peer). `announce` starts it again."""
    return _timed(
        f"withdraw {site}", lambda: stop_proc(h, site, "agent"), lambda: announce(h, site), site=site
    )


def announce(h: Any, site: str) -> FaultEvent:
    return _timed(
        f"announce {site}", lambda: start_proc(h, site, "agent"), lambda: withdraw(h, site), site=site
    )
