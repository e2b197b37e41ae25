"""`lab dashboard` as a user starts it (its own process, on a free localhost port), for tests:
started, polled until it answers, and ended by its PID with SIGINT (Ctrl-C), then checked
gone: the process exited 0, its port is closed, every probe it started has stopped and its
files are removed."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lab.orchestrate.lifecycle import open_lab
from lab.poll import NotYet, wait_until
from tests.integration.lab_fixtures import LAB_BIN

START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Dash:
    lab: str
    port: int
    proc: subprocess.Popen[str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def get(self, path: str, timeout: float = 30.0) -> object:
        with urllib.request.urlopen(self.url + path.lstrip("/"), timeout=timeout) as r:
            return json.loads(r.read())

    def post(self, path: str, body: dict[str, object], header: bool = True) -> tuple[int, object]:
        req = urllib.request.Request(self.url + path.lstrip("/"), json.dumps(body).encode(), method="POST")
        req.add_header("Content-Type", "application/json")
        if header:
            req.add_header("X-Lab-Dashboard", "1")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


def _answers(d: Dash) -> object:
    if d.proc.poll() is not None:
        out, err = d.proc.communicate()
        raise AssertionError(f"lab dashboard exited {d.proc.returncode}: {out} {err}")
    try:
        return d.get("/api/live", timeout=5)
    except OSError as exc:
        raise NotYet(str(exc)) from None


def probe_runs(lab: str) -> list[str]:
    """The probe processes of the lab that still run (the dashboard's are named probe-<run>)."""
    h = open_lab(lab)
    return sorted(
        {f"{p.node}/{p.name}" for p in h.runtime.processes() if p.name.startswith("probe-") and p.alive}
    )


def probe_files(lab: str) -> list[Path]:
    h = open_lab(lab)
    return sorted(p for n in h.lab.nodes for p in (h.dir / n).glob("probe-*"))


@contextlib.contextmanager
def running_dashboard(lab: str, *extra: str) -> Iterator[Dash]:
    port = free_port()
    earlier = set(probe_files(lab))  # a scenario's probes before it (their records stay for reports)
    proc = subprocess.Popen([str(LAB_BIN), "dashboard", "--name", lab, "--port", str(port), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    d = Dash(lab, port, proc)
    try:
        took = wait_until(
            lambda: _answers(d), timeout=START_TIMEOUT, interval=0.2, what="dashboard answers"
        ).elapsed
        print(f"\ndashboard of {lab} answering on port {port} after {took:.1f} s")
        yield d
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # by its PID: Ctrl-C, as a user would
        out, err = proc.communicate(timeout=60)
        print(f"dashboard: {out.strip()} {err.strip()}")
    assert proc.returncode == 0, err
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open"
    runs = probe_runs(lab)
    assert runs == [], f"the dashboard's probes still run: {runs}"
    left = sorted(set(probe_files(lab)) - earlier)
    assert left == [], f"the dashboard's probe files are left: {left}"
