"""Fault primitives: each does one thing to a running lab, returns its event (CLOCK_MONOTONIC
time) and can be undone, or used as a context manager that undoes it (lab.faults.base).

    link       link_down, link_up, loss
    process    kill_bgp, restart_bgp, kill_node, restart_node, stop_dns, start_dns
    agent      drain, undrain, withdraw, announce
    policy     prepend, med, local_pref, community, set_knobs, reset_knobs
    hijack     hijack, unhijack, rov (the defence: origin validation at a router)

Everything goes through the runtime contract and the daemon drivers, so the same fault runs
on netns and on containerlab.
"""

from lab.faults.agent import agent_ctl, announce, drain, undrain, withdraw
from lab.faults.base import FaultError, FaultEvent, FaultJournal, recording, timed
from lab.faults.hijacks import hijack, hijack_prefixes, more_specific, rov, unhijack
from lab.faults.link import link_between, link_down, link_up, loss, node_links
from lab.faults.policy import community, local_pref, med, prepend, reset_knobs, set_knobs
from lab.faults.process import (
    bgp_daemon,
    dns_process,
    kill_bgp,
    kill_node,
    node_procs,
    proc_spec,
    restart_bgp,
    restart_node,
    running,
    start_dns,
    start_proc,
    stop_dns,
    stop_proc,
    wait_base_ready,
)

__all__ = [
    "FaultError",
    "FaultEvent",
    "FaultJournal",
    "agent_ctl",
    "announce",
    "bgp_daemon",
    "community",
    "dns_process",
    "drain",
    "hijack",
    "hijack_prefixes",
    "kill_bgp",
    "kill_node",
    "link_between",
    "link_down",
    "link_up",
    "local_pref",
    "loss",
    "med",
    "more_specific",
    "node_links",
    "node_procs",
    "prepend",
    "proc_spec",
    "recording",
    "reset_knobs",
    "restart_bgp",
    "restart_node",
    "rov",
    "running",
    "set_knobs",
    "start_dns",
    "start_proc",
    "stop_dns",
    "stop_proc",
    "timed",
    "undrain",
    "unhijack",
    "wait_base_ready",
    "withdraw",
]
