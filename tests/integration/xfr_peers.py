"""Knot and NSD as primaries/secondaries for the zone-transfer tests, each in its own temp dir.

Every daemon runs in the foreground with its own config, rundir, storage and log, on a
loopback address of its own; it is stopped by the PID we started (SIGTERM, then SIGKILL).

Until `dnsnode serve` exists, `XfrHost` hosts dnsnode's TransferService in-process behind
minimal UDP/TCP listeners: the transfer code under test is the real one, and only plain
queries (the peers' SOA checks) are answered by a few lines here instead of the core.
"""

from __future__ import annotations

import base64
import contextlib
import os
import random
import secrets
import signal
import socket
import socketserver
import struct
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.zone
import yaml

from dnsnode.ops.config import ServerConfig, TsigKey, ZoneConfig
from dnsnode.ops.stats import Stats
from dnsnode.serving.hooks import Transport
from dnsnode.serving.zonestore import ZoneStore
from dnsnode.xfr import TransferService
from dnsnode.xfr.rrsets import absolute_rrset
from tests.integration.dnsnode_proc import DnsnodeProc, start_dnsnode


# --- addresses and secrets ---------------------------------------------------------------
def loopback_address() -> str:
    """A random 127.x.y.z, so parallel tests (and engineers) never share an address."""
    return f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.{random.randint(2, 254)}"


def free_port(host: str) -> int:
    """A port free for both UDP and TCP on host."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind((host, 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind((host, port))
                except OSError:
                    continue
            return int(port)
    raise RuntimeError(f"no free port on {host}")


def new_secret() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class Key:
    name: str  # without the final dot
    secret: str
    algorithm: str = "hmac-sha256"

    @property
    def dig_arg(self) -> str:
        return f"{self.algorithm}:{self.name}:{self.secret}"


def zone_text(origin: str, serial: int, records: str = "", soa_timers: str = "3600 600 86400 60") -> str:
    return (
        f"$ORIGIN {origin}.\n$TTL 300\n"
        f"@ SOA ns1 hostmaster {serial} {soa_timers}\n"
        "@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.10\n" + records
    )


def soa_serial(host: str, port: int, zone: str, timeout: float = 1.0) -> int | None:
    """The serial a server answers for zone (None for any failure or non-NOERROR answer)."""
    q = dns.message.make_query(zone, dns.rdatatype.SOA)
    try:
        r = dns.query.udp(q, host, port=port, timeout=timeout)
    except Exception:
        return None
    if r.rcode() != dns.rcode.NOERROR or not r.answer:
        return None
    return int(r.answer[0][0].serial)


def soa_rcode(host: str, port: int, zone: str, timeout: float = 1.0) -> int | None:
    q = dns.message.make_query(zone, dns.rdatatype.SOA)
    try:
        return int(dns.query.udp(q, host, port=port, timeout=timeout).rcode())
    except Exception:
        return None


# --- processes -----------------------------------------------------------------------------
@dataclass
class Daemon:
    name: str
    proc: subprocess.Popen[bytes]
    workdir: Path
    address: str
    port: int
    log_path: Path
    conf: Path
    argv: tuple[str, ...] = ()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def restart(self) -> None:
        """Start the same daemon again (same config, state and port) after stop()."""
        self.stop()
        self.proc = _spawn(self.name, list(self.argv), self.workdir)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def _spawn(name: str, argv: list[str], workdir: Path) -> subprocess.Popen[bytes]:
    out = (workdir / f"{name}.stdout").open("ab")
    try:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    finally:
        out.close()


# --- Knot --------------------------------------------------------------------------------
@dataclass
class KnotZone:
    name: str
    text: str | None = None  # primary: the zone file's text
    primary: tuple[str, int] | None = None  # secondary: where to pull from
    notify: list[tuple[str, int]] = field(default_factory=list)
    allow: list[str] = field(default_factory=list)  # addresses that may transfer / NOTIFY us
    key: Key | None = None


class Knot(Daemon):
    @classmethod
    def start(cls, workdir: Path, address: str, zones: list[KnotZone], port: int | None = None) -> Knot:
        workdir.mkdir(parents=True, exist_ok=True)
        port = port or free_port(address)
        for d in ("run", "db", "zones"):
            (workdir / d).mkdir(exist_ok=True)
        keys = {z.key for z in zones if z.key}
        lines = [
            "server:",  # remotes use `via`, so NOTIFY and transfers leave from our own address
            f"    rundir: {workdir / 'run'}",
            f"    listen: {address}@{port}",
            "log:",
            f"  - target: {workdir / 'knot.log'}",
            "    any: info",
            "database:",
            f"    storage: {workdir / 'db'}",
        ]
        if keys:
            lines.append("key:")
            for k in keys:
                lines += [f"  - id: {k.name}", f"    algorithm: {k.algorithm}", f"    secret: {k.secret}"]
        remotes: list[str] = ["remote:"]
        acls: list[str] = ["acl:"]
        zone_lines: list[str] = ["zone:"]
        for i, z in enumerate(zones):
            zone_lines += [f"  - domain: {z.name}"]
            key_line = [f"    key: {z.key.name}"] if z.key else []
            if z.text is not None:  # we are its primary
                path = workdir / "zones" / f"{z.name}.zone"
                path.write_text(z.text)
                zone_lines += [
                    f"    file: {path}",
                    "    zonefile-load: difference",
                    "    journal-content: changes",
                ]
                acls += [f"  - id: xfr{i}", f"    address: [{', '.join(z.allow)}]", "    action: transfer"]
                acls += key_line
                zone_lines += [f"    acl: xfr{i}"]
                if z.notify:
                    for j, (h, p) in enumerate(z.notify):
                        remotes += [
                            f"  - id: n{i}_{j}",
                            f"    address: {h}@{p}",
                            f"    via: {address}",
                            *key_line,
                        ]
                    ids = ", ".join(f"n{i}_{j}" for j in range(len(z.notify)))
                    zone_lines += [f"    notify: [{ids}]"]
            else:  # we are its secondary
                assert z.primary is not None
                h, p = z.primary
                remotes += [f"  - id: m{i}", f"    address: {h}@{p}", f"    via: {address}", *key_line]
                acls += [
                    f"  - id: ntf{i}",
                    f"    address: [{', '.join(z.allow or [h])}]",
                    "    action: notify",
                ]
                acls += key_line
                zone_lines += [f"    master: m{i}", f"    acl: ntf{i}", "    zonefile-sync: -1"]
                zone_lines += [f"    file: {workdir / 'zones' / z.name}.zone", "    journal-content: changes"]
        for block in (remotes, acls):
            if len(block) > 1:
                lines += block
        lines += zone_lines
        conf = workdir / "knot.conf"
        conf.write_text("\n".join(lines) + "\n")
        argv = ("knotd", "-c", str(conf))
        proc = _spawn("knot", list(argv), workdir)
        return cls("knot", proc, workdir, address, port, workdir / "knot.log", conf, argv)

    def knotc(self, *args: str) -> str:
        r = subprocess.run(
            ["knotc", "-c", str(self.conf), "-t", "10", *args], capture_output=True, text=True, timeout=20
        )
        if r.returncode != 0:
            raise RuntimeError(f"knotc {' '.join(args)}: {r.stdout}{r.stderr}")
        return r.stdout

    def edit(self, zone: str, text: str) -> None:
        """Rewrite a primary zone's file and reload it (Knot computes the diff for its journal)."""
        (self.workdir / "zones" / f"{zone}.zone").write_text(text)
        self.knotc("zone-reload", zone)


