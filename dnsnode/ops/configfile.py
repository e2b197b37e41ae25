"""Read a YAML server config into dnsnode.ops.config.ServerConfig; errors say FILE:LINE, what, and the fix.

Relative paths (zone files, sockets, state dir, log file) are relative to the YAML file's folder.

    listen: ["127.0.0.1:5353", "[::1]:5353"]
    identity: fra-1
    zones:
      - name: example.net
        file: zones/example.net.zone
      - name: example.org
        role: secondary
        primaries: ["192.0.2.1:53"]
      - name: cdn.example.net
        file: zones/cdn.example.net.zone
        geoip:                          # steered names, Knot's mod-geoip file format
          file: geo/cdn.example.net.geo
          mode: subnet                  # or weighted
          ttl: 60
          scope: exact                  # or knot (Knot 3.2's scopes, demonstrations only)
          checks:                       # health checks of the addresses a name answers
            www.cdn.example.net: {kind: http, port: 80, path: /healthz, interval: 1, rise: 2, fall: 3}
    tsig_keys:
      xfr-key: {secret: "base64==", algorithm: hmac-sha256}
    rrl:                                # response rate limiting over UDP (off without a rate)
      rate: 100                         # responses per second per prefix, class and name
      slip: 2                           # every 2nd limited response truncated (TC=1), 0: drop all
      window: 15
      ipv4_prefix: 24
      ipv6_prefix: 56
      allow: ["192.0.2.0/24"]           # never limited
      classes: {nxdomain: 20}           # a class's own rate (positive, nxdomain, error, referral,
                                        # wildcard, nodata; 0: not limited)
    metrics: 127.0.0.1:9153             # Prometheus exporter (HTTP /metrics)
"""

from __future__ import annotations

import difflib
import ipaddress
from dataclasses import fields
from pathlib import Path

import yaml

from dnsnode.ops.config import (
    CHECK_FIELDS,
    CHECK_KINDS,
    RRL_CLASSES,
    ConfigError,
    GeoIpConfig,
    HealthCheckConfig,
    RrlConfig,
    ServerConfig,
    TsigKey,
    ZoneConfig,
    check_problem,
    parse_hostport,
    rrl_problem,
)

_SERVER_FIELDS = {f.name for f in fields(ServerConfig)}
_ZONE_FIELDS = {f.name for f in fields(ZoneConfig)}
_TSIG_FIELDS = {"secret", "algorithm"}
_GEOIP_FIELDS = {"file", "mode", "ttl", "scope", "checks"}
_CHECK_KEYS = {"kind", "port", *CHECK_FIELDS}
_STR_OPTIONAL = {"identity", "nsid", "id_server", "hostname_bind", "version_bind"}
_INT = {"edns_buffer", "tcp_max_connections", "tcp_max_queries_per_connection", "workers", "notify_retries"}
_FLOAT = {"tcp_idle_timeout", "tcp_io_timeout", "notify_interval", "notify_max_interval"}
_PATHS = {"control_socket", "state_dir", "log_file"}
_RRL_FIELDS = {"rate", "slip", "window", "ipv4_prefix", "ipv6_prefix", "allow", "table_size", "classes"}


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.base = path.parent

    def fail(self, node: yaml.Node | None, message: str) -> ConfigError:
        line = node.start_mark.line + 1 if node is not None else 1
        return ConfigError(f"{self.path}:{line}: {message}")

    def scalar(self, node: yaml.Node, what: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, f"{what}: expected a single value, got a {_kind(node)}")
        if node.tag == "tag:yaml.org,2002:null":
            return None
        return str(node.value)

    def text(self, node: yaml.Node, what: str) -> str:
        value = self.scalar(node, what)
        if value is None:
            raise self.fail(node, f"{what}: a value is required")
        return value

    def seq(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:null":
            return [node]  # a single item may be written without brackets
        if isinstance(node, yaml.ScalarNode):
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"{what}: expected a list, got a {_kind(node)}")
        return list(node.value)

    def mapping(
        self, node: yaml.Node, what: str, allowed: set[str]
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what}: expected a mapping (key: value), got a {_kind(node)}")
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if allowed and key not in allowed:
                close = difflib.get_close_matches(key, sorted(allowed), n=1)
                hint = f"did you mean {close[0]!r}?" if close else "known: " + ", ".join(sorted(allowed))
                raise self.fail(key_node, f"unknown {what} field {key!r} ({hint})")
            if key in out:
                raise self.fail(key_node, f"{what} field {key!r} given twice (keep one)")
            out[key] = (key_node, value_node)
        return out

    def integer(self, node: yaml.Node, what: str, low: int, high: int) -> int:
        text = self.text(node, what)
        try:
            value = int(text)
        except ValueError:
            raise self.fail(node, f"{what}: {text!r} is not a whole number") from None
        if not low <= value <= high:
            raise self.fail(node, f"{what}: {value} out of range (use {low}-{high})")
        return value

    def number(self, node: yaml.Node, what: str) -> float:
        text = self.text(node, what)
        try:
            value = float(text)
        except ValueError:
            raise self.fail(node, f"{what}: {text!r} is not a number (seconds, e.g. 10)") from None
        if value <= 0:
            raise self.fail(node, f"{what}: must be positive")
        return value

    def hostport(self, node: yaml.Node, what: str, default_port: int = 53) -> tuple[str, int]:
        text = self.text(node, what)
        try:
            return parse_hostport(text, default_port)
        except (ConfigError, ValueError) as exc:
            raise self.fail(node, f"{what}: {exc}") from None

    def cidr(self, node: yaml.Node, what: str) -> str:
        text = self.text(node, what)
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise self.fail(node, f"{what}: {text!r} is not an address or CIDR (e.g. 192.0.2.0/24)") from None
        return text

    def path_value(self, node: yaml.Node, what: str) -> Path:
        path = Path(self.text(node, what))
        return path if path.is_absolute() else self.base / path


