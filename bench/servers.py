"""Start the authoritative servers under test on loopback, wait until they answer, stop them exactly.

Each server runs in its own session (process group) so a multi-process server (NSD's xfrd and
server children, dnsnode --workers) is stopped as a whole, by the group we recorded.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from bench.procfs import group_members
from bench.zonegen import ORIGIN, WWW_A

READY_TIMEOUT = 60.0  # dnsnode parses the zone with dnspython at start: seconds for 10k hosts


class ServerError(RuntimeError):
    """A server could not be started or stopped as asked."""


@dataclass
class ServerProc:
    label: str  # "nsd", "dnsnode", "dnsnode x2"
    port: int
    cpus: str  # taskset CPU list the server runs on
    popen: subprocess.Popen[bytes]
    log: Path
    started_in: float = 0.0  # seconds from spawn until it answered correctly
    extra_pids: list[int] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP right now (the server binds both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port
    raise ServerError("no free UDP+TCP port pair on loopback after 50 tries")


def answers_correctly(
    port: int, host: str = "127.0.0.1", timeout: float = 0.3, qname: str = f"www.{ORIGIN}", want: str = WWW_A
) -> bool:
    """True when `qname` A comes back authoritative (AA, NOERROR) with the address `want`."""
    query = dns.message.make_query(qname, dns.rdatatype.A)
    try:
        reply = dns.query.udp(query, host, port=port, timeout=timeout)
    except (OSError, dns.exception.DNSException):
        return False
    if reply.rcode() != dns.rcode.NOERROR or not reply.flags & dns.flags.AA:
        return False
    return any(rr.to_text() == want for rrset in reply.answer for rr in rrset)


Ready = Callable[[int], bool]  # port -> does the server answer correctly yet?


def _spawn(label: str, argv: list[str], cpus: str, log: Path, port: int, ready: Ready) -> ServerProc:
    cmd = ["taskset", "-c", cpus, *argv] if cpus else argv
    with log.open("wb") as out:
        popen = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    server = ServerProc(label, port, cpus, popen, log)
    start = time.monotonic()
    deadline = start + READY_TIMEOUT
    try:
        while time.monotonic() < deadline:
            if not server.alive():
                raise ServerError(
                    f"{label} exited with code {popen.returncode} before answering; "
                    f"command: {' '.join(cmd)}\n--- {log} ---\n{server.log_tail()}"
                )
            if ready(port):
                server.started_in = time.monotonic() - start
                return server
            time.sleep(0.05)  # poll interval, not a fixed wait: we leave as soon as it answers
        raise ServerError(
            f"{label} did not answer correctly (AA and the zone's RDATA) within {READY_TIMEOUT:.0f}s; "
            f"command: {' '.join(cmd)}\n--- {log} ---\n{server.log_tail()}"
        )
    except BaseException:
        stop(server)
        raise


def stop(server: ServerProc, grace: float = 5.0) -> None:
    """SIGTERM the group we started, then SIGKILL it if it is still there after `grace` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.popen.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.popen.wait(timeout=grace)
    # Children (NSD's server processes, dnsnode workers) share the group: make sure none linger.
    deadline = time.monotonic() + grace
    while group_members(server.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if group_members(server.pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)


def start_nsd(
    workdir: Path,
    zone_file: Path,
    cpus: str,
    server_count: int = 1,
    origin: str = ORIGIN,
    ready: Ready = answers_correctly,
) -> ServerProc:
    port = free_port()
    run = workdir / f"nsd-{port}"
    run.mkdir()
    conf = run / "nsd.conf"
    # RRL off and no database: we measure the answer path, not rate limiting or disk writes.
    conf.write_text(
        f"""server:
  ip-address: 127.0.0.1@{port}
  server-count: {server_count}
  database: ""
  zonesdir: "{zone_file.parent}"
  pidfile: "{run}/nsd.pid"
  xfrdfile: "{run}/xfrd.state"
  zonelistfile: "{run}/zone.list"
  username: ""
  chroot: ""
  rrl-ratelimit: 0
  verbosity: 1
remote-control:
  control-enable: no
zone:
  name: {origin}
  zonefile: "{zone_file}"
"""
    )
    check = subprocess.run(["nsd-checkconf", str(conf)], capture_output=True, text=True, check=False)
    if check.returncode != 0:
        raise ServerError(f"{conf}: nsd-checkconf failed: {check.stderr.strip() or check.stdout.strip()}")
    label = "nsd" if server_count == 1 else f"nsd x{server_count}"
    return _spawn(label, ["nsd", "-d", "-c", str(conf)], cpus, run / "nsd.log", port, ready)


def start_knot(
    workdir: Path,
    zone_file: Path,
    cpus: str,
    origin: str = ORIGIN,
    geoip: Path | None = None,
    geoip_mode: str = "subnet",
    geoip_ttl: int = 60,
    ready: Ready = answers_correctly,
    label: str = "knot",
) -> ServerProc:
    """knotd on a free loopback port; with `geoip`, mod-geoip (knot-module-geoip) on the zone
    with that file and EDNS Client Subnet on, as the reference for steered answers."""
    port = free_port()
    run = workdir / f"knot-{port}"
    run.mkdir()
    conf = run / "knot.conf"
    module = ""
    zone_module = ""
    ecs = ""
    if geoip is not None:
        module = (
            f"mod-geoip:\n  - id: geo\n    config-file: {geoip}\n"
            f"    ttl: {geoip_ttl}\n    mode: {geoip_mode}\n"
        )
        zone_module = "    module: mod-geoip/geo\n"
        ecs = "    edns-client-subnet: on\n"
    conf.write_text(
        f"""server:
    listen: 127.0.0.1@{port}
    rundir: "{run}"
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
{ecs}database:
    storage: "{run}"
log:
  - target: stdout
    any: warning
{module}zone:
  - domain: {origin}
    file: "{zone_file}"
    zonefile-sync: -1
    journal-content: none
{zone_module}"""
    )
    return _spawn(label, ["knotd", "-c", str(conf)], cpus, run / "knot.log", port, ready)


def dnsnode_argv() -> list[str]:
    """The venv's dnsnode entry point if installed, else `python -m dnsnode.cli`."""
    exe = Path(sys.executable).with_name("dnsnode")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "dnsnode.cli"]