# --- NSD ---------------------------------------------------------------------------------
class Nsd(Daemon):
    @classmethod
    def start(cls, workdir: Path, address: str, zones: list[KnotZone], port: int | None = None) -> Nsd:
        workdir.mkdir(parents=True, exist_ok=True)
        port = port or free_port(address)
        lines = [
            "server:",
            f"    ip-address: {address}@{port}",
            f"    port: {port}",
            f"    pidfile: {workdir / 'nsd.pid'}",
            f"    zonesdir: {workdir}",
            f"    xfrdfile: {workdir / 'xfrd.state'}",
            f"    xfrdir: {workdir}",
            f"    zonelistfile: {workdir / 'zone.list'}",
            '    database: ""',
            f"    logfile: {workdir / 'nsd.log'}",
            '    username: ""',
            '    chroot: ""',
            "    verbosity: 3",
            "    server-count: 1",
            "    do-ip6: no",
            "remote-control:",
            "    control-enable: no",
        ]
        for k in {z.key for z in zones if z.key}:
            lines += [
                "key:",
                f"    name: {k.name}",
                f"    algorithm: {k.algorithm}",
                f"    secret: {k.secret}",
            ]
        for z in zones:
            key = z.key.name if z.key else "NOKEY"
            lines += ["zone:", f"    name: {z.name}", f"    zonefile: {z.name}.zone"]
            lines += [f"    outgoing-interface: {address}"]  # NOTIFY and transfers from our own address
            if z.text is not None:
                (workdir / f"{z.name}.zone").write_text(z.text)
                lines += [f"    provide-xfr: {a} {key}" for a in z.allow]
                lines += [f"    notify: {h}@{p} {key}" for h, p in z.notify]
            else:
                assert z.primary is not None
                h, p = z.primary
                lines += [f"    request-xfr: {h}@{p} {key}"]
                lines += [f"    allow-notify: {a} {key}" for a in (z.allow or [h])]
        conf = workdir / "nsd.conf"
        conf.write_text("\n".join(lines) + "\n")
        argv = ("nsd", "-d", "-c", str(conf))
        proc = _spawn("nsd", list(argv), workdir)
        return cls("nsd", proc, workdir, address, port, workdir / "nsd.log", conf, argv)


