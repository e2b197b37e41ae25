"""agent.yml loading: typed values, flags over the file, errors that name file:line and the fix."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from dnsnode.agent.cli import load, run_parser
from dnsnode.agent.config import ConfigError, build, load_yaml

GOOD = """\
prefixes: [198.51.100.0/24, 2001:db8:53::/48]
check:
  server: 198.51.100.53
  name: example.net
  type: soa
  interval: 1
  timeout: 0.5
  rise: 2
  fall: 3
serial:
  zone: example.net.
  primary: 192.0.2.1:5353
  grace: 30
speaker:
  kind: frr
  asn: 64500
  vty_socket: /run/frr/site1
drain:
  method: prepend
  prepend: 2
  hold: 10
  file: /run/dnsnode/drain
control_socket: /run/dnsnode/agent.sock
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "agent.yml"
    p.write_text(text)
    return p


def test_good_file(tmp_path: Path) -> None:
    cfg = build(load_yaml(write(tmp_path, GOOD)))
    assert cfg.prefixes == [ipaddress.ip_network("198.51.100.0/24"), ipaddress.ip_network("2001:db8:53::/48")]
    assert (cfg.check.name, cfg.check.type, cfg.check.interval, cfg.check.rise) == (
        "example.net.",
        "SOA",
        1.0,
        2,
    )
    assert cfg.serial is not None and cfg.serial.primary == ("192.0.2.1", 5353) and cfg.serial.grace == 30
    assert cfg.frr is not None and cfg.frr.asn == 64500 and cfg.frr.vty_socket == Path("/run/frr/site1")
    assert cfg.drain.method == "prepend" and cfg.drain_asn == 64500  # the speaker's ASN by default
    assert cfg.bird is None


def test_flags_override_file(tmp_path: Path) -> None:
    args = run_parser().parse_args(["--config", str(write(tmp_path, GOOD)), "--interval", "2", "--fall", "5"])
    cfg = build(load(args))
    assert cfg.check.interval == 2.0 and cfg.check.fall == 5 and cfg.check.rise == 2


def test_flags_only() -> None:
    argv = [
        "--prefix",
        "198.51.100.0/24",
        "--speaker",
        "bird",
        "--bird-include",
        "/x.conf",
        "--bird-socket",
        "/s",
    ]
    cfg = build(load(run_parser().parse_args(argv)))
    assert (
        cfg.bird is not None and cfg.bird.include_file == Path("/x.conf") and cfg.drain.method == "community"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace("interval: 1", "interval: fast"), "agent.yml:6: check.interval: expected a number > 0"),
        (GOOD.replace("  rise: 2", "  raise: 2"), "agent.yml:8: unknown key 'check.raise' (fix: use one of"),
        (GOOD.replace("kind: frr", "kind: gobgp"), "agent.yml:15: speaker.kind: expected one of bird, frr"),
        (GOOD.replace("198.51.100.0/24,", "198.51.100.1/24,"), "agent.yml:1: prefixes: expected prefixes"),
        (GOOD.replace("  asn: 64500\n", ""), "speaker.asn is required for speaker kind frr (fix: asn: 64500"),
        (GOOD.replace("timeout: 0.5", "timeout: 3"), "agent.yml:7: check.timeout 3 s is longer than"),
        (GOOD + "speeker: 1\n", "agent.yml:24: unknown key 'speeker'"),
        (GOOD.replace("  name: example.net", "\tname: example.net"), "agent.yml:4: YAML syntax"),
    ],
)
def test_errors_name_line_and_fix(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        build(load_yaml(write(tmp_path, text)))
    msg = str(err.value)
    assert expected in msg
    assert "fix:" in msg


def test_bird_option_under_frr_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"agent.yml:17: speaker.socket is a BIRD option"):
        build(
            load_yaml(
                write(tmp_path, GOOD.replace("  vty_socket: /run/frr/site1", "  socket: /run/bird.ctl"))
            )
        )


def test_prepend_needs_an_asn_with_bird(tmp_path: Path) -> None:
    text = GOOD.replace(
        "  kind: frr\n  asn: 64500\n  vty_socket: /run/frr/site1\n",
        "  kind: bird\n  include_file: /i\n  socket: /s\n",
    )
    with pytest.raises(ConfigError, match=r"drain\.method prepend needs the ASN"):
        build(load_yaml(write(tmp_path, text)))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_yaml(tmp_path / "nope.yml")


def test_cli_reports_config_errors_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dnsnode.agent.cli import main

    assert main(["--prefix", "198.51.100.0/24", "--speaker", "bird"]) == 2
    err = capsys.readouterr().err
    assert "speaker.include_file is required" in err and "under speaker:" in err and "--bird-include" in err
    assert main(["--config", str(write(tmp_path, GOOD.replace("rise: 2", "rise: 0")))]) == 2
    assert "agent.yml:8: check.rise: expected an integer 1-1000" in capsys.readouterr().err
