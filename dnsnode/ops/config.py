"""Server configuration: one typed model, filled from the command line or a YAML file.

This module is the contract between the serving core, zone transfers and the health agent.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import dns.exception
import dns.name
import dns.rdatatype

DEFAULT_EDNS_BUFFER = 1232  # DNS flag day 2020: avoids IP fragmentation on common paths


class ConfigError(ValueError):
    """A configuration problem, phrased for the operator: where, what, and the fix."""


def parse_hostport(text: str, default_port: int = 53) -> tuple[str, int]:
    """Parse "192.0.2.1", "192.0.2.1:5353", "2001:db8::1", "[2001:db8::1]:5353"."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else default_port
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        port = int(port_text)
    else:
        host, port = text, default_port
    try:
        ipaddress.ip_address(host)
    except ValueError as exc:
        raise ConfigError(f"{text!r}: not an IP address (write 192.0.2.1:53 or [2001:db8::1]:53)") from exc
    if not 0 < port < 65536:
        raise ConfigError(f"{text!r}: port {port} out of range 1-65535")
    return host, port


@dataclass(frozen=True)
class TsigKey:
    name: str
    secret: str  # base64, as in BIND/NSD/Knot key files
    algorithm: str = "hmac-sha256"


GeoIpMode = Literal["subnet", "weighted"]
ScopeStyle = Literal["exact", "knot"]
CheckKind = Literal["tcp", "dns", "http"]


@dataclass(frozen=True)
class HealthCheckConfig:
    """A health check on every address (A/AAAA) in the answer sets of one steered name.

    tcp: connect to address:port. dns: ask qname/qtype at address:port over UDP, healthy on
    rcode NOERROR. http: GET path from address:port with Host: host (default the steered name),
    healthy on status 200-399 (or exactly `status`). rise/fall as the agent: healthy after
    `rise` successes in a row, unhealthy after `fall` failures in a row; targets start healthy.
    """

    kind: CheckKind
    port: int
    path: str = "/"  # http
    host: str | None = None  # http Host header; None: the steered name
    status: int | None = None  # http: the one status that counts as healthy; None: 200-399
    qname: str | None = None  # dns: the name to ask (default: the steered name)
    qtype: str = "A"  # dns
    interval: float = 1.0
    timeout: float = 0.5
    rise: int = 2
    fall: int = 3


CHECK_KINDS = ("tcp", "dns", "http")
CHECK_FIELDS = ("path", "host", "status", "qname", "qtype", "interval", "timeout", "rise", "fall")


def check_problem(check: HealthCheckConfig) -> str | None:
    """What is wrong with a health check's values, phrased with the fix; None when fine."""
    if check.kind not in CHECK_KINDS:
        return f"kind {check.kind!r}: use tcp, dns or http"
    if not 0 < check.port < 65536:
        return f"port {check.port}: use 1-65535"
    if not check.path.startswith("/"):
        return f"path {check.path!r}: an HTTP path starts with '/' (e.g. /healthz)"
    if check.status is not None and not 100 <= check.status <= 599:
        return f"status {check.status}: an HTTP status is 100-599"
    for what, value in (("interval", check.interval), ("timeout", check.timeout)):
        if not value > 0:
            return f"{what} {value:g}: give seconds > 0 (e.g. {what}: 1)"
    if check.rise < 1 or check.fall < 1:
        return f"rise {check.rise} / fall {check.fall}: give 1 or more (defaults 2 and 3)"
    try:
        dns.rdatatype.from_text(check.qtype)
        if check.qname is not None:
            dns.name.from_text(check.qname)
    except dns.exception.DNSException as exc:
        return f"qname {check.qname!r} / qtype {check.qtype!r}: {exc}"
    return None


@dataclass
class GeoIpConfig:
    """Steered answers for names of a zone, from a file in Knot's mod-geoip format."""

    file: Path
    mode: GeoIpMode = "subnet"
    ttl: int = 60  # TTL of the records in the file (Knot's mod-geoip `ttl`, same default)
    scope: ScopeStyle = "exact"  # "knot": Knot 3.2's ECS scopes (the matched net), for demonstrations
    checks: dict[str, HealthCheckConfig] = field(default_factory=dict)  # steered name -> its check


RRL_CLASSES = ("positive", "nxdomain", "error", "referral", "wildcard", "nodata")


@dataclass
class RrlConfig:
    """Response rate limiting (BIND's rate-limit, NSD's rrl-*, Knot's mod-rrl), UDP only.

    Each (client prefix, response class, imputed name) has an account that gains `rate`
    credits a second (at most `rate` in hand) and pays one per response; below zero the
    response is limited, and the debt may grow to `window` seconds of credit (BIND's window):
    a prefix that keeps flooding stays limited until it has been quiet long enough. Every
    `slip`-th limited response goes out truncated (TC=1, no records) so a real client behind
    the prefix retries over TCP; 0 drops them all, 1 truncates them all.
    """

    rate: int = 0  # responses per second per account; 0: RRL off
    slip: int = 2
    window: int = 15  # seconds (BIND's default)
    ipv4_prefix: int = 24
    ipv6_prefix: int = 56
    allow: list[str] = field(default_factory=list)  # CIDRs never limited
    table_size: int = 500_000  # accounts kept (Knot's table-size, NSD's rrl-size)
    class_rates: dict[str, int] = field(default_factory=dict)  # class -> its own rate (0: unlimited)

    def rate_of(self, cls: str) -> int:
        return self.class_rates.get(cls, self.rate)


