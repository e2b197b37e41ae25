"""The server's steering: geoip files per zone (loaded, reloaded, copied to workers), the tables
compiled for each zone version the responder serves, and the health of checked targets.

One instance per process. The parent loads the operator's files and runs the health checks;
workers load the parent's copies of the files and receive the health state as messages
(dnsnode.net.workers), so every process answers from the same bytes and the same health.
A file that does not parse is rejected (logged, FILE:LINE) and the file in service stays.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import dns.name

from dnsnode.ops.config import GeoIpConfig, ServerConfig
from dnsnode.ops.log import EventLog
from dnsnode.serving.index import ZoneIndex
from dnsnode.serving.steer import Steered
from dnsnode.steering.geofile import GeoFile, GeoFileError, GeoView, load_geo_file, parse_geo_text
from dnsnode.steering.health import HealthChecker, Target
from dnsnode.steering.table import SteeredName, SteeringTable, target_key


@dataclass(frozen=True)
class FileStamp:
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


@dataclass
class _Zone:
    config: GeoIpConfig
    geo: GeoFile | None = None  # the file in service (None: none loaded yet)
    stamp: FileStamp | None = None
    table: SteeringTable | None = None  # compiled for `index`
    index: ZoneIndex | None = None


class Steering:
    """serving.steer.SteeringHook for the responder, plus loading and health."""

    def __init__(self, config: ServerConfig, log: EventLog) -> None:
        self.log = log
        self.zones: dict[dns.name.Name, _Zone] = {
            dns.name.from_text(z.name): _Zone(z.geoip) for z in config.zones if z.geoip is not None
        }
        self.down: frozenset[str] = frozenset()
        self.checker: HealthChecker | None = None
        self.health_listeners: list[Callable[[frozenset[str]], None]] = []  # the parent: to workers
        self._changed: list[Callable[[], None]] = []  # the responder: cached answers are stale
        self._lock = threading.Lock()  # table compiles vs health swaps

    @property
    def configured(self) -> bool:
        return bool(self.zones)

    # ---- files --------------------------------------------------------------------------------

    def refresh(self, origin: dns.name.Name, force: bool = False) -> tuple[bool, str | None]:
        """Re-read the zone's geoip file if it changed: (changed, error). On error the file in
        service stays (and is logged `geoip_rejected`)."""
        zone = self.zones.get(origin)
        if zone is None:
            return False, None
        path = zone.config.file
        stamp = FileStamp.of(path)
        if not force and zone.geo is not None and stamp is not None and stamp == zone.stamp:
            return False, None
        try:
            geo = load_geo_file(path, zone.config.mode)
        except GeoFileError as exc:
            self.log.event(
                "geoip_rejected",
                zone=origin.to_text(True),
                error=str(exc),
                kept_serving=zone.geo is not None,
            )
            return False, str(exc)
        self._install(origin, zone, geo)
        zone.stamp = stamp
        return True, None

    def load_copy(self, origin: dns.name.Name, path: Path) -> None:
        """A worker: the parent's copy of the file (raises GeoFileError, which cannot happen for
        bytes the parent parsed, but a worker reports rather than assumes)."""
        zone = self.zones[origin]
        text = path.read_text(encoding="utf-8")
        self._install(origin, zone, parse_geo_text(text, zone.config.file, zone.config.mode))

    def _install(self, origin: dns.name.Name, zone: _Zone, geo: GeoFile) -> None:
        with self._lock:
            zone.geo = geo
            zone.table = zone.index = None
        outside = [n.owner.to_text() for n in geo.names if not n.owner.is_subdomain(origin)]
        self.log.event(
            "geoip_loaded",
            zone=origin.to_text(True),
            file=str(zone.config.file),
            mode=zone.config.mode,
            names=len(geo.names) - len(outside),
            views=sum(len(n.views) for n in geo.names),
            outside_zone=outside[:10],
        )
        if self.checker is not None:
            self.checker.set_targets(self.targets())

    def write_copy(self, origin: dns.name.Name, directory: Path) -> Path | None:
        """Write the file in service for workers (atomic rename); None if the zone has none."""
        zone = self.zones.get(origin)
        if zone is None or zone.geo is None:
            return None
        name = origin.to_text(True)
        path = directory / f"{name}.geoip"
        tmp = path.with_name(f".{name}.geoip.tmp")
        tmp.write_text(zone.geo.text, encoding="utf-8")
        os.replace(tmp, path)
        return path

    # ---- the responder's hook -----------------------------------------------------------------

    def table(self, index: ZoneIndex) -> Mapping[bytes, Steered]:
        zone = self.zones.get(index.origin)
        if zone is None or zone.geo is None:
            return {}
        with self._lock:
            if zone.index is not index or zone.table is None:
                zone.table = SteeringTable(zone.geo, index, zone.config, self.down)
                zone.index = index
            return zone.table.entries()

    def subscribe(self, listener: Callable[[], None]) -> None:
        self._changed.append(listener)

    # ---- health -------------------------------------------------------------------------------

    def targets(self) -> list[Target]:
        out: dict[str, Target] = {}
        for origin, zone in self.zones.items():
            if zone.geo is None:
                continue
            checks = {dns.name.from_text(k): v for k, v in zone.config.checks.items()}
            for geo_name in zone.geo.names:
                check = checks.get(geo_name.owner)
                if check is None or not geo_name.owner.is_subdomain(origin):
                    continue
                for view in geo_name.views:
                    for rdtype in (1, 28):
                        for rd in view.rdatas.get(rdtype, []):
                            address = str(rd.address)  # type: ignore[attr-defined]
                            key = target_key(check, address)
                            out[key] = Target(key, address, check, geo_name.owner.to_text())
        return list(out.values())

    def start_checks(self) -> None:
        """The process that owns the config (the parent) probes; call after any fork."""
        targets = self.targets()
        if not targets:
            return
        self.checker = HealthChecker(self.set_down, self.log)
        self.checker.start(targets)
        self.log.event("geoip_checks_started", targets=len(targets))

    def stop_checks(self) -> None:
        if self.checker is not None:
            self.checker.stop()
            self.checker = None

    def set_down(self, down: frozenset[str]) -> None:
        """A new health snapshot (from the checker, or from the parent in a worker)."""
        with self._lock:
            self.down = down
            tables = [z.table for z in self.zones.values() if z.table is not None]
            for table in tables:
                table.set_health(down, self._all_down)
        for changed in self._changed:
            changed()
        for listener in self.health_listeners:
            listener(down)

    def _all_down(self, name: SteeredName, views: list[GeoView]) -> None:
        if self.checker is None:
            return  # workers: the parent logs it once
        self.log.event(
            "geoip_all_unhealthy",
            name=name.geo.owner.to_text(),
            views=[{"line": v.line, "net": str(v.net) if v.net else None, "weight": v.weight} for v in views],
            answer="every address of the set (as PowerDNS ifportup)",
        )

    # ---- state --------------------------------------------------------------------------------

    def status(self) -> dict[str, object]:
        zones: dict[str, object] = {}
        for origin, zone in self.zones.items():
            geo = zone.geo
            zones[origin.to_text(True)] = {
                "file": str(zone.config.file),
                "mode": zone.config.mode,
                "scope": zone.config.scope,
                "ttl": zone.config.ttl,
                "loaded": geo is not None,
                "names": len(geo.names) if geo else 0,
                "views": sum(len(n.views) for n in geo.names) if geo else 0,
            }
        out: dict[str, object] = {"zones": zones, "unhealthy": sorted(self.down)}
        if self.checker is not None:
            out["targets"] = self.checker.status()
        return out
