"""The serving process: zones, listeners, reloads, transfers seam, control socket, stats.json."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import dns.name
import dns.zone

from dnsnode.net.sockets import tcp_socket, udp_socket
from dnsnode.net.tcp import TcpServer
from dnsnode.net.udp import UdpServer
from dnsnode.ops.config import ServerConfig, ZoneConfig
from dnsnode.ops.control import ControlServer
from dnsnode.ops.log import EventLog, route_logger
from dnsnode.ops.metrics import MetricsServer, Snapshot, ZoneState
from dnsnode.ops.stats import Stats
from dnsnode.serving.hooks import ResolveQuery, TransferHandler
from dnsnode.serving.index import build_index
from dnsnode.serving.responder import Responder
from dnsnode.serving.zonefile import ZoneFileError, load_zone_file
from dnsnode.serving.zonestore import ZoneStore
from dnsnode.steering.manager import Steering

if TYPE_CHECKING:
    from dnsnode.xfr import TransferService

STATS_INTERVAL = 1.0  # seconds between stats.json writes (and the main loop's tick)


@dataclass(frozen=True)
class FileStamp:
    """What the zone file looked like when loaded: unchanged files are not re-published."""

    mtime_ns: int
    size: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> FileStamp | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return cls(st.st_mtime_ns, st.st_size, st.st_ino)


class Server:
    def __init__(self, config: ServerConfig, log: EventLog) -> None:
        self.config = config
        self.log = log
        self.stats = Stats()
        self.store = ZoneStore(build_index=build_index)
        self.steering = Steering(config, log)
        self.responder = Responder(
            config,
            self.store,
            self.stats,
            log,
            manage_gc=True,
            steering=self.steering if self.steering.configured else None,
        )
        self.zones: dict[dns.name.Name, ZoneConfig] = {dns.name.from_text(z.name): z for z in config.zones}
        self.handler: TransferHandler | None = None
        self.stop_event = threading.Event()
        self._reload_lock = threading.Lock()
        self._stamps: dict[dns.name.Name, FileStamp | None] = {}
        self._udp: list[UdpServer] = []
        self._tcp: TcpServer | None = None
        self._control: ControlServer | None = None
        self._metrics: MetricsServer | None = None
        self.transfers: TransferService | None = None
        self.extra_stats: list[Callable[[], dict[str, int]]] = []  # counters to add (workers)
        self.status_extra: list[Callable[[], dict[str, object]]] = []  # keys to add to status (workers)

    # ---- zones ------------------------------------------------------------------------------

    def load_all(self) -> None:
        for origin, zone in self.zones.items():
            if zone.role == "primary" and zone.file is not None:
                self._load(origin, zone.file, force=True)
                if self.store.get(origin) is None:
                    self.store.declare(origin)  # configured but unloadable: SERVFAIL, like NSD
            else:
                self.steering.refresh(origin, force=True)
                self.store.declare(origin)  # secondary: SERVFAIL until the first transfer
                self.log.event("zone_declared", zone=zone.name, role=zone.role)

    def _load(self, origin: dns.name.Name, path: Path, force: bool = False) -> str | None:
        """Load and publish one zone file (and its geoip file); the error text ("FILE:LINE:
        reason") or None. A geoip file that changed alone republishes the zone in service."""
        geo_changed, geo_error = self.steering.refresh(origin, force=force)
        stamp = FileStamp.of(path)
        if not force and stamp is not None and self._stamps.get(origin) == stamp:
            if geo_changed:
                self._republish(origin)
            return geo_error
        error = self._load_zone(origin, path, stamp)
        if error and geo_changed:
            self._republish(origin)  # the zone in service stays; its new geoip file goes live
        return error or geo_error

    def _republish(self, origin: dns.name.Name) -> None:
        """The same zone data again, so its steering is compiled anew (a new geoip file)."""
        entry = self.store.get(origin)
        if entry is not None and entry.version is not None:
            self.store.publish(entry.version.zone, entry.version.source)
            self.log.event("zone_republished", zone=origin.to_text(True), reason="geoip file changed")

    def _load_zone(self, origin: dns.name.Name, path: Path, stamp: FileStamp | None) -> str | None:
        started = time.monotonic()
        try:
            zone = load_zone_file(path, origin)
        except ZoneFileError as exc:
            self.stats.incr("zone.load_errors")
            self.log.event(
                "zone_rejected",
                zone=origin.to_text(True),
                error=str(exc),
                kept_serving=bool((entry := self.store.get(origin)) and entry.version is not None),
            )
            return str(exc)
        old = self.store.get(origin)
        version = self.store.publish(zone, f"file:{path}")
        self._stamps[origin] = stamp
        if old is not None and old.version is not None and old.version.serial == version.serial:
            self.log.event("zone_serial_unchanged", zone=origin.to_text(True), serial=version.serial)
        self.log.event(
            "zone_loaded",
            zone=origin.to_text(True),
            serial=version.serial,
            source=version.source,
            names=len(version.index.nodes) if version.index is not None else None,
            seconds=round(time.monotonic() - started, 4),
        )
        return None

    def reload(self, zone_name: str | None = None) -> dict[str, Any]:
        """Re-read zone files (all primaries, or one zone). A bad file keeps the old zone in service."""
        with self._reload_lock:
            if zone_name:
                origin = dns.name.from_text(zone_name)
                if origin not in self.zones:
                    return {"ok": False, "error": f"zone {zone_name} is not configured"}
                targets = [origin]
            else:
                targets = list(self.zones)
            results: dict[str, Any] = {}
            ok = True
            for origin in targets:
                zone = self.zones[origin]
                name = origin.to_text(True)
                if zone.role != "primary" or zone.file is None:
                    geo_changed, geo_error = self.steering.refresh(origin)
                    if geo_changed:
                        self._republish(origin)
                    if geo_error:
                        ok = False
                        results[name] = {"ok": False, "error": geo_error}
                    else:
                        results[name] = {"ok": True, "result": "secondary: refreshed by zone transfers"}
                    continue
                before = self.store.get(origin)
                error = self._load(origin, zone.file)
                if error:
                    ok = False
                    results[name] = {"ok": False, "error": error}
                    continue
                after = self.store.get(origin)
                changed = before is None or after is None or before.version is not after.version
                serial = after.version.serial if after and after.version else None
                results[name] = {
                    "ok": True,
                    "result": "reloaded" if changed else "unchanged",
                    "serial": serial,
                }
            self.log.event("reload", zone=zone_name, ok=ok, results=results)
            return {"ok": ok, "zones": results}

    # ---- serving ----------------------------------------------------------------------------

    def start_listeners(self, reuse_port: bool = False) -> None:
        tcp_socks = []
        for host, port in self.config.listen:
            self._udp.append(UdpServer(udp_socket(host, port, reuse_port), self.responder))
            tcp_socks.append(tcp_socket(host, port, reuse_port))
        self._tcp = TcpServer(tcp_socks, self.responder, self.config, self.log)
        self._tcp.start()
        for udp in self._udp:
            udp.start()
        self.log.event("listening", listen=[f"{h}:{p}" for h, p in self.config.listen])

    def start_transfers(self, resolve: ResolveQuery | None = None) -> None:
        try:
            from dnsnode.xfr import TransferService
        except ImportError as exc:
            self.log.event("transfers_unavailable", error=repr(exc))
            return
        route_logger("dnsnode.xfr", self.log)
        try:
            handler = TransferService(
                self.config, self.store, resolve or self.responder.resolve_query, self.stats
            )
            handler.start()
        except Exception as exc:
            self.log.event("transfers_failed", error=repr(exc))
            return
        self.handler = handler
        self.transfers = handler
        self.responder.handler = handler
        self.log.event("transfers_started")

    def start_steering(self) -> None:
        """Health checks of steered targets (a thread: after the workers are forked)."""
        if self.steering.configured:
            self.steering.start_checks()

    def start_control(self) -> None:
        if self.config.control_socket is not None:
            self._control = ControlServer(self.config.control_socket, self.dispatch)
            self._control.start()
            self.log.event("control_socket", path=str(self.config.control_socket))

    def start_metrics(self) -> None:
        """The Prometheus exporter (--metrics): in the parent with --workers, which merges them."""
        if self.config.metrics is None:
            return
        host, port = self.config.metrics
        metrics = MetricsServer(host, port, self.metrics_snapshot)
        try:
            metrics.start()
        except OSError as exc:  # the port is taken: serve DNS anyway, say so
            self.log.event("metrics_failed", listen=f"{host}:{port}", error=repr(exc))
            self.stats.incr("metrics.failed")
            return
        self._metrics = metrics
        self.log.event("metrics", listen=f"{host}:{port}", path="/metrics")

    # ---- state ------------------------------------------------------------------------------

    def metrics_snapshot(self) -> Snapshot:
        stats = self.counters()
        transfers = self.transfers.transfer_state() if self.transfers is not None else {}
        zones = []
        for name, z in self.zone_status().items():
            last, failures = transfers.get(name, (None, 0))
            zones.append(
                ZoneState(
                    name,
                    z["role"],
                    z["serial"],
                    bool(z["expired"]),
                    bool(z["servable"]),
                    z["loaded_at"],
                    last,
                    failures,
                )
            )
        return Snapshot(float(stats["uptime_s"]), dict(stats["counters"]), zones)

    def counters(self) -> dict[str, Any]:
        stats = self.stats.as_dict()
        total: dict[str, int] = dict(stats["counters"])
        for extra in self.extra_stats:
            for key, value in extra().items():
                total[key] = total.get(key, 0) + value
        if self.steering.configured:
            total["ecs.scope_keys"] = total.get("ecs.scope_keys", 0) + len(self.responder.scope_keys)
        stats["counters"] = total
        return stats

    def zone_status(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for origin, entry in sorted(self.store.snapshot.items()):
            version = entry.version
            zone = self.zones.get(origin)
            out[origin.to_text(True)] = {
                "role": zone.role if zone else "unknown",
                "serial": version.serial if version else None,
                "expired": entry.expired,
                "servable": entry.servable,
                "source": version.source if version else None,
                "loaded_at": version.loaded_at if version else None,
            }
        return out

    def dispatch(self, request: dict[str, Any]) -> dict[str, Any]:
        cmd = request.get("cmd")
        if cmd == "stats":
            return {"ok": True, "stats": self.counters()}
        if cmd == "status":
            status: dict[str, Any] = {
                "ok": True,
                "identity": self.config.identity,
                "pid": os.getpid(),
                "workers": self.config.workers,
                "transfers": self.handler is not None,
                "zones": self.zone_status(),
            }
            if self.steering.configured:
                status["steering"] = self.steering.status()
            for extra in self.status_extra:
                status.update(extra())
            return status
        if cmd == "reload":
            zone = request.get("zone")
            return self.reload(str(zone) if zone else None)
        return {"ok": False, "error": f"unknown cmd {cmd!r} (use stats, status or reload)"}

    def write_stats_json(self) -> None:
        if self.config.state_dir is None:
            return
        path = self.config.state_dir / "stats.json"
        tmp = path.with_name(f".stats.json.{os.getpid()}.tmp")
        payload = {"ts": time.time(), "stats": self.counters(), "zones": self.zone_status()}
        try:
            tmp.write_text(json.dumps(payload, default=str))
            os.replace(tmp, path)  # readers see the old file or the new one, never half
        except OSError as exc:
            self.log.event("stats_write_failed", error=repr(exc))

    # ---- lifecycle --------------------------------------------------------------------------

    def install_signals(self) -> None:
        def on_hup(_sig: int, _frame: FrameType | None) -> None:
            threading.Thread(target=self.reload, name="sighup-reload", daemon=True).start()

        def on_term(_sig: int, _frame: FrameType | None) -> None:
            self.stop_event.set()

        signal.signal(signal.SIGHUP, on_hup)
        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)

    def run_until_stopped(self) -> None:
        if self.config.state_dir is not None:
            self.config.state_dir.mkdir(parents=True, exist_ok=True)
        self.write_stats_json()
        while not self.stop_event.wait(STATS_INTERVAL):
            self.write_stats_json()

    def stop(self) -> None:
        self.log.event("stopping")
        if self._control is not None:
            self._control.stop()
        if self._metrics is not None:
            self._metrics.stop()
        self.steering.stop_checks()
        if self.handler is not None:
            try:
                self.handler.stop()
            except Exception as exc:
                self.log.event("transfers_stop_failed", error=repr(exc))
        for udp in self._udp:
            udp.stop()
        if self._tcp is not None:
            self._tcp.stop()
        self.write_stats_json()
        self.log.event("stopped")


def load_zone_copy(store: ZoneStore, origin: dns.name.Name, path: Path, source: str) -> int:
    """Load a zone copy written by the parent (workers) and publish it under the parent's source."""
    zone: dns.zone.Zone = load_zone_file(path, origin)
    return store.publish(zone, source).serial
