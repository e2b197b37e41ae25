"""`dnsnode serve | ctl | agent`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dnsnode.ops.config import (
    CHECK_FIELDS,
    CHECK_KINDS,
    ConfigError,
    GeoIpConfig,
    HealthCheckConfig,
    ServerConfig,
    TsigKey,
    ZoneConfig,
    check_problem,
    parse_hostport,
    rrl_problem,
)
from dnsnode.ops.configfile import load_config_file


def _serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the authoritative server")
    p.add_argument("--config", type=Path, help="YAML file with ServerConfig fields (flags override it)")
    p.add_argument(
        "--listen",
        action="append",
        default=[],
        metavar="ADDR[:PORT]",
        help="address to serve on, repeatable: 127.0.0.1:5353, [::1]:5353",
    )
    p.add_argument(
        "--zone", action="append", default=[], metavar="ZONE=FILE", help="a primary zone from a master file"
    )
    p.add_argument(
        "--secondary",
        action="append",
        default=[],
        metavar="ZONE=ADDR[:PORT]",
        help="a secondary zone pulled from that primary (repeat for more primaries)",
    )
    p.add_argument("--identity", help="site name: default for NSID, id.server, hostname.bind")
    p.add_argument("--nsid", help="NSID option text ('' hides it)")
    p.add_argument("--id-server", dest="id_server", help="CH TXT id.server ('' hides: REFUSED)")
    p.add_argument("--hostname-bind", dest="hostname_bind", help="CH TXT hostname.bind ('' hides)")
    p.add_argument("--version-bind", dest="version_bind", help="CH TXT version.bind ('' hides)")
    p.add_argument("--workers", type=int, help="serving processes sharing the ports (SO_REUSEPORT)")
    p.add_argument("--control-socket", dest="control_socket", type=Path, help="unix socket for dnsnode ctl")
    p.add_argument("--state-dir", dest="state_dir", type=Path, help="stats.json, zone copies, journals")
    p.add_argument("--tsig-key", dest="tsig_key", action="append", default=[], metavar="NAME:ALG:SECRET")
    p.add_argument("--log-file", dest="log_file", type=Path, help="JSON lines log (default stderr)")
    p.add_argument("--edns-buffer", dest="edns_buffer", type=int, help="our EDNS UDP size (default 1232)")
    p.add_argument(
        "--geoip",
        action="append",
        default=[],
        metavar="ZONE=FILE",
        help="steer names of ZONE by FILE, in Knot's mod-geoip format (subnet or weighted)",
    )
    p.add_argument("--geoip-mode", dest="geoip_mode", choices=["subnet", "weighted"], help="(subnet)")
    p.add_argument("--geoip-ttl", dest="geoip_ttl", type=int, help="TTL of the file's records (60, as Knot)")
    p.add_argument(
        "--geoip-scope",
        dest="geoip_scope",
        choices=["exact", "knot"],
        help="ECS SCOPE: exact (coarsest correct, default) or knot (Knot 3.2's: demonstrations only)",
    )
    p.add_argument(
        "--geoip-check",
        dest="geoip_check",
        action="append",
        default=[],
        metavar="NAME=KIND:PORT[/PATH][,KEY=VALUE...]",
        help="health-check the addresses NAME answers: tcp:443, http:80/healthz,status=200, "
        "dns:53,qname=probe.example.net; keys interval, timeout, rise, fall, host, status, qname, qtype",
    )
    for flag, text in (
        ("--rrl-rate", "RRL: UDP responses per second per prefix, class and name (0/unset: off)"),
        (
            "--rrl-slip",
            "RRL: every Nth limited response truncated, TC=1 (2; 0 drops all, 1 truncates all)",
        ),
        ("--rrl-window", "RRL: seconds of debt a flooding prefix must pay off (15, as BIND)"),
        ("--rrl-ipv4-prefix", "RRL: IPv4 client prefix length (24)"),
        ("--rrl-ipv6-prefix", "RRL: IPv6 client prefix length (56)"),
        ("--rrl-table-size", "RRL: accounts kept (500000)"),
    ):
        p.add_argument(flag, dest=flag[2:].replace("-", "_"), type=int, help=text)
    p.add_argument(
        "--rrl-allow", dest="rrl_allow", action="append", default=[], metavar="CIDR", help="RRL: never limit"
    )
    p.add_argument(
        "--rrl-class-rate",
        dest="rrl_class_rate",
        action="append",
        default=[],
        metavar="CLASS=N",
        help="RRL: a class's own rate (positive, nxdomain, error, referral, wildcard, nodata; 0: unlimited)",
    )
    p.add_argument(
        "--metrics",
        metavar="ADDR:PORT",
        help="serve Prometheus metrics over HTTP at /metrics (e.g. 127.0.0.1:9153)",
    )
    for flag, kind, text in (
        ("--notify-retries", int, "NOTIFY retransmissions before giving up (8)"),
        ("--notify-interval", float, "first NOTIFY retry wait, s (1; doubles)"),
        ("--notify-max-interval", float, "longest NOTIFY retry wait, s (60, RFC 1996 3.6)"),
    ):
        p.add_argument(flag, dest=flag[2:].replace("-", "_"), type=kind, help=text)


def build_config(args: argparse.Namespace) -> ServerConfig:
    config = load_config_file(args.config) if args.config else ServerConfig()
    if args.listen:
        config.listen = [parse_hostport(text) for text in args.listen]
    for spec in args.zone:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ConfigError(
                f"--zone {spec!r}: write ZONE=FILE, e.g. --zone example.net=zones/example.net.zone"
            )
        _replace_zone(config, ZoneConfig(name=name.rstrip("."), file=Path(path)))
    secondaries: dict[str, ZoneConfig] = {}
    for spec in args.secondary:
        name, sep, addr = spec.partition("=")
        if not sep or not name or not addr:
            raise ConfigError(f"--secondary {spec!r}: write ZONE=ADDR[:PORT], e.g. example.net=192.0.2.1:53")
        key = name.rstrip(".")
        zone = secondaries.setdefault(key, ZoneConfig(name=key, role="secondary"))
        zone.primaries.append(parse_hostport(addr))
    for zone in secondaries.values():
        _replace_zone(config, zone)
    for field in (
        "identity",
        "nsid",
        "id_server",
        "hostname_bind",
        "version_bind",
        "control_socket",
        "state_dir",
        "log_file",
        "workers",
        "edns_buffer",
        "notify_retries",
        "notify_interval",
        "notify_max_interval",
    ):
        value = getattr(args, field)
        if value is not None:
            setattr(config, field, value)
    for spec in args.tsig_key:
        parts = spec.split(":", 2)
        if len(parts) != 3 or not all(parts):
            raise ConfigError(
                f"--tsig-key {spec!r}: write NAME:ALGORITHM:BASE64SECRET, e.g. xfr:hmac-sha256:c2VjcmV0"
            )
        config.tsig_keys[parts[0]] = TsigKey(parts[0], parts[2], parts[1])
    _geoip_flags(config, args)
    _rrl_flags(config, args)
    if args.metrics:
        config.metrics = parse_hostport(args.metrics, 9153)
    if config.workers < 1:
        raise ConfigError(f"--workers {config.workers}: give 1 or more")
    if config.notify_retries < 0 or config.notify_interval <= 0:
        raise ConfigError(
            f"--notify-retries {config.notify_retries} / --notify-interval {config.notify_interval:g}: "
            "give retries >= 0 and an interval > 0 (defaults: 8 and 1)"
        )
    if config.notify_max_interval < config.notify_interval:
        raise ConfigError(
            f"--notify-max-interval {config.notify_max_interval:g} is below --notify-interval "
            f"{config.notify_interval:g} (fix: --notify-max-interval 60)"
        )
    if config.state_dir is not None:
        for zone in config.zones:
            if zone.role == "secondary" and zone.file is None:
                zone.file = config.state_dir / "secondary" / f"{zone.name}.zone"
    if not config.zones:
        raise ConfigError("no zones: add --zone ZONE=FILE, --secondary ZONE=ADDR or zones: in --config")
    return config


def _rrl_flags(config: ServerConfig, args: argparse.Namespace) -> None:
    rrl = config.rrl
    for name in ("rate", "slip", "window", "ipv4_prefix", "ipv6_prefix", "table_size"):
        value = getattr(args, "rrl_" + name)
        if value is not None:
            setattr(rrl, name, value)
    if args.rrl_allow:
        rrl.allow = list(args.rrl_allow)
    for spec in args.rrl_class_rate:
        cls, sep, value = spec.partition("=")
        if not sep or not value.isdigit():
            raise ConfigError(f"--rrl-class-rate {spec!r}: write CLASS=N, e.g. --rrl-class-rate nxdomain=20")
        rrl.class_rates[cls] = int(value)
    problem = rrl_problem(rrl)
    if problem:
        raise ConfigError(f"--rrl: {problem}")


def _geoip_flags(config: ServerConfig, args: argparse.Namespace) -> None:
    """--geoip ZONE=FILE (a zone given by --zone, --secondary or the config), then the
    --geoip-mode/-ttl/-scope overrides for every steered zone, then --geoip-check."""
    by_name = {z.name.rstrip(".").lower(): z for z in config.zones}
    for spec in args.geoip:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ConfigError(
                f"--geoip {spec!r}: write ZONE=FILE, e.g. --geoip example.net=geo/example.net.geo"
            )
        zone = by_name.get(name.rstrip(".").lower())
        if zone is None:
            raise ConfigError(f"--geoip {spec!r}: {name} is not a zone we serve (add --zone {name}=FILE)")
        zone.geoip = GeoIpConfig(Path(path), checks=zone.geoip.checks if zone.geoip else {})
    steered = [z for z in config.zones if z.geoip is not None]
    if (args.geoip_mode or args.geoip_ttl is not None or args.geoip_scope) and not steered:
        raise ConfigError(
            "--geoip-mode/--geoip-ttl/--geoip-scope without a geoip file (add --geoip ZONE=FILE)"
        )
    if args.geoip_ttl is not None and not 0 <= args.geoip_ttl <= 2**31 - 1:
        raise ConfigError(f"--geoip-ttl {args.geoip_ttl}: give 0 to 2147483647 seconds")
    for zone in steered:
        assert zone.geoip is not None
        if args.geoip_mode:
            zone.geoip.mode = args.geoip_mode
        if args.geoip_ttl is not None:
            zone.geoip.ttl = args.geoip_ttl
        if args.geoip_scope:
            zone.geoip.scope = args.geoip_scope
    for spec in args.geoip_check:
        owner, check = parse_check_flag(spec)
        holders = [z for z in steered if _in_zone(owner, z.name)]
        if not holders:
            raise ConfigError(
                f"--geoip-check {spec!r}: {owner} is in no zone with --geoip (add --geoip ZONE=FILE)"
            )
        zone = max(holders, key=lambda z: len(z.name))
        assert zone.geoip is not None
        zone.geoip.checks[owner] = check


def _in_zone(name: str, zone: str) -> bool:
    name, zone = name.rstrip(".").lower(), zone.rstrip(".").lower()
    return name == zone or name.endswith("." + zone)


def parse_check_flag(spec: str) -> tuple[str, HealthCheckConfig]:
    """NAME=KIND:PORT[/PATH][,KEY=VALUE...] -> (NAME with a final dot, the check)."""
    example = "e.g. www.cdn.example.net=http:80/healthz,interval=1,rise=2,fall=3"
    name, sep, rest = spec.partition("=")
    head, *pairs = rest.split(",")
    kind, colon, port_path = head.partition(":")
    port_text, slash, path = port_path.partition("/")
    if not sep or not name or not colon or not port_text.isdigit():
        raise ConfigError(f"--geoip-check {spec!r}: write NAME=KIND:PORT[/PATH][,KEY=VALUE...], {example}")
    if kind not in CHECK_KINDS:
        raise ConfigError(f"--geoip-check {spec!r}: kind {kind!r} (use tcp, dns or http)")
    values: dict[str, str] = {"path": "/" + path} if slash else {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or key not in CHECK_FIELDS:
            raise ConfigError(f"--geoip-check {spec!r}: {pair!r} (keys: {', '.join(CHECK_FIELDS)})")
        values[key] = value
    try:
        check = HealthCheckConfig(
            kind,  # type: ignore[arg-type]
            int(port_text),
            path=values.get("path", "/"),
            host=values.get("host"),
            status=int(values["status"]) if "status" in values else None,
            qname=values.get("qname"),
            qtype=values.get("qtype", "A"),
            interval=float(values.get("interval", 1.0)),
            timeout=float(values.get("timeout", 0.5)),
            rise=int(values.get("rise", 2)),
            fall=int(values.get("fall", 3)),
        )
    except ValueError as exc:
        raise ConfigError(f"--geoip-check {spec!r}: {exc} ({example})") from None
    problem = check_problem(check)
    if problem:
        raise ConfigError(f"--geoip-check {spec!r}: {problem}")
    owner = name if name.endswith(".") else name + "."
    return owner.lower(), check


def _replace_zone(config: ServerConfig, zone: ZoneConfig) -> None:
    config.zones = [z for z in config.zones if z.name.rstrip(".") != zone.name] + [zone]


def _serve(args: argparse.Namespace) -> int:
    from dnsnode.net.runner import run_server
    from dnsnode.ops.log import EventLog

    try:
        config = build_config(args)
    except ConfigError as exc:
        print(f"dnsnode serve: {exc}", file=sys.stderr)
        return 2
    log = EventLog(config.log_file)
    try:
        return run_server(config, log)
    finally:
        log.close()


def _ctl(args: argparse.Namespace) -> int:
    from dnsnode.ops.control import request

    try:
        reply = request(args.socket, args.cmd, args.zone)
    except OSError as exc:
        print(
            f"dnsnode ctl: cannot talk to {args.socket}: {exc.strerror or exc} (is dnsnode serve running "
            "with --control-socket?)",
            file=sys.stderr,
        )
        return 2
    print(json.dumps(reply, indent=2, sort_keys=True))
    return 0 if reply.get("ok") else 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dnsnode", description="anycast site authoritative DNS server")
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    ctl = sub.add_parser("ctl", help="talk to a running server's control socket")
    ctl.add_argument("--socket", required=True, type=Path)
    ctl.add_argument("cmd", choices=["stats", "status", "reload"])
    ctl.add_argument("zone", nargs="?")
    sub.add_parser("agent", help="the health agent (dnsnode agent --help)")
    return parser


def _serve_args(argv: list[str]) -> argparse.Namespace:
    """Parse `dnsnode serve` arguments (for tests and tools)."""
    return _parser().parse_args(["serve", *argv])


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "agent":
        from dnsnode.agent.cli import main as agent_main

        return int(agent_main(argv[1:]))
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "ctl":
        return _ctl(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
