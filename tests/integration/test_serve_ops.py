"""Operating dnsnode serve: reloads under load, bad zone files, workers, control socket, stats."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import pytest

from tests.integration.dnsnode_proc import DATA_ZONE, REPO, DnsnodeProc, dnsnode_factory, free_port
from tests.integration.serve_clients import dig1

pytestmark = pytest.mark.integration
__all__ = ["dnsnode_factory"]


def wait_until(predicate: Callable[[], bool], timeout: float = 15.0, interval: float = 0.05) -> float:
    """Poll until predicate() is true; return the seconds it took, fail at the deadline."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)
    return time.monotonic() - start


def zone_text(serial: int, www: str) -> str:
    text = DATA_ZONE.read_text()
    text = text.replace("2024010101 ; serial", f"{serial} ; serial")
    return text.replace("www             IN A    192.0.2.80", f"www             IN A    {www}")


@dataclass
class QueryLoop:
    """Queries www.example.net over UDP until stopped (bounded by max_queries)."""

    node: DnsnodeProc
    max_queries: int = 20000
    sent: int = 0
    failures: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.is_set() and self.sent < self.max_queries:
            self.sent += 1
            try:
                reply = self.node.query("www.example.net", "A", timeout=2.0)
            except (dns.exception.Timeout, OSError) as exc:
                self.failures.append(repr(exc))
                continue
            if reply.rcode() != dns.rcode.NOERROR or not reply.answer:
                self.failures.append(f"rcode {dns.rcode.to_text(reply.rcode())}")
                continue
            self.seen.append(reply.answer[0][0].address)

    def stop(self) -> None:
        self._stop.set()


