"""Steering options on the command line and in the YAML config: values, overrides, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dnsnode.cli import _serve_args, build_config, parse_check_flag
from dnsnode.ops.config import ConfigError, HealthCheckConfig
from dnsnode.ops.configfile import load_config_file


def test_command_line_geoip_options() -> None:
    config = build_config(
        _serve_args(
            [
                "--zone",
                "example.net=z.zone",
                "--geoip",
                "example.net=geo/example.net.geo",
                "--geoip-mode",
                "weighted",
                "--geoip-ttl",
                "20",
                "--geoip-scope",
                "knot",
                "--geoip-check",
                "www.example.net=http:8080/healthz,status=204,interval=0.5,rise=1,fall=2",
            ]
        )
    )
    (zone,) = config.zones
    assert zone.geoip is not None
    assert (zone.geoip.file, zone.geoip.mode, zone.geoip.ttl, zone.geoip.scope) == (
        Path("geo/example.net.geo"),
        "weighted",
        20,
        "knot",
    )
    assert zone.geoip.checks == {
        "www.example.net.": HealthCheckConfig(
            "http", 8080, path="/healthz", status=204, interval=0.5, rise=1, fall=2
        )
    }


@pytest.mark.parametrize(
    ("spec", "check"),
    [
        ("a.example.net=tcp:443", HealthCheckConfig("tcp", 443)),
        (
            "a.example.net.=dns:53,qname=probe.example.net,qtype=SOA",
            HealthCheckConfig("dns", 53, qname="probe.example.net", qtype="SOA"),
        ),
        (
            "A.Example.Net=http:80,host=www.example.net,timeout=0.2",
            HealthCheckConfig("http", 80, host="www.example.net", timeout=0.2),
        ),
    ],
)
def test_check_flags(spec: str, check: HealthCheckConfig) -> None:
    assert parse_check_flag(spec) == ("a.example.net.", check)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (
            ["--geoip", "example.org=x.geo"],
            "example.org is not a zone we serve (add --zone example.org=FILE)",
        ),
        (["--geoip", "example.net"], "write ZONE=FILE"),
        (["--geoip-mode", "weighted"], "without a geoip file"),
        (["--geoip-check", "www.example.net=tcp:80"], "in no zone with --geoip"),
        (["--geoip", "example.net=x.geo", "--geoip-check", "www.example.net=smtp:25"], "kind 'smtp'"),
        (["--geoip", "example.net=x.geo", "--geoip-check", "www.example.net=tcp:0"], "port 0: use 1-65535"),
        (["--geoip", "example.net=x.geo", "--geoip-check", "www.example.net=tcp:80,every=1"], "keys: path"),
        (
            ["--geoip", "example.net=x.geo", "--geoip-check", "www.example.net=tcp:80,rise=0"],
            "give 1 or more",
        ),
        (
            ["--geoip", "example.net=x.geo", "--geoip-check", "www.example.net=dns:53,qtype=NOPE"],
            "qtype 'NOPE'",
        ),
        (["--geoip", "example.net=x.geo", "--geoip-check", "www.example.net=tcp"], "NAME=KIND:PORT"),
        (["--geoip", "example.net=x.geo", "--geoip-ttl", "-1"], "--geoip-ttl -1"),
    ],
)
def test_command_line_errors_say_the_fix(argv: list[str], says: str) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        build_config(_serve_args(["--zone", "example.net=z.zone", *argv]))
    assert says in str(info.value)


def test_yaml_geoip_section(tmp_path: Path) -> None:
    path = tmp_path / "dnsnode.yml"
    path.write_text(
        """zones:
  - name: cdn.example.net
    file: zones/cdn.zone
    geoip:
      file: geo/cdn.geo
      mode: subnet
      ttl: 30
      scope: exact
      checks:
        www.cdn.example.net: {kind: http, port: 80, path: /healthz, interval: 1, rise: 2, fall: 3}
        api.cdn.example.net.: {kind: tcp, port: 443}
"""
    )
    (zone,) = load_config_file(path).zones
    assert zone.geoip is not None and zone.geoip.file == tmp_path / "geo/cdn.geo" and zone.geoip.ttl == 30
    assert zone.geoip.checks["www.cdn.example.net."] == HealthCheckConfig("http", 80, path="/healthz")
    assert zone.geoip.checks["api.cdn.example.net."] == HealthCheckConfig("tcp", 443)


@pytest.mark.parametrize(
    ("geoip", "says"),
    [
        ("{mode: subnet}", ":4: zone cdn.example.net: geoip: 'file' is required"),
        (
            "{file: g.geo, mode: geodb}",
            ":4: zone cdn.example.net: geoip mode: 'geodb' (use subnet or weighted)",
        ),
        (
            "{file: g.geo, scoped: exact}",
            ":4: unknown zone cdn.example.net: geoip field 'scoped' (did you mean 'scope'?)",
        ),
        ("{file: g.geo, checks: {w: {kind: tcp}}}", "'port' is required"),
        ("{file: g.geo, checks: {w: {kind: ftp, port: 21}}}", "kind: 'ftp' (use tcp or dns or http)"),
        ("{file: g.geo, checks: {w: {kind: http, port: 80, path: healthz}}}", "starts with '/'"),
        ("{file: g.geo, ttl: soon}", "ttl: 'soon' is not a whole number"),
    ],
)
def test_yaml_errors_name_file_and_line(tmp_path: Path, geoip: str, says: str) -> None:
    path = tmp_path / "dnsnode.yml"
    path.write_text(f"zones:\n  - name: cdn.example.net\n    file: z.zone\n    geoip: {geoip}\n")
    with pytest.raises(ConfigError) as info:
        load_config_file(path)
    assert str(info.value).startswith(str(path)) and says in str(info.value), str(info.value)
