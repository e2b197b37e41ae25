"""YAML config files, command-line config and zone-file errors: FILE:LINE, what, and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from dnsnode.cli import _serve_args, build_config
from dnsnode.ops.config import ConfigError
from dnsnode.ops.configfile import load_config_file
from dnsnode.serving.zonefile import ZoneFileError, load_zone_file


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dnsnode.yml"
    path.write_text(text)
    return path


def test_full_config(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
listen: ["127.0.0.1:5353", "[::1]:5353"]
identity: fra-1
version_bind: ""
workers: 2
tcp_idle_timeout: 5
control_socket: run/ctl.sock
zones:
  - name: example.net
    file: zones/example.net.zone
    notify: ["192.0.2.2"]
    allow_transfer: [192.0.2.0/24]
    tsig_key: xfr
  - name: example.org.
    role: secondary
    primaries: ["192.0.2.1:5300"]
tsig_keys:
  xfr: {secret: c2VjcmV0, algorithm: hmac-sha512}
""",
    )
    config = load_config_file(path)
    assert config.listen == [("127.0.0.1", 5353), ("::1", 5353)]
    assert config.identity == "fra-1" and config.version_bind == "" and config.workers == 2
    assert config.tcp_idle_timeout == 5.0
    assert config.control_socket == tmp_path / "run/ctl.sock"
    primary, secondary = config.zones
    assert primary.file == tmp_path / "zones/example.net.zone"
    assert primary.notify == [("192.0.2.2", 53)] and primary.tsig_key == "xfr"
    assert secondary.name == "example.org" and secondary.primaries == [("192.0.2.1", 5300)]
    assert config.tsig_keys["xfr"].algorithm == "hmac-sha512"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("identity: a\nlisten: [nonsense]\n", ":2: listen: 'nonsense': not an IP address"),
        ("workers: many\n", ":1: workers: 'many' is not a whole number"),
        ("zones:\n  - file: x.zone\n", ":2: zone: 'name' is required"),
        ("zones:\n  - name: example.net\n", ":2: zone example.net: a primary needs 'file: PATH'"),
        (
            "zones:\n  - name: e.net\n    role: slave\n",
            ":3: zone e.net: role: 'slave' (use primary or secondary)",
        ),
        ("identiy: x\n", ":1: unknown server field 'identiy' (did you mean 'identity'?)"),
        ("listen: [\n", ":2: YAML syntax"),
        ("zones:\n  - name: e.net\n    role: secondary\n", ":2: zone e.net: a secondary needs 'primaries"),
        ("edns_buffer: 100\n", ":1: edns_buffer: 100 out of range (use 512-65535)"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config_file(path)
    assert str(info.value).startswith(str(path) + expected.split(":", 2)[0] + ":" + expected.split(":", 2)[1])
    assert expected in str(info.value)


def test_command_line_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, "identity: fra-1\nzones:\n  - name: example.net\n    file: a.zone\n")
    args = _serve_args(
        [
            "--config",
            str(path),
            "--listen",
            "127.0.0.1:5353",
            "--zone",
            "example.net=b.zone",
            "--secondary",
            "example.org=192.0.2.1",
            "--secondary",
            "example.org=[2001:db8::1]:5300",
            "--identity",
            "fra-2",
            "--version-bind",
            "",
            "--tsig-key",
            "xfr:hmac-sha256:c2VjcmV0",
        ]
    )
    config = build_config(args)
    assert config.identity == "fra-2" and config.version_bind == ""
    assert [(z.name, z.file) for z in config.zones if z.role == "primary"] == [
        ("example.net", Path("b.zone"))
    ]
    secondary = next(z for z in config.zones if z.role == "secondary")
    assert secondary.primaries == [("192.0.2.1", 53), ("2001:db8::1", 5300)]
    assert config.tsig_keys["xfr"].secret == "c2VjcmV0"


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["--zone", "example.net"], "write ZONE=FILE"),
        (["--zone", "e.net=f", "--secondary", "e.org"], "write ZONE=ADDR[:PORT]"),
        (["--zone", "e.net=f", "--tsig-key", "xfr:secret"], "NAME:ALGORITHM:BASE64SECRET"),
        ([], "no zones"),
    ],
)
def test_command_line_errors(argv: list[str], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        build_config(_serve_args(argv))


def test_zone_file_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "z.zone"
    path.write_text(
        "$TTL 60\n@ SOA ns1 h 1 1 1 1 1\n@ NS ns1\nns1 A 192.0.2.1\nbad A 192.0.2.256\nok A 192.0.2.2\n"
    )
    with pytest.raises(ZoneFileError, match=rf"^{path}:5: "):
        load_zone_file(path, "example.net")
    path.write_text("$TTL 60\n@ NS ns1\nns1 A 192.0.2.1\n")
    with pytest.raises(ZoneFileError, match=r"no SOA record at the zone apex example\.net\. \(add one\)"):
        load_zone_file(path, "example.net")
    with pytest.raises(ZoneFileError, match=r"cannot read zone file"):
        load_zone_file(tmp_path / "missing.zone", "example.net")


def test_agent_subcommand_delegates_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    import dnsnode.agent.cli
    from dnsnode import cli

    seen: list[list[str]] = []

    def fake_main(argv: list[str]) -> int:
        seen.append(argv)
        return 7

    monkeypatch.setattr(dnsnode.agent.cli, "main", fake_main)
    assert cli.main(["agent", "--config", "a.yml", "--interval", "1"]) == 7
    assert seen == [["--config", "a.yml", "--interval", "1"]]
