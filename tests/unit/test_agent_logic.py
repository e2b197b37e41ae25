"""Pure logic of the health agent: RFC 1982 serials, hysteresis, lag grace, state machine."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from dnsnode.agent.config import _hold
from dnsnode.agent.health import Hysteresis, LagTracker
from dnsnode.agent.serial import serial_lag, serial_lt
from dnsnode.agent.state import ANNOUNCED, DRAINING, WITHDRAWN, Inputs, StateMachine

serials = st.integers(min_value=0, max_value=2**32 - 1)


def test_serial_wraps_around() -> None:
    assert serial_lt(2**32 - 1, 0)  # 0 comes after 4294967295
    assert not serial_lt(0, 2**32 - 1)
    assert serial_lag(2**32 - 2, 3) == 5
    assert serial_lag(5, 5) == 0
    assert serial_lag(7, 5) == 0  # ahead of the primary is not lag


def test_serial_undefined_pair_is_not_less() -> None:
    assert not serial_lt(0, 2**31) and not serial_lt(2**31, 0)
    assert serial_lag(0, 2**31) == 0


@given(serials, st.integers(min_value=1, max_value=2**31 - 1))
def test_serial_step_forward_is_greater(s: int, step: int) -> None:
    nxt = (s + step) % 2**32
    assert serial_lt(s, nxt) and not serial_lt(nxt, s)
    assert serial_lag(s, nxt) == step


def test_hysteresis_rise_and_fall() -> None:
    h = Hysteresis(rise=2, fall=3)
    assert not h.healthy
    assert h.feed(True) is False and not h.healthy  # one success is not enough
    assert h.feed(True) is True and h.healthy
    assert [h.feed(False), h.feed(False)] == [False, False] and h.healthy
    assert h.feed(True) is False  # a success resets the failure count
    assert [h.feed(False) for _ in range(3)] == [False, False, True] and not h.healthy
    assert h.failures == 3


def test_lag_grace() -> None:
    t = LagTracker(max_lag=1, grace=10)
    assert t.feed(1, 0.0) is False  # within max_lag
    assert t.feed(2, 1.0) is False and not t.stale  # behind: the grace timer starts
    assert t.feed(5, 10.5) is False and not t.stale  # 9.5 s behind
    assert t.feed(5, 11.5) is True and t.stale  # 10.5 s > grace
    assert t.feed(None, 12.0) is False and t.stale  # primary unreachable: no news
    assert t.feed(0, 13.0) is True and not t.stale  # caught up


def test_lag_unknown_never_starts_the_timer() -> None:
    t = LagTracker(max_lag=0, grace=1)
    assert t.feed(None, 0.0) is False and t.feed(None, 100.0) is False and not t.stale


def inp(healthy: bool = True, maintenance: bool = False) -> Inputs:
    return Inputs(
        healthy, "2 successful checks" if healthy else "3 failed checks: timeout", maintenance, "ctl drain"
    )


def test_state_up_down() -> None:
    sm = StateMachine(drain_hold=30)
    assert sm.step(inp(healthy=False), 0) is None and sm.announcement == WITHDRAWN
    t = sm.step(inp(), 1)
    assert t is not None and (t.from_, t.to, t.action) == ("down", "up", "announce")
    assert sm.announcement == ANNOUNCED
    t = sm.step(inp(healthy=False), 2)
    assert t is not None and (t.to, t.action, t.reason) == ("down", "withdraw", "3 failed checks: timeout")


def test_drain_holds_then_withdraws_and_undrain_announces() -> None:
    sm = StateMachine(drain_hold=30)
    sm.step(inp(), 0)
    t = sm.step(inp(maintenance=True), 10)
    assert t is not None and (t.to, t.action) == ("draining", "drain") and sm.announcement == DRAINING
    assert sm.drain_deadline == 40
    assert sm.step(inp(maintenance=True), 39.9) is None
    t = sm.step(inp(maintenance=True), 40)
    assert t is not None and (t.to, t.action) == ("drained", "withdraw") and sm.announcement == WITHDRAWN
    t = sm.step(inp(), 50)
    assert t is not None and (t.to, t.action) == ("up", "announce")


def test_unhealthy_while_draining_withdraws_at_once() -> None:
    sm = StateMachine(drain_hold=30)
    sm.step(inp(), 0)
    sm.step(inp(maintenance=True), 1)
    t = sm.step(inp(healthy=False, maintenance=True), 2)
    assert t is not None and (t.to, t.action) == ("drained", "withdraw")
    t = sm.step(inp(healthy=False, maintenance=False), 3)  # undrain while broken: stays withdrawn
    assert t is not None and (t.to, t.action) == ("down", "none")


def test_undrain_during_hold_removes_drain_attributes() -> None:
    sm = StateMachine(drain_hold=30)
    sm.step(inp(), 0)
    sm.step(inp(maintenance=True), 1)
    t = sm.step(inp(), 2)
    assert t is not None and (t.from_, t.to, t.action) == ("draining", "up", "announce")
    assert sm.drain_deadline is None


def test_zero_hold_withdraws_directly_and_maintenance_blocks_announce() -> None:
    sm = StateMachine(drain_hold=0)
    assert sm.step(inp(maintenance=True), 0) is not None and sm.state == "drained"  # from down
    assert sm.step(inp(maintenance=True), 1) is None and sm.announcement == WITHDRAWN
    sm2 = StateMachine(drain_hold=0)
    sm2.step(inp(), 0)
    t = sm2.step(inp(maintenance=True), 1)
    assert t is not None and (t.to, t.action) == ("drained", "withdraw")


def test_stop_withdraws() -> None:
    sm = StateMachine(drain_hold=30)
    sm.step(inp(), 0)
    t = sm.stop("SIGTERM")
    assert (t.from_, t.to, t.action, t.reason) == ("up", "stopped", "withdraw", "SIGTERM")


def test_manual_hold_drains_until_ctl_withdraw() -> None:
    sm = StateMachine(drain_hold=math.inf)
    sm.step(inp(), 0)
    t = sm.step(inp(maintenance=True), 1)
    assert t is not None and t.to == "draining" and "until ctl withdraw" in t.reason
    assert sm.step(inp(maintenance=True), 1e9) is None  # no deadline ever elapses
    t = sm.step(Inputs(True, "healthy", True, "ctl withdraw", withdraw=True), 1e9 + 1)
    assert t is not None and (t.to, t.action) == ("drained", "withdraw") and sm.announcement == WITHDRAWN


def test_ctl_withdraw_from_up_skips_the_drain() -> None:
    sm = StateMachine(drain_hold=30)
    sm.step(inp(), 0)
    t = sm.step(Inputs(True, "healthy", True, "ctl withdraw", withdraw=True), 1)
    assert t is not None and (t.from_, t.to, t.action) == ("up", "drained", "withdraw")


def test_manual_hold_in_agent_config() -> None:
    assert _hold("manual") == math.inf
    assert _hold("2.5") == 2.5