# --- dnsnode's TransferService, hosted in-process ------------------------------------------------
class XfrHost:
    """UDP and TCP listeners in front of a real TransferService (see the module docstring)."""

    def __init__(self, config: ServerConfig, files: dict[str, Path]) -> None:
        self.config = config
        self.files = files  # primary zones: name -> master file
        self.address, self.port = config.listen[0]
        self.store = ZoneStore()
        self.stats = Stats()
        self.service = TransferService(config, self.store, self._resolve, self.stats)
        self._threads: list[threading.Thread] = []
        self._udp: socket.socket | None = None
        self._tcp: socketserver.ThreadingTCPServer | None = None
        self._stopping = threading.Event()

    def start(self) -> XfrHost:
        for z in self.config.zones:
            origin = dns.name.from_text(z.name)
            if z.role == "primary":
                self.store.publish(self._load(z.name), f"file:{self.files[z.name]}")
            else:
                self.store.declare(origin)
        self.service.start()
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.bind((self.address, self.port))
        host = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock: socket.socket = self.request
                sock.settimeout(10)
                with contextlib.suppress(OSError, struct.error):
                    while True:
                        head = _recv_exact(sock, 2)
                        if head is None:
                            return
                        wire = _recv_exact(sock, struct.unpack("!H", head)[0])
                        if wire is None:
                            return
                        for out in host.answer(wire, self.client_address, "tcp"):
                            sock.sendall(struct.pack("!H", len(out)) + out)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._tcp = socketserver.ThreadingTCPServer((self.address, self.port), Handler)
        self._tcp.daemon_threads = True
        self._threads = [
            threading.Thread(target=self._serve_udp, daemon=True),
            threading.Thread(target=self._tcp.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True),
        ]
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.service.stop()
        if self._tcp is not None:
            self._tcp.shutdown()
            self._tcp.server_close()
        for t in self._threads:
            t.join(timeout=5)
        if self._udp is not None:
            self._udp.close()

    def reload(self) -> None:
        """What SIGHUP does in dnsnode: re-read the primary files, publish changed serials."""
        for z in self.config.zones:
            if z.role == "primary":
                zone = self._load(z.name)
                entry = self.store.get(dns.name.from_text(z.name))
                serial = zone.get_rdataset(zone.origin, "SOA")[0].serial  # type: ignore[index,arg-type]
                if entry is None or entry.version is None or entry.version.serial != serial:
                    self.store.publish(zone, f"file:{self.files[z.name]}")

    def counter(self, name: str) -> int:
        return self.stats.counters.get(name, 0)

    def source(self, zone: str) -> str | None:
        entry = self.store.get(dns.name.from_text(zone))
        return entry.version.source if entry is not None and entry.version is not None else None

    def _load(self, name: str) -> dns.zone.Zone:
        return dns.zone.from_file(str(self.files[name]), name, relativize=False)

    def _serve_udp(self) -> None:
        assert self._udp is not None
        self._udp.settimeout(0.1)  # close() does not wake a blocked recvfrom: poll the stop flag
        while not self._stopping.is_set():
            try:
                wire, peer = self._udp.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            for out in self.answer(wire, peer, "udp")[:1]:
                with contextlib.suppress(OSError):
                    self._udp.sendto(out, peer)

    def answer(self, wire: bytes, peer: tuple[str, int], transport: Transport) -> list[bytes]:
        try:
            msg = dns.message.from_wire(wire, keyring=lambda _m, _n: False)
        except Exception:
            return []
        special = (
            msg.opcode() != 0
            or msg.had_tsig
            or any(q.rdtype in (dns.rdatatype.AXFR, dns.rdatatype.IXFR) for q in msg.question)
        )
        if special:
            out = self.service.handle(wire, (peer[0], peer[1]), transport)
            if out is not None:
                return out
            resp = dns.message.make_response(msg)
            resp.set_rcode(dns.rcode.REFUSED)
            return [resp.to_wire()]
        return [self._resolve(msg, transport).to_wire()]

    def _resolve(self, msg: dns.message.Message, transport: Transport) -> dns.message.Message:
        resp = dns.message.make_response(msg)
        resp.keyring = None
        resp.tsig = None
        q = msg.question[0]
        entry = self.store.find(q.name)
        if entry is None:
            resp.set_rcode(dns.rcode.REFUSED)
        elif not entry.servable or entry.version is None:
            resp.set_rcode(dns.rcode.SERVFAIL)
        else:
            resp.flags |= dns.flags.AA
            rds = entry.version.zone.get_rdataset(q.name, q.rdtype)
            if rds is not None:
                resp.answer.append(absolute_rrset(q.name, rds, entry.origin))
        return resp


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def dnsnode_config(
    address: str,
    port: int,
    zones: list[ZoneConfig],
    keys: list[Key] | None = None,
    state_dir: Path | None = None,
) -> ServerConfig:
    return ServerConfig(
        listen=[(address, port)],
        zones=zones,
        tsig_keys={k.name: TsigKey(k.name, k.secret, k.algorithm) for k in keys or []},
        state_dir=state_dir,
    )