def load_config_file(path: Path) -> ServerConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}:0: cannot read config file: {exc.strerror} (check the path)") from None
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}:{line}: YAML syntax: {problem} (check indentation and quoting)") from None
    config = ServerConfig()
    if root is None:
        return config
    reader = _Reader(path)
    for key, (key_node, node) in reader.mapping(root, "server", _SERVER_FIELDS).items():
        if key == "listen":
            config.listen = [reader.hostport(n, "listen") for n in reader.seq(node, "listen")]
            if not config.listen:
                raise reader.fail(node, "listen: give at least one address, e.g. 127.0.0.1:53")
        elif key == "zones":
            config.zones = [_zone(reader, n) for n in reader.seq(node, "zones")]
        elif key in _STR_OPTIONAL:
            setattr(config, key, reader.scalar(node, key))
        elif key in _INT:
            high = 64 if key == "workers" else 65535
            low = 512 if key == "edns_buffer" else 0 if key == "notify_retries" else 1
            setattr(config, key, reader.integer(node, key, low, high))
        elif key in _FLOAT:
            setattr(config, key, reader.number(node, key))
        elif key in _PATHS:
            setattr(config, key, reader.path_value(node, key))
        elif key == "tsig_keys":
            config.tsig_keys = _tsig_keys(reader, node)
        elif key == "rrl":
            config.rrl = _rrl(reader, node)
        elif key == "metrics":
            config.metrics = reader.hostport(node, "metrics", 9153)
        else:
            raise reader.fail(key_node, f"field {key!r} cannot be set from a file")
    names = [z.name for z in config.zones]
    for zone in config.zones:
        if names.count(zone.name) > 1:
            raise ConfigError(f"{path}:1: zone {zone.name} listed twice (keep one entry)")
        if zone.tsig_key and zone.tsig_key not in config.tsig_keys:
            raise ConfigError(f"{path}:1: zone {zone.name}: tsig_key {zone.tsig_key!r} is not in tsig_keys")
    return config


def _zone(reader: _Reader, node: yaml.Node) -> ZoneConfig:
    items = reader.mapping(node, "zone", _ZONE_FIELDS)
    if "name" not in items:
        raise reader.fail(node, "zone: 'name' is required (e.g. name: example.net)")
    zone = ZoneConfig(name=reader.text(items["name"][1], "zone name").rstrip(".") or ".")
    for key, (_key_node, value) in items.items():
        what = f"zone {zone.name}: {key}"
        if key == "file":
            zone.file = reader.path_value(value, what)
        elif key == "role":
            role = reader.text(value, what)
            if role not in ("primary", "secondary"):
                raise reader.fail(value, f"{what}: {role!r} (use primary or secondary)")
            zone.role = role  # type: ignore[assignment]
        elif key in ("primaries", "notify"):
            setattr(zone, key, [reader.hostport(n, what) for n in reader.seq(value, what)])
        elif key in ("allow_notify", "allow_transfer"):
            setattr(zone, key, [reader.cidr(n, what) for n in reader.seq(value, what)])
        elif key == "tsig_key":
            zone.tsig_key = reader.scalar(value, what)
        elif key == "journal_size":
            zone.journal_size = reader.integer(value, what, 0, 1_000_000)
        elif key == "geoip":
            zone.geoip = _geoip(reader, value, zone.name)
    if zone.role == "primary" and zone.file is None:
        raise reader.fail(node, f"zone {zone.name}: a primary needs 'file: PATH' (or set role: secondary)")
    if zone.role == "secondary" and not zone.primaries:
        raise reader.fail(node, f"zone {zone.name}: a secondary needs 'primaries: [ADDR:PORT]'")
    return zone


