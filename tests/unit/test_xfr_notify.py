"""Outgoing NOTIFY retry schedule (RFC 1996 3.6): configurable, bounded, and a clear give-up."""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path

import dns.message
import dns.name
import dns.opcode
import dns.rrset
import pytest

from dnsnode.cli import _serve_args, build_config
from dnsnode.ops.config import ConfigError
from dnsnode.ops.configfile import load_config_file
from dnsnode.ops.stats import Stats
from dnsnode.xfr.notify import NotifyPolicy, NotifySender

SOA_TEXT = "ns1.example.net. h.example.net. 7 3600 600 86400 300"
SOA = dns.rrset.from_text("example.net.", 300, "IN", "SOA", SOA_TEXT)


def test_default_schedule_doubles_to_the_rfc_interval_and_gives_up_after_4_minutes() -> None:
    p = NotifyPolicy()
    assert p.schedule() == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert p.attempts == 9 and p.window == 243  # RFC 1996: 5 retransmissions 60 s apart = 300 s


def test_custom_schedule() -> None:
    assert NotifyPolicy(interval=3, max_interval=3, retries=5).schedule() == [3] * 6  # NSD-like
    assert NotifyPolicy(interval=0.5, max_interval=1.5, retries=3).schedule() == [0.5, 1.0, 1.5, 1.5]
    assert NotifyPolicy(retries=0).schedule() == [1.0]


def test_config_from_flags_and_file(tmp_path: Path) -> None:
    zone = "--zone=example.net=" + str(tmp_path / "z")
    cfg = build_config(_serve_args([zone, "--notify-retries", "2", "--notify-interval", "0.5"]))
    assert (cfg.notify_retries, cfg.notify_interval, cfg.notify_max_interval) == (2, 0.5, 60.0)
    path = tmp_path / "dnsnode.yml"
    path.write_text("notify_retries: 0\nnotify_interval: 2\nnotify_max_interval: 30\n")
    cfg = load_config_file(path)
    assert (cfg.notify_retries, cfg.notify_interval, cfg.notify_max_interval) == (0, 2.0, 30.0)
    with pytest.raises(ConfigError, match="is below --notify-interval"):
        build_config(_serve_args([zone, "--notify-interval", "10", "--notify-max-interval", "5"]))
    with pytest.raises(ConfigError, match="retries >= 0"):
        build_config(_serve_args([zone, "--notify-retries", "-1"]))


def test_silent_secondary_gets_every_retry_then_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """A real UDP socket that reads NOTIFYs and never answers: it sees exactly `attempts`
    NOTIFYs, then the sender logs notify.gave_up at WARNING with the fix."""
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    silent.settimeout(5)
    port = silent.getsockname()[1]
    policy = NotifyPolicy(interval=0.05, max_interval=0.1, retries=3)
    stats = Stats()
    sender = NotifySender(stats, policy)
    caplog.set_level(logging.INFO, logger="dnsnode.xfr")
    try:
        sender.notify(dns.name.from_text("example.net."), SOA, [("127.0.0.1", port)], None, {})
        got = []
        for _ in range(policy.attempts):
            msg = dns.message.from_wire(silent.recv(4096))
            got.append(msg.opcode())
        sender.stop()  # waits for the sending thread: it has given up by now or stops here
    finally:
        silent.close()
    assert got == [dns.opcode.NOTIFY] * 4
    events = [json.loads(r.getMessage()) for r in caplog.records if r.name == "dnsnode.xfr"]
    assert [e["event"] for e in events] == ["notify.retry"] * 4 + ["notify.gave_up"]
    gave_up = events[-1]
    rec = next(r for r in caplog.records if "notify.gave_up" in r.getMessage())
    assert rec.levelno == logging.WARNING
    assert gave_up["attempts"] == 4 and gave_up["serial"] == 7 and "notify_retries" in gave_up["error"]
    assert 0.3 <= gave_up["seconds"] < 3  # 0.05 + 0.1 * 3 = 0.35 s of waiting
    assert stats.counters["notify.out"] == 4 and stats.counters["notify.gave_up"] == 1