def test_reload_under_load_drops_nothing_and_serves_new_data(dnsnode_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    zone = tmp_path / "example.net.zone"
    zone.write_text(zone_text(1, "192.0.2.80"))
    node = dnsnode_factory(zones={"example.net": zone})
    loop = QueryLoop(node)
    thread = threading.Thread(target=loop.run)
    thread.start()
    try:
        wait_until(lambda: len(loop.seen) > 50)
        for k in range(1, 7):
            zone.write_text(zone_text(1 + k, f"192.0.2.{100 + k}"))
            if k % 2:
                reply = node.ctl("reload", "example.net")
                assert reply["ok"] and reply["zones"]["example.net"]["serial"] == 1 + k, reply
            else:
                node.signal(signal.SIGHUP)
                took = wait_until(lambda k=k: node.ctl("status")["zones"]["example.net"]["serial"] == 1 + k)
                print(f"SIGHUP reload {k} visible after {took:.3f}s")
            count = len(loop.seen)
            wait_until(lambda count=count: len(loop.seen) > count + 20)
            assert loop.seen[-1] == f"192.0.2.{100 + k}"
    finally:
        loop.stop()
        thread.join(timeout=30)
    assert loop.failures == [], loop.failures[:5]
    assert loop.sent > 100
    assert node.query("www.example.net").answer[0][0].address == "192.0.2.106"


def test_bad_zone_file_rejected_with_line_and_old_zone_kept(dnsnode_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    zone = tmp_path / "example.net.zone"
    zone.write_text(zone_text(5, "192.0.2.80"))
    node = dnsnode_factory(zones={"example.net": zone})
    lines = zone_text(6, "192.0.2.81").splitlines()
    lines.insert(16, "broken          IN A    192.0.2.300")  # becomes line 17
    zone.write_text("\n".join(lines) + "\n")
    reply = node.ctl("reload")
    assert not reply["ok"]
    error = reply["zones"]["example.net"]["error"]
    assert error.startswith(f"{zone}:17: "), error
    assert node.query("www.example.net").answer[0][0].address == "192.0.2.80"
    assert node.ctl("status")["zones"]["example.net"]["serial"] == 5
    rejected = [e for e in node.log_events() if e["event"] == "zone_rejected"]
    assert rejected and rejected[-1]["error"] == error and rejected[-1]["kept_serving"] is True
    # SIGHUP with the same bad file: logged again, still serving
    node.signal(signal.SIGHUP)
    wait_until(lambda: len([e for e in node.log_events() if e["event"] == "zone_rejected"]) == 2)
    assert dig1(node.host, node.port, "www.example.net").answer == ["www.example.net. 3600 IN A 192.0.2.80"]


def test_workers_answer_and_reload_reaches_all(dnsnode_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    zone = tmp_path / "example.net.zone"
    zone.write_text(zone_text(10, "192.0.2.80"))
    node = dnsnode_factory(zones={"example.net": zone}, workers=2)
    wait_until(lambda: len([e for e in node.log_events() if e["event"] == "worker_serving"]) == 2)
    for i in range(60):  # a new source port per query: the kernel spreads them over both workers
        assert node.query("www.example.net", tcp=i % 3 == 0).answer[0][0].address == "192.0.2.80"
    counters = node.ctl("stats")["stats"]["counters"]
    assert counters["udp"] + counters["tcp"] >= 60
    zone.write_text(zone_text(11, "192.0.2.90"))
    reply = node.ctl("reload")
    assert reply["ok"], reply
    loaded = [e for e in node.log_events() if e["event"] == "workers_loaded" and e["serial"] == 11]
    assert loaded and loaded[-1]["workers"] == 2 and loaded[-1]["failed"] == 0
    answers = {node.query("www.example.net").answer[0][0].address for _ in range(60)}
    assert answers == {"192.0.2.90"}
    # transfer-bound messages reaching a worker are relayed to the parent's handler and answered
    for _ in range(6):
        notify = dns.message.make_query("example.net", "SOA")
        notify.set_opcode(dns.opcode.NOTIFY)
        reply = dns.query.udp(notify, node.host, port=node.port, timeout=5)
        assert reply.id == notify.id and reply.opcode() == dns.opcode.NOTIFY


def test_stats_json_and_ctl_cli(dnsnode_factory) -> None:  # type: ignore[no-untyped-def]
    node = dnsnode_factory(zones={"example.net": DATA_ZONE})
    for _ in range(5):
        node.query("www.example.net")
    node.query("nope.example.net")
    path = node.state_dir / "stats.json"

    def counted() -> bool:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return False
        c = data["stats"]["counters"]
        return c.get("rcode.NXDOMAIN", 0) >= 1 and c.get("qtype.A", 0) >= 6

    took = wait_until(counted, timeout=10)
    print(f"stats.json caught up after {took:.2f}s")
    data = json.loads(path.read_text())
    assert data["zones"]["example.net"]["serial"] == 2024010101
    out = subprocess.run(
        [sys.executable, "-m", "dnsnode", "ctl", "--socket", str(node.control_socket), "status"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
        check=True,
    )
    status = json.loads(out.stdout)
    assert status["zones"]["example.net"]["servable"] is True
    assert status["zones"]["example.net"]["source"] == f"file:{DATA_ZONE}"
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "dnsnode",
            "ctl",
            "--socket",
            str(node.control_socket),
            "reload",
            "nosuch.test",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
        check=False,
    )
    assert bad.returncode == 1 and "not configured" in bad.stdout


def test_yaml_config(dnsnode_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "dnsnode.yml"
    config.write_text(
        f"identity: ams-1\nversion_bind: ''\nzones:\n  - name: example.net\n    file: {DATA_ZONE}\n"
    )
    node = dnsnode_factory(identity=None, extra_args=["--config", str(config)])
    assert dig1(node.host, node.port, "CH", "TXT", "id.server").answer == ['id.server. 0 CH TXT "ams-1"']
    assert dig1(node.host, node.port, "CH", "TXT", "version.bind").status == "REFUSED"
    assert dig1(node.host, node.port, "www.example.net").status == "NOERROR"


def test_bad_yaml_config_names_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "dnsnode.yml"
    config.write_text("identity: ams-1\nzones:\n  - name: example.net\n    fiel: x.zone\n")
    out = subprocess.run(
        [sys.executable, "-m", "dnsnode", "serve", "--config", str(config), "--listen", "127.0.0.1:5353"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
        check=False,
    )
    assert out.returncode == 2
    assert f"{config}:4: unknown zone field 'fiel' (did you mean 'file'?)" in out.stderr


def test_secondary_without_data_is_servfail(dnsnode_factory) -> None:  # type: ignore[no-untyped-def]
    nowhere = free_port()
    node = dnsnode_factory(
        zones={"example.net": DATA_ZONE}, extra_args=["--secondary", f"example.org=127.0.0.1:{nowhere}"]
    )
    assert dig1(node.host, node.port, "www.example.org").status == "SERVFAIL"
    assert node.ctl("status")["zones"]["example.org"]["servable"] is False
    assert dig1(node.host, node.port, "www.example.net").status == "NOERROR"