def rrl_problem(rrl: RrlConfig) -> str | None:
    """What is wrong with RRL values, phrased with the fix; None when fine."""
    if rrl.rate < 0:
        return f"rate {rrl.rate}: give responses per second >= 0 (0 turns RRL off)"
    if not 0 <= rrl.slip <= 10:
        return f"slip {rrl.slip}: give 0-10 (0 drops every limited response, 1 truncates all, 2 every 2nd)"
    if not 1 <= rrl.window <= 3600:
        return f"window {rrl.window}: give 1-3600 seconds (BIND's default is 15)"
    if not 8 <= rrl.ipv4_prefix <= 32:
        return f"ipv4 prefix /{rrl.ipv4_prefix}: give 8-32 (default 24)"
    if not 16 <= rrl.ipv6_prefix <= 128:
        return f"ipv6 prefix /{rrl.ipv6_prefix}: give 16-128 (default 56)"
    if rrl.table_size < 1000:
        return f"table size {rrl.table_size}: give 1000 or more (default 500000)"
    for cls, value in rrl.class_rates.items():
        if cls not in RRL_CLASSES:
            return f"class {cls!r}: use one of {', '.join(RRL_CLASSES)}"
        if value < 0:
            return f"class {cls} rate {value}: give >= 0 (0: that class is not limited)"
    if rrl.class_rates and not rrl.rate:
        return "class rates without a rate: set the rate too (e.g. rate: 100)"
    for text in rrl.allow:
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            return f"allow {text!r}: not an address or CIDR (e.g. 192.0.2.0/24)"
    return None


@dataclass
class ZoneConfig:
    name: str
    # primary: the master file served and watched for edits.
    # secondary: where the transferred zone is kept on disk (optional; survives restarts).
    file: Path | None = None
    role: Literal["primary", "secondary"] = "primary"
    # secondary: the primaries to pull from, as (address, port); NOTIFY is accepted only from them
    # (plus allow_notify).
    primaries: list[tuple[str, int]] = field(default_factory=list)
    allow_notify: list[str] = field(default_factory=list)  # CIDRs, in addition to primaries
    # primary (or a secondary that feeds others): who gets NOTIFY, who may transfer.
    notify: list[tuple[str, int]] = field(default_factory=list)
    allow_transfer: list[str] = field(default_factory=list)  # CIDRs; empty = nobody
    tsig_key: str | None = None  # name of a key in ServerConfig.tsig_keys; required on transfers if set
    journal_size: int = 100  # IXFR diffs kept per zone
    geoip: GeoIpConfig | None = None  # steered names (dnsnode.steering)


@dataclass
class ServerConfig:
    listen: list[tuple[str, int]] = field(default_factory=lambda: [("127.0.0.1", 53)])
    zones: list[ZoneConfig] = field(default_factory=list)
    identity: str | None = None  # the site name: NSID, id.server, hostname.bind default to it
    # None = answer with the default below; "" = hidden (REFUSED for CH TXT, no NSID option).
    nsid: str | None = None
    id_server: str | None = None
    hostname_bind: str | None = None
    version_bind: str | None = None  # None: "dnsnode <version>" (not the identity); "": hidden
    edns_buffer: int = DEFAULT_EDNS_BUFFER
    tcp_idle_timeout: float = 10.0  # between messages on a connection (Knot's tcp-idle-timeout)
    # to receive or send one message once its first byte is there (Knot's tcp-io-timeout,
    # 500 ms): a client trickling a half-sent query cannot hold its slot for the idle timeout
    tcp_io_timeout: float = 0.5
    tcp_max_connections: int = 200  # at the limit, the longest-idle connection makes room
    tcp_max_queries_per_connection: int = 1000
    workers: int = 1
    # Outgoing NOTIFY (RFC 1996 3.6: retransmissions and interval are operator parameters; it
    # suggests 5 retransmissions 60 s apart). We retry fast first (secondaries are usually a
    # LAN away), doubling the wait from notify_interval up to notify_max_interval (the RFC's
    # 60 s), for notify_retries retransmissions: defaults 1 s, 60 s, 8 -> given up after 243 s.
    notify_retries: int = 8
    notify_interval: float = 1.0
    notify_max_interval: float = 60.0
    control_socket: Path | None = None  # unix socket: stats, status, reload (JSON lines)
    state_dir: Path | None = None  # journals, secondary copies, stats.json
    tsig_keys: dict[str, TsigKey] = field(default_factory=dict)
    log_file: Path | None = None
    rrl: RrlConfig = field(default_factory=RrlConfig)
    metrics: tuple[str, int] | None = None  # Prometheus exporter (HTTP) address, e.g. 127.0.0.1:9153

    def effective(self, value: str | None) -> str | None:
        """Resolve an identity-derived option: None falls back to identity, "" hides it."""
        if value is None:
            return self.identity
        return value or None
