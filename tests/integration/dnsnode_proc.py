"""Start `dnsnode serve` as a subprocess on a free loopback port, wait until it answers, stop it.

Usage in a test::

    from tests.integration.dnsnode_proc import DATA_ZONE, dnsnode_factory  # noqa: F401 (fixture)

    def test_it(dnsnode_factory):
        node = dnsnode_factory(zones={"example.net": DATA_ZONE}, identity="fra-1")
        reply = node.query("www.example.net", "A")            # dnspython over UDP
        assert reply.answer[0][0].address == "192.0.2.80"
        node.ctl("reload")                                     # needs control=True (the default)

Or without pytest: ``with dnsnode_running(zones=...) as node: ...`` / ``start_dnsnode(...)`` and
``node.stop()``. The process runs in its own session; stop() signals that process group (the
recorded PID is its id, so workers go too), waits with a deadline, then SIGKILLs. Every
temp dir is removed. Readiness: polled DNS queries until one is answered (any rcode), over UDP
and TCP; `started_in` holds how long that took.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rdataclass
import dns.rdatatype
import pytest

REPO = Path(__file__).resolve().parents[2]
DATA_ZONE = REPO / "tests" / "data" / "example.net.zone"
READY_TIMEOUT = 30.0


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on host right now (the kernel picks it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50):
        with socket.socket(family, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(family, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port for UDP+TCP")


@dataclass
class DnsnodeProc:
    popen: subprocess.Popen[bytes]
    host: str
    port: int
    workdir: Path  # temp dir: log, control socket, state dir
    args: list[str]
    control_socket: Path | None
    log_file: Path
    started_in: float = 0.0
    listen: list[tuple[str, int]] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def state_dir(self) -> Path:
        return self.workdir / "state"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def query(
        self,
        qname: str,
        rdtype: str | int = "A",
        rdclass: str | int = "IN",
        *,
        tcp: bool = False,
        timeout: float = 2.0,
        host: str | None = None,
        **make_query_args: Any,
    ) -> dns.message.Message:
        """One dnspython query to this server (UDP unless tcp=True); raises on timeout."""
        rt, rc = dns.rdatatype.RdataType.make(rdtype), dns.rdataclass.RdataClass.make(rdclass)
        q = dns.message.make_query(qname, rt, rc, **make_query_args)
        where = host or self.host
        if tcp:
            return dns.query.tcp(q, where, port=self.port, timeout=timeout)
        return dns.query.udp(q, where, port=self.port, timeout=timeout, ignore_unexpected=True)

    def ctl(self, cmd: str, zone: str | None = None) -> dict[str, Any]:
        """A control-socket request: {"cmd": cmd, "zone": zone} -> the JSON reply."""
        from dnsnode.ops.control import request

        if self.control_socket is None:
            raise RuntimeError("started without a control socket")
        return request(self.control_socket, cmd, zone)

    def log_events(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far."""
        import json

        events = []
        with contextlib.suppress(FileNotFoundError):
            for line in self.log_file.read_text().splitlines():
                with contextlib.suppress(ValueError):
                    events.append(json.loads(line))
        return events

    def signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM the process group we started, wait with a deadline, SIGKILL if needed."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait(5)
        # workers of a killed parent exit on their own when the parent's link closes; make sure
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        shutil.rmtree(self.workdir, ignore_errors=True)
        return self.popen.returncode


def start_dnsnode(
    zones: dict[str, Path | str] | None = None,
    *,
    extra_args: list[str] | None = None,
    identity: str | None = "test-site",
    host: str = "127.0.0.1",
    port: int | None = None,
    listen: list[str] | None = None,
    control: bool = True,
    state: bool = True,
    workers: int | None = None,
    env: dict[str, str] | None = None,
    ready_timeout: float = READY_TIMEOUT,
    ready_tcp: bool = True,
) -> DnsnodeProc:
    """Start `python -m dnsnode serve` and return once it answers a DNS query.

    zones: {"example.net": path} primaries (--zone); extra_args: anything else (--secondary,
    --config, --nsid ...). listen: full --listen values (default host:port with a free port).
    Raises RuntimeError with the log tail if it exits or does not answer in time.
    """
    workdir = Path(tempfile.mkdtemp(prefix="dnsnode-test-"))
    port = port or free_port(host)
    listen = listen or [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    log_file = workdir / "dnsnode.log"
    args = [sys.executable, "-m", "dnsnode", "serve", "--log-file", str(log_file)]
    for item in listen:
        args += ["--listen", item]
    for name, path in (zones or {}).items():
        args += ["--zone", f"{name}={path}"]
    if identity is not None:
        args += ["--identity", identity]
    control_socket = workdir / "control.sock" if control else None
    if control_socket is not None:
        args += ["--control-socket", str(control_socket)]
    if state:
        args += ["--state-dir", str(workdir / "state")]
    if workers is not None:
        args += ["--workers", str(workers)]
    args += extra_args or []
    stderr_path = workdir / "stderr.txt"
    with open(stderr_path, "wb") as stderr:
        popen = subprocess.Popen(
            args,
            cwd=REPO,
            stdout=stderr,
            stderr=stderr,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
    proc = DnsnodeProc(popen, host, port, workdir, args, control_socket, log_file)
    started = time.monotonic()
    deadline = started + ready_timeout
    try:
        while True:
            if popen.poll() is not None:
                raise RuntimeError(f"dnsnode exited with {popen.returncode}:\n{_tail(proc)}")
            if _answers(proc, tcp=False) and (not ready_tcp or _answers(proc, tcp=True)):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"dnsnode did not answer within {ready_timeout}s:\n{_tail(proc)}")
            time.sleep(0.05)  # poll interval, not a wait for state
        if control_socket is not None:
            while not control_socket.exists():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no control socket within {ready_timeout}s:\n{_tail(proc)}")
                time.sleep(0.02)
    except BaseException:
        proc.stop()
        raise
    proc.started_in = time.monotonic() - started
    return proc


def _answers(proc: DnsnodeProc, tcp: bool) -> bool:
    try:
        proc.query("id.server", "TXT", "CH", tcp=tcp, timeout=0.3)
        return True
    except (OSError, dns.exception.Timeout, EOFError, ConnectionError):
        return False


def _tail(proc: DnsnodeProc, lines: int = 30) -> str:
    out = []
    for path in (proc.workdir / "stderr.txt", proc.log_file):
        with contextlib.suppress(OSError):
            out += path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(out)


@contextlib.contextmanager
def dnsnode_running(**kwargs: Any) -> Iterator[DnsnodeProc]:
    """`with dnsnode_running(zones={...}) as node:`: started and always stopped."""
    proc = start_dnsnode(**kwargs)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def dnsnode_factory() -> Iterator[Callable[..., DnsnodeProc]]:
    """Factory fixture: dnsnode_factory(**start_dnsnode kwargs); every process stopped at teardown."""
    started: list[DnsnodeProc] = []

    def factory(**kwargs: Any) -> DnsnodeProc:
        proc = start_dnsnode(**kwargs)
        started.append(proc)
        return proc

    yield factory
    for proc in started:
        proc.stop()