def start_dnsnode(
    workdir: Path,
    zone_file: Path,
    cpus: str,
    workers: int = 1,
    wrapper: list[str] | None = None,
    origin: str = ORIGIN,
    ready: Ready = answers_correctly,
    extra_args: list[str] | None = None,
    label: str | None = None,
    python_path: Path | None = None,
) -> ServerProc:
    """dnsnode serve on a free loopback port; `wrapper` prefixes the command (e.g. a profiler).

    python_path: run the dnsnode found there instead (an older checkout, for before/after runs).
    """
    port = free_port()
    log = workdir / f"dnsnode-{port}.log"
    program = (
        dnsnode_argv()
        if python_path is None
        else [sys.executable, "-c", _RUN_FROM.format(path=str(python_path))]
    )
    argv = [
        *(wrapper or []),
        *program,
        "serve",
        "--listen",
        f"127.0.0.1:{port}",
        "--zone",
        f"{origin}={zone_file}",
        "--identity",
        "bench-1",
    ]
    if workers != 1:
        argv += ["--workers", str(workers)]
    argv += extra_args or []
    label = label or ("dnsnode" if workers == 1 else f"dnsnode x{workers}")
    return _spawn(label, argv, cpus, log, port, ready)


# `python -c` with another dnsnode first on the path: the baseline of a before/after comparison
_RUN_FROM = "import sys; sys.path.insert(0, {path!r}); from dnsnode.cli import main; sys.exit(main())"
