"""`dnsnode serve --workers N`: a worker that dies is logged and replaced (with backoff), the
service keeps answering meanwhile, and the replacement serves the current zone data."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.query
import pytest

from dnsnode.net.workers import restart_delay
from lab.poll import wait_until
from tests.integration.dnsnode_proc import DnsnodeProc, dnsnode_factory

__all__ = ["dnsnode_factory"]  # the fixture
pytestmark = pytest.mark.integration

N = 3
ZONE = """$ORIGIN example.net.
$TTL 3600
@    SOA ns1 hostmaster {serial} 3600 600 86400 300
@    NS  ns1
ns1  A   192.0.2.53
www  A   {addr}
"""


def answer(node: DnsnodeProc, timeout: float = 0.5) -> str | None:
    """www's address from one UDP query on a fresh source port, or None if unanswered."""
    q = dns.message.make_query("www.example.net", "A")
    try:
        r = dns.query.udp(q, node.host, port=node.port, timeout=timeout)
    except (dns.exception.Timeout, OSError):
        return None
    return str(r.answer[0][0].address) if r.answer else "empty"


def workers(node: DnsnodeProc) -> list[dict[str, Any]]:
    procs: list[dict[str, Any]] = node.ctl("status")["worker_processes"]
    return procs


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_dead_worker_is_restarted_and_all_workers_answer(dnsnode_factory: Any, tmp_path: Path) -> None:
    zone = tmp_path / "example.net.zone"
    zone.write_text(ZONE.format(serial=1, addr="192.0.2.80"))
    node = dnsnode_factory(zones={"example.net": zone}, workers=N)
    wait_until(lambda: len(workers(node)) == N, timeout=10, what="N workers in status")
    # a reload before the kill: the replacement must serve serial 2, not the start-up zone
    zone.write_text(ZONE.format(serial=2, addr="192.0.2.90"))
    assert node.ctl("reload")["ok"]
    before = workers(node)
    pids = [w["pid"] for w in before]
    assert len(set(pids)) == N and all(alive(p) for p in pids)
    assert node.ctl("status")["worker_pids"] == pids

    victim = pids[0]
    os.kill(victim, signal.SIGKILL)  # the PID ctl status reported
    t0 = time.monotonic()
    first_try_lost = 0
    sent = 0

    def replaced() -> list[dict[str, Any]]:
        # queries keep going while we wait: each must be answered, at worst on a second try
        nonlocal first_try_lost, sent
        for _ in range(5):
            sent += 1
            got = answer(node)
            if got is None:
                first_try_lost += 1
                got = answer(node, timeout=2.0)
            assert got == "192.0.2.90", got
        return workers(node)

    res = wait_until(
        replaced,
        lambda ws: len(ws) == N and victim not in [w["pid"] for w in ws] and all(alive(w["pid"]) for w in ws),
        timeout=restart_delay(1) + 10,  # restarted after restart_delay(1) s; + fork, replay
        what="the killed worker replaced",
    )
    took = time.monotonic() - t0
    new = [w for w in res.value if w["pid"] not in pids]
    assert len(new) == 1 and new[0]["worker"] == before[0]["worker"] and new[0]["restarts"] == 1
    events = node.log_events()
    exited = [e for e in events if e["event"] == "worker_exited"]
    restarted = [e for e in events if e["event"] == "worker_restarted"]
    assert exited[-1]["pid"] == victim and exited[-1]["status"] == "killed by SIGKILL"
    assert restarted[-1]["old_pid"] == victim and restarted[-1]["pid"] == new[0]["pid"]
    assert restarted[-1]["failed"] == 0 and restarted[-1]["replayed"] >= 1

    # N workers answer: fresh source ports spread over the SO_REUSEPORT group
    counts0 = {w["pid"]: w["queries"] for w in res.value}
    answers = [answer(node, timeout=2.0) for _ in range(300)]
    counts1 = {w["pid"]: w["queries"] for w in workers(node)}
    served = {pid: counts1[pid] - counts0.get(pid, 0) for pid in counts1}
    print(
        f"\nworker {victim} killed: replaced by {new[0]['pid']} in {took:.2f} s; "
        f"{sent} queries meanwhile, {first_try_lost} lost on the first try, 0 unanswered; "
        f"300 queries after: per worker {served}"
    )
    assert set(answers) == {"192.0.2.90"}  # every answer from the current zone, new worker too
    assert len(served) == N and all(n > 0 for n in served.values())

    # a crash loop backs off: the replacement dying again at once waits twice as long
    os.kill(new[0]["pid"], signal.SIGKILL)
    wait_until(
        lambda: [e for e in node.log_events() if e["event"] == "worker_restarted"],
        lambda rs: len(rs) == 2,
        timeout=restart_delay(2) + 10,
        what="second restart",
    )
    first, second = [e for e in node.log_events() if e["event"] == "worker_exited"]
    # both died within STABLE_AFTER s of their start: the 1st and 2nd quick deaths in a row
    assert (first["restart_in_s"], second["restart_in_s"]) == (restart_delay(1), restart_delay(2))
    assert restart_delay(2) == 2 * restart_delay(1)
    assert len(workers(node)) == N and node.alive()