@contextlib.contextmanager
def running(*daemons: Daemon) -> Iterator[None]:
    try:
        yield
    finally:
        for d in daemons:
            d.stop()


# --- dnsnode serve, the real server ------------------------------------------------------------
class ServeNode:
    """`dnsnode serve --config FILE.yml` as a subprocess (tests/integration/dnsnode_proc.py)."""

    def __init__(self, config: ServerConfig, workdir: Path) -> None:
        self.config = config
        self.address, self.port = config.listen[0]
        self.workdir = workdir
        self.yml = workdir / "dnsnode.yml"
        self.proc: DnsnodeProc | None = None

    def start(self) -> ServeNode:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.yml.write_text(yaml.safe_dump(_yaml_config(self.config)))
        # No --state-dir flag: the YAML's state_dir outlives the process (restart tests).
        self.proc = start_dnsnode(
            host=self.address, port=self.port, extra_args=["--config", str(self.yml)], state=False
        )
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
            self.proc = None

    def reload(self) -> None:
        assert self.proc is not None
        reply = self.proc.ctl("reload")
        if not reply.get("ok"):
            raise RuntimeError(f"reload failed: {reply}")

    def counter(self, name: str) -> int:
        assert self.proc is not None
        return int(self.proc.ctl("stats")["stats"]["counters"].get(name, 0))

    def source(self, zone: str) -> str | None:
        assert self.proc is not None
        status = self.proc.ctl("status")["zones"].get(zone.rstrip("."))
        return status.get("source") if status else None


def _hostport(h: str, p: int) -> str:
    return f"[{h}]:{p}" if ":" in h else f"{h}:{p}"


def _yaml_config(config: ServerConfig) -> dict[str, Any]:
    zones = []
    for z in config.zones:
        item: dict[str, Any] = {"name": z.name, "role": z.role}
        if z.file is not None:
            item["file"] = str(z.file)
        if z.primaries:
            item["primaries"] = [_hostport(h, p) for h, p in z.primaries]
        if z.notify:
            item["notify"] = [_hostport(h, p) for h, p in z.notify]
        for key in ("allow_notify", "allow_transfer"):
            if getattr(z, key):
                item[key] = list(getattr(z, key))
        if z.tsig_key:
            item["tsig_key"] = z.tsig_key
        zones.append(item)
    out: dict[str, Any] = {"zones": zones}
    if config.tsig_keys:
        out["tsig_keys"] = {
            n: {"secret": k.secret, "algorithm": k.algorithm} for n, k in config.tsig_keys.items()
        }
    if config.state_dir is not None:
        out["state_dir"] = str(config.state_dir)
    return out


XfrNode = XfrHost | ServeNode


def start_node(config: ServerConfig, files: dict[str, Path], workdir: Path) -> XfrNode:
    """The real `dnsnode serve`; XFR_INPROCESS=1 selects the in-process host instead."""
    if os.environ.get("XFR_INPROCESS") == "1":
        return XfrHost(config, files).start()
    return ServeNode(config, workdir).start()
