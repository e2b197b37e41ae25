"""Faults through a site's health agent: drain and undrain (RFC 8326 GRACEFUL_SHUTDOWN),
withdraw and announce (the agent stops: it withdraws before it exits)."""

from __future__ import annotations

from dnsnode.agent import control
from lab.daemons.base import LabAccess
from lab.faults.base import FaultError, FaultEvent, timed
from lab.faults.process import start_proc, stop_proc
from lab.poll import PollTimeout, wait_until

CTL_TIMEOUT = 10.0


def agent_ctl(h: LabAccess, site: str, command: str) -> dict[str, object]:
    """One command on the agent's control socket, straight from here: a unix socket needs no
    namespace (as the daemon drivers talk to BGP daemons), and on clab the node directory's
    path reaches into the container. No process to start: the fault's time is the command's.

    A just-started agent listens once it has read its config; until then the socket is
    missing, or is the previous agent's and refuses (the undo of a withdraw, then undrain):
    those are retried. Every command is idempotent at the agent."""
    sock = h.dir / site / "agent.sock"
    try:
        reply = wait_until(
            lambda: dict(control.request(sock, command, timeout=CTL_TIMEOUT)),
            lambda _r: True,
            timeout=CTL_TIMEOUT,
            interval=0.05,
            what=f"agent at {sock} accepting {command!r}",
            retry=(
                FileNotFoundError,
                ConnectionError,
                ValueError,
            ),  # ValueError: a closing agent's empty reply
        ).value
    except PollTimeout as exc:
        raise FaultError(f"agent ctl {command} at {site}: {sock}: {exc} (is the agent running?)") from None
    if not reply.get("ok"):
        raise FaultError(f"agent ctl {command} at {site}: {reply}")
    return reply


def drain(h: LabAccess, site: str) -> FaultEvent:
    """RFC 8326 GRACEFUL_SHUTDOWN on the site's announcements (the agent's drain); the agent
    withdraws after its drain hold, or `withdraw` does it when the traffic has moved."""
    return timed(f"drain {site}", lambda: agent_ctl(h, site, "drain"), lambda: undrain(h, site), site=site)


def undrain(h: LabAccess, site: str) -> FaultEvent:
    return timed(f"undrain {site}", lambda: agent_ctl(h, site, "undrain"), lambda: drain(h, site), site=site)


def withdraw(h: LabAccess, site: str) -> FaultEvent:
    """Withdraw the site: stop its agent (SIGTERM: the agent withdraws before it exits; its
    log says when, dnsnode/agent/SPEAKERS.md: 0.15-0.28 s at the peer). `announce` starts it."""
    return timed(
        f"withdraw {site}", lambda: stop_proc(h, site, "agent"), lambda: announce(h, site), site=site
    )


def announce(h: LabAccess, site: str) -> FaultEvent:
    return timed(
        f"announce {site}", lambda: start_proc(h, site, "agent"), lambda: withdraw(h, site), site=site
    )
