"""Operator commands and speaker restarts against a real BGP peer (one lab per speaker kind).

Site BIRD -> peer FRR, and site FRR -> peer BIRD, built by test_agent_bgp.build_site with
`drain.hold: manual` and `reconcile_interval: RECONCILE`. The tests run in file order on the
same site and each leaves it announced, plain. What is asserted is what the peer sees.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from lab.poll import wait_until
from tests.integration.netns import NetnsLab
from tests.integration.test_agent_bgp import FALL, HOLD, INTERVAL, SITE_ASN, Route, Site, plain, start_all

pytestmark = pytest.mark.integration

RECONCILE = 2.0  # s between the agent's reads of its speaker's state (default 5)
# BGP connect retry 1 s and BIRD's error wait 1-5 s (test_agent_bgp's configs): a restarted
# speaker's session is back within ~6 s, then the agent re-applies within one RECONCILE
RESYNC_BOUND = 6.0 + RECONCILE + 5.0  # + margin for 2 shared CPUs


def gshut(r: Route | None) -> bool:
    return r is not None and "65535:0" in r.communities and r.as_path == (SITE_ASN,)


@pytest.fixture(scope="module", params=["bird", "frr"], ids=["site-bird_peer-frr", "site-frr_peer-bird"])
def site(request: pytest.FixtureRequest) -> Iterator[Site]:
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    with NetnsLab() as lab:  # exact teardown on exit, whatever happened
        yield start_all(lab, request.param, hold="manual", reconcile=RECONCILE)


def timeline(s: Site, t0: float) -> tuple[list[tuple[float, str]], Any]:
    """Closure that records what the peer shows (plain / gshut / gone / other), in order, and
    returns it, with "!" appended when only one of v4/v6 is there yet (they are separate
    UPDATEs, so a half-done change is normal; the timeline records it under the same kind)."""
    seen: list[tuple[float, str]] = []

    def observe() -> str:
        present = [r for r in s.routes() if r is not None]
        kind = (
            "gone"
            if not present
            else "plain"
            if all(plain(r) for r in present)
            else "gshut"
            if all(gshut(r) for r in present)
            else "other"
        )
        if not seen or seen[-1][1] != kind:
            seen.append((round(time.monotonic() - t0, 2), kind))
        return kind if len(present) in (0, 2) else kind + "!"

    return seen, observe


def test_manual_hold_drains_until_ctl_withdraw_then_undrain(site: Site) -> None:
    s = site
    sessions = s.peer.sessions()
    t0 = time.monotonic()
    seen, observe = timeline(s, t0)
    assert observe() == "plain"
    assert s.ctl("drain")["ok"] is True
    wait_until(observe, lambda k: k == "gshut", timeout=10, what="65535:0 at the peer")
    t_drained = time.monotonic()
    st = s.ctl("status")
    assert (st["state"], st["applied"], st["drain_deadline_in"]) == ("draining", "draining", None)

    # A numeric hold of HOLD s would have withdrawn by now + one check interval + 1 s of
    # propagation (measured 3.0-3.4 s in test_agent_bgp); watch the peer at least that long.
    window = HOLD + INTERVAL + 1.0
    res = wait_until(
        lambda: (time.monotonic() - t_drained, observe()),
        lambda v: v[0] >= window or v[1] != "gshut",  # stop early on any change
        timeout=window + 10,
        interval=0.1,
        what="manual hold kept",
    )
    print(f"\n[{s.speaker}] manual hold: still 65535:0 after {res.value[0]:.2f} s ({res.attempts} polls)")
    assert res.value[1] == "gshut", f"drain ended without ctl withdraw: {seen}"
    assert s.ctl("status")["state"] == "draining"

    t1 = time.monotonic()
    assert s.ctl("withdraw")["ok"] is True
    wait_until(observe, lambda k: k == "gone", timeout=10, what="withdrawn after ctl withdraw")
    withdrawn = time.monotonic() - t1
    st = s.ctl("status")
    assert (st["state"], st["applied"], st["maintenance"]) == ("drained", "withdrawn", True)

    t2 = time.monotonic()
    assert s.ctl("undrain")["ok"] is True
    wait_until(observe, lambda k: k == "plain", timeout=10, what="plain after undrain")
    back = time.monotonic() - t2
    print(
        f"[{s.speaker}] peer timeline: {seen}; "
        f"ctl withdraw -> gone {withdrawn:.2f} s, undrain -> plain {back:.2f} s"
    )
    kinds = [k for _, k in seen]
    # v4 and v6 get their attributes in separate UPDATEs (FRR: one soft-out refresh per AFI),
    # so one family may carry 65535:0 a moment before the other: "other" only in that gap
    assert [k for k in kinds if k != "other"] == ["plain", "gshut", "gone", "plain"], seen
    assert kinds in (["plain", "gshut", "gone", "plain"], ["plain", "other", "gshut", "gone", "plain"]), seen
    assert s.peer.sessions() == sessions  # no BGP session went down on the way
    states = [(e["from"], e["to"]) for e in s.events("state")][-3:]
    assert states == [("up", "draining"), ("draining", "drained"), ("drained", "up")]
    assert "ctl withdraw" in s.events("state")[-2]["reason"]


def test_ctl_withdraw_without_drain_then_undrain(site: Site) -> None:
    s = site
    sessions = s.peer.sessions()
    seen, observe = timeline(s, time.monotonic())
    assert observe() == "plain"
    t0 = time.monotonic()
    assert s.ctl("withdraw")["ok"] is True
    wait_until(observe, lambda k: k == "gone", timeout=10, what="withdrawn")
    gone = time.monotonic() - t0
    t1 = time.monotonic()
    assert s.ctl("undrain")["ok"] is True
    wait_until(observe, lambda k: k == "plain", timeout=10, what="plain again")
    print(
        f"\n[{s.speaker}] ctl withdraw from up -> gone {gone:.2f} s; "
        f"undrain -> plain {time.monotonic() - t1:.2f} s"
    )
    assert [k for _, k in seen] == ["plain", "gone", "plain"]  # straight out: no drain attributes
    assert s.peer.sessions() == sessions


def test_speaker_restart_is_resynced_without_restarting_the_agent(site: Site) -> None:
    s = site
    assert s.agent is not None
    router = s.extra["router"]
    before = router.pids() if s.speaker == "frr" else {"bird": router.proc.pid}
    # the previous test's undrain may still be finishing its apply (FRR: soft-out refresh and
    # read-back after the routes are already out); restart only once the agent has settled,
    # so what brings the routes back is the reconcile, not a retry of that apply
    settled = wait_until(lambda: s.ctl("status"), lambda st: st["applied"] == "announced", timeout=15)
    assert settled.value["state"] == "up"
    n_reconcile = len(s.events("reconcile"))
    t0 = time.monotonic()
    router.restart(s.lab)  # SIGTERM to the recorded PIDs, then the daemons again from their config
    after = router.pids() if s.speaker == "frr" else {"bird": router.proc.pid}
    assert set(before.values()).isdisjoint(after.values())
    # the restart itself takes the session down: wait until the peer has lost the routes ...
    wait_until(s.routes, lambda r: not all(plain(x) for x in r), timeout=10, what="routes lost")
    # ... and until they come back, plain, with nobody touching the agent
    back = wait_until(s.routes, lambda r: all(plain(x) for x in r), timeout=RESYNC_BOUND + 10, what="back")
    took = time.monotonic() - t0
    rec = s.events("reconcile")[n_reconcile:]
    print(
        f"\n[{s.speaker}] speaker restarted (pids {before} -> {after}): routes back at the peer "
        f"{took:.2f} s after the restart began, {back.elapsed:.2f} s after they were lost; "
        f"reconcile events: {[e['drift'][:80] for e in rec]}"
    )
    assert took <= RESYNC_BOUND
    assert s.agent.poll() is None  # the same agent process throughout
    if s.speaker == "frr":
        # FRR forgot the `network` statements; only the agent's reconcile brings them back
        log = [(e["event"], e.get("drift") or e.get("announcement")) for e in s.events()[-15:]]
        assert any("network" in e["drift"] for e in rec), (rec, log)
        assert s.events("applied")[-1]["announcement"] == "announced"
    # healthy check results never changed: FALL failed checks would have withdrawn otherwise
    assert s.ctl("status")["healthy"] is True and FALL > 0
