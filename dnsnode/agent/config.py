"""Agent configuration: typed dataclasses, filled from agent.yml and overridden by flags.

Every error names where the value came from (agent.yml:LINE or --flag), what is wrong and
the fix, e.g. `agent.yml:7: check.interval: expected a number > 0, got 'fast' (fix: interval: 1.0)`.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import dns.exception
import dns.name
import dns.rcode
import dns.rdatatype
import yaml

from dnsnode.ops.config import ConfigError, parse_hostport

Prefix = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class CheckConfig:
    server: str = "127.0.0.1"  # the service address as the site answers it (on lo)
    port: int = 53
    name: str = "."
    type: str = "SOA"
    expect: list[str] = field(default_factory=list)  # rdata texts that must all be in the answer
    rcode: str = "NOERROR"
    aa: bool = True  # authoritative server: the answer must carry AA
    transport: Literal["udp", "tcp"] = "udp"
    interval: float = 1.0
    timeout: float = 0.5
    rise: int = 2
    fall: int = 3


@dataclass
class SerialConfig:
    zone: str
    primary: tuple[str, int]
    max_lag: int = 0  # serial steps behind the primary that are tolerated
    grace: float = 60.0  # seconds the lag may exceed max_lag before the site is unhealthy
    interval: float = 5.0
    timeout: float = 1.0


@dataclass
class BirdConfig:
    include_file: Path  # the file bird.conf includes; owned and rewritten by the agent
    socket: Path
    birdc: str = "birdc"


@dataclass
class FrrConfig:
    asn: int
    vtysh: str = "vtysh"
    vty_socket: Path | None = None  # daemons started with --vty_socket DIR
    pathspace: str | None = None  # daemons started with -N NAME


@dataclass
class DrainConfig:
    method: Literal["community", "prepend"] = "community"
    prepend: int = 3  # AS-path prepends while draining (method prepend)
    asn: int | None = None  # the ASN to prepend; default: the FRR speaker's ASN
    hold: float = 30.0  # seconds with drain attributes before withdrawing; inf: until ctl withdraw
    file: Path | None = None  # maintenance switch: present = drain


@dataclass
class AgentConfig:
    prefixes: list[Prefix]
    speaker: Literal["bird", "frr"]
    check: CheckConfig = field(default_factory=CheckConfig)
    serial: SerialConfig | None = None
    bird: BirdConfig | None = None
    frr: FrrConfig | None = None
    drain: DrainConfig = field(default_factory=DrainConfig)
    control_socket: Path | None = None
    log_file: Path | None = None
    command_timeout: float = 10.0  # one speaker command (birdc, vtysh)
    retry_max: float = 5.0  # longest pause between retries of a failed speaker command
    # seconds between reads of the speaker's actual state (0: never). A restarted FRR loses
    # the agent's vtysh changes; this is how the agent notices and re-applies them.
    reconcile_interval: float = 5.0

    @property
    def drain_asn(self) -> int | None:
        if self.drain.asn is not None:
            return self.drain.asn
        return self.frr.asn if self.frr else None


# --- converters: raw YAML value or flag string -> typed value, or ValueError("expected ...")


def _num(min_excl: float = 0.0) -> Callable[[Any], float]:
    def conv(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            raise ValueError(f"expected a number > {min_excl:g}")
        try:
            f = float(v)
        except ValueError:
            raise ValueError(f"expected a number > {min_excl:g}") from None
        if not f > min_excl:
            raise ValueError(f"expected a number > {min_excl:g}")
        return f

    return conv


def _int(lo: int, hi: int) -> Callable[[Any], int]:
    def conv(v: Any) -> int:
        if isinstance(v, bool):
            raise ValueError(f"expected an integer {lo}-{hi}")
        try:
            i = int(v)
        except (TypeError, ValueError):
            raise ValueError(f"expected an integer {lo}-{hi}") from None
        if not lo <= i <= hi or (isinstance(v, float) and v != i):
            raise ValueError(f"expected an integer {lo}-{hi}")
        return i

    return conv


def _str(v: Any) -> str:
    if not isinstance(v, str | int) or isinstance(v, bool) or str(v) == "":
        raise ValueError("expected a non-empty string")
    return str(v)


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "yes", "1", "false", "no", "0"):
        return v.lower() in ("true", "yes", "1")
    raise ValueError("expected true or false")


def _hold(v: Any) -> float:
    """Seconds >= 0, or "manual": keep draining until `dnsnode agent ctl withdraw` (or undrain)."""
    if v == "manual":
        return math.inf
    return _num(-1)(v)


def _choice(*options: str) -> Callable[[Any], str]:
    def conv(v: Any) -> str:
        if v not in options:
            raise ValueError("expected one of " + ", ".join(options))
        return str(v)

    return conv


def _ip(v: Any) -> str:
    try:
        return str(ipaddress.ip_address(str(v)))
    except ValueError:
        raise ValueError("expected an IP address") from None


def _dname(v: Any) -> str:
    try:
        return dns.name.from_text(_str(v)).to_text()
    except dns.exception.DNSException as exc:
        raise ValueError(f"expected a domain name ({exc})") from None


def _rdtype(v: Any) -> str:
    try:
        return dns.rdatatype.to_text(dns.rdatatype.from_text(_str(v)))
    except dns.rdatatype.UnknownRdatatype:
        raise ValueError("expected an RR type such as SOA, A, AAAA, TXT") from None


def _rcode(v: Any) -> str:
    try:
        return dns.rcode.to_text(dns.rcode.from_text(_str(v)))
    except dns.rcode.UnknownRcode:
        raise ValueError("expected an rcode such as NOERROR, NXDOMAIN") from None


def _hostport(v: Any) -> tuple[str, int]:
    try:
        return parse_hostport(_str(v))
    except ConfigError as exc:
        raise ValueError(str(exc)) from None


def _path(v: Any) -> Path:
    return Path(_str(v))


def _prefixes(v: Any) -> list[Prefix]:
    items = v if isinstance(v, list) else [v]
    out: list[Prefix] = []
    for item in items:
        try:
            out.append(ipaddress.ip_network(str(item)))
        except ValueError as exc:
            raise ValueError(f"expected prefixes such as 198.51.100.0/24 ({exc})") from None
    return out


def _strlist(v: Any) -> list[str]:
    items = v if isinstance(v, list) else [v]
    return [_str(i) for i in items]


@dataclass(frozen=True)
class Key:
    conv: Callable[[Any], Any]
    example: str  # shown as the fix
    flag: str | None = None  # command-line override
    repeat: bool = False  # flag may be given several times (a list)


KEYS: dict[str, Key] = {
    "prefixes": Key(_prefixes, "prefixes: [198.51.100.0/24, 2001:db8:53::/48]", "--prefix", True),
    "check.server": Key(_ip, "server: 198.51.100.53", "--server"),
    "check.port": Key(_int(1, 65535), "port: 53", "--port"),
    "check.name": Key(_dname, "name: example.net.", "--check-name"),
    "check.type": Key(_rdtype, "type: SOA", "--check-type"),
    "check.expect": Key(_strlist, 'expect: ["198.51.100.10"]', "--expect", True),
    "check.rcode": Key(_rcode, "rcode: NOERROR", "--expect-rcode"),
    "check.aa": Key(_bool, "aa: true"),
    "check.transport": Key(_choice("udp", "tcp"), "transport: udp", "--transport"),
    "check.interval": Key(_num(), "interval: 1.0", "--interval"),
    "check.timeout": Key(_num(), "timeout: 0.5", "--timeout"),
    "check.rise": Key(_int(1, 1000), "rise: 2", "--rise"),
    "check.fall": Key(_int(1, 1000), "fall: 3", "--fall"),
    "serial.zone": Key(_dname, "zone: example.net.", "--serial-zone"),
    "serial.primary": Key(_hostport, "primary: 192.0.2.1:53", "--serial-primary"),
    "serial.max_lag": Key(_int(0, 2**31 - 1), "max_lag: 0", "--serial-max-lag"),
    "serial.grace": Key(_num(-1), "grace: 60", "--serial-grace"),
    "serial.interval": Key(_num(), "interval: 5", "--serial-interval"),
    "serial.timeout": Key(_num(), "timeout: 1.0"),
    "speaker.kind": Key(_choice("bird", "frr"), "kind: bird", "--speaker"),
    "speaker.include_file": Key(_path, "include_file: /etc/bird/anycast.conf", "--bird-include"),
    "speaker.socket": Key(_path, "socket: /run/bird/bird.ctl", "--bird-socket"),
    "speaker.birdc": Key(_str, "birdc: birdc"),
    "speaker.asn": Key(_int(1, 2**32 - 1), "asn: 64500", "--frr-asn"),
    "speaker.vtysh": Key(_str, "vtysh: vtysh"),
    "speaker.vty_socket": Key(_path, "vty_socket: /run/frr/site1", "--frr-vty-socket"),
    "speaker.pathspace": Key(_str, "pathspace: site1", "--frr-pathspace"),
    "drain.method": Key(_choice("community", "prepend"), "method: community", "--drain-method"),
    "drain.prepend": Key(_int(1, 32), "prepend: 3", "--drain-prepend"),
    "drain.asn": Key(_int(1, 2**32 - 1), "asn: 64500", "--drain-asn"),
    "drain.hold": Key(_hold, "hold: 30 (or manual: until ctl withdraw)", "--drain-hold"),
    "drain.file": Key(_path, "file: /run/dnsnode/drain", "--drain-file"),
    "control_socket": Key(_path, "control_socket: /run/dnsnode/agent.sock", "--control-socket"),
    "log_file": Key(_path, "log_file: /var/log/dnsnode/agent.jsonl", "--log-file"),
    "command_timeout": Key(_num(), "command_timeout: 10"),
    "retry_max": Key(_num(), "retry_max: 5"),
    "reconcile_interval": Key(_num(-1), "reconcile_interval: 5 (0: off)", "--reconcile-interval"),
}
SECTIONS = sorted({k.split(".")[0] for k in KEYS if "." in k})


@dataclass
class Source:
    """Values with where each came from ("agent.yml:12" or "--interval")."""

    values: dict[str, Any] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)

    def set(self, key: str, raw: Any, where: str) -> None:
        spec = KEYS[key]
        try:
            self.values[key] = spec.conv(raw)
        except ValueError as exc:
            raise ConfigError(f"{where}: {key}: {exc}, got {raw!r} (fix: {spec.example})") from None
        self.where[key] = where


def load_yaml(path: Path, source: Source | None = None) -> Source:
    source = source or Source()
    try:
        text = path.read_text()
    except OSError as exc:
        fix = "pass an existing file to --config"
        raise ConfigError(f"{path}: cannot read: {exc.strerror} (fix: {fix})") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        fix = "check indentation and quoting"
        raise ConfigError(f"{path}:{line}: YAML syntax: {exc.problem} (fix: {fix})") from None
    if root is None:
        return source
    constructor = yaml.SafeLoader("")

    def at(node: yaml.Node) -> str:
        return f"{path}:{node.start_mark.line + 1}"

    def mapping(node: yaml.Node, what: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            fix = "indent its keys under it"
            raise ConfigError(f"{at(node)}: {what}: expected a mapping of key: value (fix: {fix})")
        return [(str(k.value), k, v) for k, v in node.value]

    for name, knode, vnode in mapping(root, "top level"):
        if name in SECTIONS:
            for sub, sknode, svnode in mapping(vnode, name):
                key = f"{name}.{sub}"
                if key not in KEYS:
                    known = ", ".join(k.split(".", 1)[1] for k in KEYS if k.startswith(name + "."))
                    raise ConfigError(f"{at(sknode)}: unknown key {key!r} (fix: use one of {known})")
                source.set(key, constructor.construct_object(svnode, deep=True), at(svnode))
        elif name in KEYS:
            source.set(name, constructor.construct_object(vnode, deep=True), at(vnode))
        else:
            known = ", ".join(sorted({k.split(".")[0] for k in KEYS}))
            raise ConfigError(f"{at(knode)}: unknown key {name!r} (fix: use one of {known})")
    return source


def build(source: Source) -> AgentConfig:
    """Check the combination of values and make the typed config."""
    v, where = source.values, source.where

    def need(key: str, why: str) -> Any:
        if key not in v:
            flag = KEYS[key].flag
            hint = f", or the flag {flag}" if flag else ""
            section = f" under {key.split('.')[0]}:" if "." in key else ""
            raise ConfigError(
                f"{key} is required {why} (fix: {KEYS[key].example}{section} in agent.yml{hint})"
            )
        return v[key]

    def sub(prefix: str) -> dict[str, Any]:
        return {k.split(".", 1)[1]: val for k, val in v.items() if k.startswith(prefix + ".")}

    prefixes = need("prefixes", "(the anycast prefixes to announce)")
    if not prefixes:
        fix = KEYS["prefixes"].example
        raise ConfigError(f"{where.get('prefixes', 'prefixes')}: prefixes: empty (fix: {fix})")
    kind = need("speaker.kind", "(which BGP speaker announces the prefixes)")
    check = CheckConfig(**sub("check"))
    if check.timeout > check.interval:
        raise ConfigError(
            f"{where.get('check.timeout', '--timeout')}: check.timeout {check.timeout:g} s is longer than "
            f"check.interval {check.interval:g} s (fix: timeout: {check.interval / 2:g})"
        )
    serial = None
    if any(k.startswith("serial.") for k in v):
        need("serial.zone", "when serial is set")
        need("serial.primary", "when serial is set")
        serial = SerialConfig(**sub("serial"))
    speaker = sub("speaker")
    speaker.pop("kind")
    bird = frr = None
    if kind == "bird":
        need("speaker.include_file", "for speaker kind bird")
        need("speaker.socket", "for speaker kind bird")
        extra = set(speaker) - {"include_file", "socket", "birdc"}
        if extra:
            k = "speaker." + sorted(extra)[0]
            raise ConfigError(f"{where[k]}: {k} is an FRR option but speaker.kind is bird (fix: remove it)")
        bird = BirdConfig(**speaker)
    else:
        need("speaker.asn", "for speaker kind frr")
        extra = set(speaker) - {"asn", "vtysh", "vty_socket", "pathspace"}
        if extra:
            k = "speaker." + sorted(extra)[0]
            raise ConfigError(f"{where[k]}: {k} is a BIRD option but speaker.kind is frr (fix: remove it)")
        frr = FrrConfig(**speaker)
    drain = DrainConfig(**sub("drain"))
    top = {k: val for k, val in v.items() if "." not in k and k != "prefixes"}
    cfg = AgentConfig(
        prefixes=prefixes, speaker=kind, check=check, serial=serial, bird=bird, frr=frr, drain=drain, **top
    )
    if drain.method == "prepend" and cfg.drain_asn is None:
        raise ConfigError(
            f"{where.get('drain.method', '--drain-method')}: drain.method prepend needs the ASN to prepend "
            f"(fix: {KEYS['drain.asn'].example} under drain, or --drain-asn)"
        )
    return cfg
