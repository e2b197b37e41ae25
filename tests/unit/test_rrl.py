"""Response rate limiting: the accounts (a fake clock), the classes of real plans, the slipped
reply over the responder, and the options (command line and config file, FILE:LINE errors)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import pytest

from dnsnode.cli import _serve_args, build_config
from dnsnode.ops.config import ConfigError, RrlConfig
from dnsnode.ops.configfile import load_config_file
from dnsnode.serving import rrl
from dnsnode.serving.rrl import DROP, PASS, SLIP, RateLimiter
from tests.unit.serve_helpers import ZONE_FILE, make_responder, query_wire


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(**kwargs: object) -> tuple[RateLimiter, Clock, defaultdict[str, int]]:
    clock = Clock()
    counters: defaultdict[str, int] = defaultdict(int)
    return RateLimiter(RrlConfig(**kwargs), counters, clock), clock, counters  # type: ignore[arg-type]


def flood(lim: RateLimiter, n: int, host: str = "127.0.0.2", cls: int = rrl.POSITIVE) -> list[int]:
    return [lim.account(host, cls, b"\x03www\x07example\x03net\x00") for _ in range(n)]


def test_under_the_rate_nothing_is_limited() -> None:
    lim, clock, counters = limiter(rate=10)
    for _ in range(50):  # 5 a second for 10 s
        assert flood(lim, 5) == [PASS] * 5
        clock.now += 1.0
    assert not counters


def test_a_flood_gets_the_burst_then_every_second_limited_one_slips() -> None:
    lim, _clock, counters = limiter(rate=10, slip=2)
    actions = flood(lim, 30)
    assert actions[:10] == [PASS] * 10
    assert actions[10:] == [DROP, SLIP] * 10
    assert counters["rrl.limited.positive"] == 20
    assert counters["rrl.slipped.positive"] == 10 and counters["rrl.dropped.positive"] == 10


@pytest.mark.parametrize(("slip", "want"), [(0, DROP), (1, SLIP)])
def test_slip_0_drops_all_and_slip_1_truncates_all(slip: int, want: int) -> None:
    lim, _clock, _counters = limiter(rate=5, slip=slip)
    assert flood(lim, 20)[5:] == [want] * 15


def test_slip_3_truncates_every_third() -> None:
    lim, _clock, _counters = limiter(rate=5, slip=3)
    assert flood(lim, 14)[5:] == [DROP, DROP, SLIP] * 3


def test_a_prefix_that_keeps_flooding_stays_limited_and_is_forgiven_after_the_window() -> None:
    lim, clock, _counters = limiter(rate=10, slip=0, window=5)
    flood(lim, 200)  # debt: capped at 5 s of credit
    for _ in range(3):
        clock.now += 1.0
        assert PASS not in flood(lim, 20)  # still flooding: the credit of each second is eaten
    clock.now += 4.9  # quiet, but the debt is not paid off yet
    assert flood(lim, 1) == [DROP]
    clock.now += 5.2
    assert flood(lim, 10) == [PASS] * 10


def test_accounts_are_per_prefix_class_and_name() -> None:
    lim, _clock, _counters = limiter(rate=5, slip=0)
    flood(lim, 50, "127.0.0.2")
    assert flood(lim, 1, "127.0.0.200") == [DROP]  # same /24
    assert flood(lim, 5, "127.1.0.3") == [PASS] * 5  # another /24
    assert flood(lim, 5, "127.0.0.2", rrl.NXDOMAIN) == [PASS] * 5  # another class
    assert lim.account("127.0.0.2", rrl.POSITIVE, b"\x04mail\x07example\x03net\x00") == PASS


def test_ipv6_prefix_length() -> None:
    lim, _clock, _counters = limiter(rate=2, slip=0, ipv6_prefix=56)
    flood(lim, 10, "2001:db8:0:100::1")
    assert flood(lim, 1, "2001:db8:0:1ff::9") == [DROP]  # same /56
    assert flood(lim, 1, "2001:db8:0:200::1") == [PASS]  # next /56


def test_the_allow_list_is_never_limited() -> None:
    lim, _clock, counters = limiter(rate=2, allow=["127.0.0.0/24", "2001:db8::/32"])
    assert flood(lim, 100, "127.0.0.9") == [PASS] * 100
    assert flood(lim, 100, "2001:db8::1") == [PASS] * 100
    assert flood(lim, 3, "127.0.1.9") == [PASS, PASS, DROP]
    assert counters["rrl.limited.positive"] == 1


def test_a_class_rate_of_its_own_and_zero_unlimited() -> None:
    lim, _clock, _counters = limiter(rate=100, slip=0, class_rates={"nxdomain": 3, "nodata": 0})
    assert flood(lim, 5, cls=rrl.NXDOMAIN) == [PASS] * 3 + [DROP] * 2
    assert flood(lim, 500, cls=rrl.NODATA) == [PASS] * 500


def test_a_full_table_forgets_accounts_in_credit_first() -> None:
    lim, clock, counters = limiter(rate=5, table_size=1000)
    for i in range(1000):
        lim.account(f"10.{i // 256}.{i % 256}.1", rrl.POSITIVE, b"\x00")
    clock.now += 10.0  # all earned back full credit
    lim.account("10.200.0.1", rrl.POSITIVE, b"\x00")
    assert len(lim.table) == 1 and counters["rrl.table_full"] == 1


def classes(names: list[tuple[str, str]]) -> list[tuple[str, bytes | None]]:
    responder = make_responder(rrl=RrlConfig(rate=1000))
    out = []
    for qname, qtype in names:
        plan = responder._zone_plan(
            dns.name.from_text(qname).to_wire(), dns.rdatatype.from_text(qtype), False
        )[0]
        tag = rrl.tag_of(plan)
        out.append((("positive", "nxdomain", "error", "referral", "wildcard", "nodata")[tag.cls], tag.name))
    return out


def test_classes_of_real_plans() -> None:
    zone = b"\x07example\x03net\x00"
    assert classes(
        [
            ("www.example.net", "A"),
            ("nothere.example.net", "A"),
            ("www.example.net", "TXT"),
            ("x.sub.example.net", "A"),
            ("anything.wild.example.net", "A"),
            ("www.example.org", "A"),
        ]
    ) == [
        ("positive", None),
        ("nxdomain", zone),
        ("nodata", zone),
        ("referral", b"\x03sub" + zone),
        ("wildcard", b"\x01*\x04wild" + zone),
        ("error", b""),  # REFUSED: not our zone
    ]


def test_the_responder_slips_a_truncated_reply_and_drops_the_rest() -> None:
    responder = make_responder(rrl=RrlConfig(rate=3, slip=2))
    peer = ("127.0.0.2", 4000)
    replies = [responder.answer(query_wire("www.example.net"), peer) for _ in range(7)]
    full = [dns.message.from_wire(r) for r in replies[:3]]
    assert all(m.answer and not m.flags & dns.flags.TC for m in full)
    assert replies[3] is None and replies[5] is None
    for wire in (replies[4], replies[6]):
        msg = dns.message.from_wire(wire)
        assert msg.flags & dns.flags.TC and msg.flags & dns.flags.QR and msg.flags & dns.flags.AA
        assert msg.rcode() == dns.rcode.NOERROR and not msg.answer and not msg.authority
        assert msg.question[0].name.to_text() == "www.example.net."
    # TCP is the escape hatch: never limited
    assert all(responder.answer(query_wire("www.example.net"), peer, tcp=True) for _ in range(10))
    # another prefix: answered
    other = dns.message.from_wire(responder.answer(query_wire("www.example.net"), ("127.1.0.3", 4000)))
    assert other.answer
    c = responder.counters
    assert c["rrl.limited.positive"] == 4 and c["rrl.slipped.positive"] == 2 and c["udp"] == 4


def test_nxdomain_floods_share_the_zone_account() -> None:
    responder = make_responder(rrl=RrlConfig(rate=5, slip=0))
    peer = ("127.0.0.2", 4000)
    replies = [responder.answer(query_wire(f"r{i}.example.net"), peer) for i in range(20)]
    assert sum(r is not None for r in replies) == 5
    assert responder.counters["rrl.dropped.nxdomain"] == 15
    assert responder.answer(query_wire("www.example.net"), peer) is not None  # positive: its own


def test_malformed_queries_are_accounted_as_errors() -> None:
    responder = make_responder(rrl=RrlConfig(rate=2, slip=0))
    bad = query_wire("www.example.net")[:12] + b"\x07example"  # truncated question: FORMERR
    replies = [responder.answer(bad, ("127.0.0.2", 1)) for _ in range(5)]
    assert sum(r is not None for r in replies) == 2
    assert responder.counters["rrl.dropped.error"] == 3


def test_off_by_default() -> None:
    responder = make_responder()
    assert responder.rrl is None
    assert all(responder.answer(query_wire("www.example.net"), ("127.0.0.2", 1)) for _ in range(500))


def test_command_line_options() -> None:
    config = build_config(
        _serve_args(
            [
                f"--zone=example.net={ZONE_FILE}",
                "--rrl-rate=50",
                "--rrl-slip=3",
                "--rrl-window=5",
                "--rrl-ipv4-prefix=20",
                "--rrl-ipv6-prefix=48",
                "--rrl-allow=192.0.2.0/24",
                "--rrl-class-rate=nxdomain=10",
                "--metrics=127.0.0.1:9153",
            ]
        )
    )
    assert config.rrl == RrlConfig(50, 3, 5, 20, 48, ["192.0.2.0/24"], 500_000, {"nxdomain": 10})
    assert config.metrics == ("127.0.0.1", 9153)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rrl-rate=10", "--rrl-slip=11"], "slip 11"),
        (["--rrl-rate=10", "--rrl-ipv4-prefix=33"], "ipv4 prefix /33"),
        (["--rrl-rate=10", "--rrl-class-rate=bogus=1"], "class 'bogus'"),
        (["--rrl-rate=10", "--rrl-class-rate=nxdomain"], "write CLASS=N"),
        (["--rrl-rate=10", "--rrl-allow=nonsense"], "allow 'nonsense'"),
        (["--rrl-class-rate=nxdomain=5"], "set the rate too"),
    ],
)
def test_command_line_errors(args: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_config(_serve_args([f"--zone=example.net={ZONE_FILE}", *args]))


def test_config_file(tmp_path: Path) -> None:
    path = tmp_path / "dnsnode.yml"
    path.write_text(
        "rrl:\n  rate: 20\n  slip: 1\n  window: 3\n  ipv6_prefix: 64\n  allow: [127.0.0.0/8]\n"
        "  classes: {error: 5, referral: 0}\nmetrics: 127.0.0.1:9200\n"
    )
    config = load_config_file(path)
    assert config.rrl == RrlConfig(20, 1, 3, 24, 64, ["127.0.0.0/8"], 500_000, {"error": 5, "referral": 0})
    assert config.metrics == ("127.0.0.1", 9200)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("rrl:\n  rate: 20\n  slop: 2\n", 3, "unknown rrl field 'slop' (did you mean 'slip'?)"),
        ("rrl:\n  rate: 20\n  window: 0\n", 3, "rrl window: 0 out of range"),
        ("rrl:\n  rate: 20\n  classes: {nxdomian: 2}\n", 3, "unknown rrl classes field 'nxdomian'"),
        ("rrl:\n  rate: 20\n  allow: [300.1.2.3]\n", 3, "not an address or CIDR"),
        ("zones: []\nrrl:\n  classes: {error: 5}\n", 3, "set the rate too"),
        ("metrics: localhost:9153\n", 1, "not an IP address"),
    ],
)
def test_config_file_errors_name_the_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "dnsnode.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config_file(path)
    assert str(err.value).startswith(f"{path}:{line}: ") and message in str(err.value), str(err.value)