def _choice(reader: _Reader, node: yaml.Node, what: str, choices: tuple[str, ...]) -> str:
    value = reader.text(node, what)
    if value not in choices:
        raise reader.fail(node, f"{what}: {value!r} (use {' or '.join(choices)})")
    return value


def _geoip(reader: _Reader, node: yaml.Node, zone: str) -> GeoIpConfig:
    items = reader.mapping(node, f"zone {zone}: geoip", _GEOIP_FIELDS)
    if "file" not in items:
        raise reader.fail(node, f"zone {zone}: geoip: 'file' is required (Knot's mod-geoip format)")
    geoip = GeoIpConfig(reader.path_value(items["file"][1], f"zone {zone}: geoip file"))
    for key, (_key_node, value) in items.items():
        what = f"zone {zone}: geoip {key}"
        if key == "mode":
            geoip.mode = _choice(reader, value, what, ("subnet", "weighted"))  # type: ignore[assignment]
        elif key == "scope":
            geoip.scope = _choice(reader, value, what, ("exact", "knot"))  # type: ignore[assignment]
        elif key == "ttl":
            geoip.ttl = reader.integer(value, what, 0, 2**31 - 1)
        elif key == "checks":
            for name, (name_node, check_node) in reader.mapping(value, what, set()).items():
                owner = (name if name.endswith(".") else name + ".").lower()
                geoip.checks[owner] = _check(reader, check_node, f"{what} {name}", name_node)
    return geoip


def _check(reader: _Reader, node: yaml.Node, what: str, name_node: yaml.Node) -> HealthCheckConfig:
    items = reader.mapping(node, what, _CHECK_KEYS)
    for required in ("kind", "port"):
        if required not in items:
            raise reader.fail(name_node, f"{what}: '{required}' is required (e.g. kind: http, port: 80)")
    kind = _choice(reader, items["kind"][1], f"{what} kind", CHECK_KINDS)
    fields: dict[str, object] = {}
    for key, (_k, value) in items.items():
        if key in ("interval", "timeout"):
            fields[key] = reader.number(value, f"{what} {key}")
        elif key in ("rise", "fall"):
            fields[key] = reader.integer(value, f"{what} {key}", 1, 1000)
        elif key == "status":
            fields[key] = reader.integer(value, f"{what} {key}", 100, 599)
        elif key in ("path", "host", "qname", "qtype"):
            fields[key] = reader.text(value, f"{what} {key}")
    port = reader.integer(items["port"][1], f"{what} port", 1, 65535)
    check = HealthCheckConfig(kind, port, **fields)  # type: ignore[arg-type]
    problem = check_problem(check)
    if problem:
        raise reader.fail(node, f"{what}: {problem}")
    return check


def _rrl(reader: _Reader, node: yaml.Node) -> RrlConfig:
    rrl = RrlConfig()
    for key, (_key_node, value) in reader.mapping(node, "rrl", _RRL_FIELDS).items():
        what = f"rrl {key}"
        if key == "allow":
            rrl.allow = [reader.cidr(n, what) for n in reader.seq(value, what)]
        elif key == "classes":
            for cls, (_cls_node, rate_node) in reader.mapping(value, what, set(RRL_CLASSES)).items():
                rrl.class_rates[cls] = reader.integer(rate_node, f"rrl class {cls}", 0, 10_000_000)
        else:
            low, high = {
                "rate": (0, 10_000_000),
                "slip": (0, 10),
                "window": (1, 3600),
                "ipv4_prefix": (8, 32),
                "ipv6_prefix": (16, 128),
                "table_size": (1000, 100_000_000),
            }[key]
            setattr(rrl, key, reader.integer(value, what, low, high))
    problem = rrl_problem(rrl)
    if problem:
        raise reader.fail(node, f"rrl: {problem}")
    return rrl


def _tsig_keys(reader: _Reader, node: yaml.Node) -> dict[str, TsigKey]:
    keys: dict[str, TsigKey] = {}
    for name, (_key_node, value) in reader.mapping(node, "tsig_keys", set()).items():
        items = reader.mapping(value, f"tsig key {name}", _TSIG_FIELDS)
        if "secret" not in items:
            raise reader.fail(value, f"tsig key {name}: 'secret' (base64) is required")
        secret = reader.text(items["secret"][1], f"tsig key {name}: secret")
        algorithm = reader.text(items["algorithm"][1], "algorithm") if "algorithm" in items else "hmac-sha256"
        keys[name] = TsigKey(name, secret, algorithm)
    return keys


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "mapping"
    return "list" if isinstance(node, yaml.SequenceNode) else "value"
