"""The geoip file reader: Knot's mod-geoip format as Knot's yparser reads it, and errors that say
FILE:LINE: what is wrong (and the fix)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import dns.name
import dns.rdatatype
import pytest

from dnsnode.steering.geofile import GeoFileError, GeoMode, parse_geo_text

PATH = Path("/etc/dnsnode/cdn.geo")

# The subnet example of Knot's documentation (geoip.rst), TXT escapes included.
KNOT_SUBNET_EXAMPLE = r"""
foo.example.com:
  - net: 10.0.0.0/24
    A: [ 192.168.1.1, 192.168.1.2 ]
    AAAA: [ 2001:DB8::1, 2001:DB8::2 ]
    TXT: "subnet\ 10.0.0.0/24"
bar.example.com:
  - net: 2001:DB8::/32
    A: 192.168.1.3
    AAAA: 2001:DB8::3
    TXT: "subnet\ 2001:DB8::/32"
"""

KNOT_WEIGHTED_EXAMPLE = """
foo.example.com:
  - weight: 1
    CNAME: canary.foo.example.com.
  - weight: 10
    CNAME: prod1.foo.example.com.
  - weight: 10
    CNAME: prod2.foo.example.com.
"""


def parse(text: str, mode: GeoMode = "subnet"):  # type: ignore[no-untyped-def]
    return parse_geo_text(text, PATH, mode)


def error(text: str, mode: GeoMode = "subnet") -> str:
    with pytest.raises(GeoFileError) as info:
        parse(text, mode)
    return str(info.value)


def test_knots_subnet_example_reads_as_knot_reads_it() -> None:
    geo = parse(KNOT_SUBNET_EXAMPLE)
    foo, bar = geo.names
    assert foo.owner == dns.name.from_text("foo.example.com.")
    (view,) = foo.views
    assert view.net == ipaddress.ip_network("10.0.0.0/24") and view.line == 3
    assert [rd.to_text() for rd in view.rdatas[dns.rdatatype.A]] == ["192.168.1.1", "192.168.1.2"]
    assert [rd.to_text() for rd in view.rdatas[dns.rdatatype.AAAA]] == ["2001:db8::1", "2001:db8::2"]
    # "subnet\ 10.0.0.0/24": one character-string with a space, as zscanner reads `subnet\ 10...`
    (txt,) = view.rdatas[dns.rdatatype.TXT]
    assert txt.strings == (b"subnet 10.0.0.0/24",)  # type: ignore[attr-defined]
    assert bar.views[0].net == ipaddress.ip_network("2001:db8::/32")


def test_knots_weighted_example_and_cumulative_weights() -> None:
    geo = parse(KNOT_WEIGHTED_EXAMPLE, "weighted")
    (foo,) = geo.names
    assert [v.weight for v in foo.views] == [1, 10, 10]
    assert [str(v.cname) for v in foo.views] == [
        "canary.foo.example.com.",
        "prod1.foo.example.com.",
        "prod2.foo.example.com.",
    ]


def test_values_quotes_escapes_comments_and_relative_names() -> None:
    geo = parse(
        "# a comment line\n"
        "www.cdn.example.net.:   # a name with the final dot, and a comment after a space\n"
        "  - net: 192.0.2.0/24\n"
        '    TXT: "\\"two words\\""\n'  # \" stands for " : one quoted string
        "    TXT: two\\ words\n"  # an unquoted value with an escaped space
        '    TXT: "a b"\n'  # quotes removed: two strings, as Knot
        '    MX: "10 mail"\n'  # relative to the owner (Knot: $ORIGIN owner)
        "  - net: 198.51.100.7\n"  # no prefix: a host route
        "    CNAME: edge\n"
    )
    (name,) = geo.names
    first, second = name.views
    texts = [rd.to_text() for rd in first.rdatas[dns.rdatatype.TXT]]
    assert texts == ['"two words"', '"a" "b"']  # the first two are the same record
    assert first.rdatas[dns.rdatatype.MX][0].to_text() == "10 mail.www.cdn.example.net."
    assert second.net == ipaddress.ip_network("198.51.100.7/32")
    assert str(second.cname) == "edge.www.cdn.example.net."


def test_a_view_without_records_is_dropped_as_knot_drops_it() -> None:
    geo = parse("a.example.net:\n  - net: 192.0.2.0/24\n  - net: 198.51.100.0/24\n    A: 192.0.2.1\n")
    assert [str(v.net) for v in geo.names[0].views] == ["198.51.100.0/24"]


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("a.example.net:\n\t- net: 192.0.2.0/24\n", 2, "tab character"),
        ("a.example.net:\n    A: 192.0.2.1\n", 2, "outside a view (add '- net: ...' above it)"),
        ("  - net: 192.0.2.0/24\n", 1, "before any name"),
        ("a.example.net:\n  - weight: 3\n    A: 192.0.2.1\n", 2, "views start with '- net:'"),
        ("a.example.net:\n  - net: 192.0.2.300/24\n    A: 192.0.2.1\n", 2, "not an IPv4 or IPv6 address"),
        (
            "a.example.net:\n  - net: 192.0.2.1/24\n    A: 192.0.2.1\n",
            2,
            "host bits set after /24 (write 192.0.2.0/24)",
        ),
        (
            "a.example.net:\n  - net: 192.0.2.0/33\n    A: 192.0.2.1\n",
            2,
            "/33 is longer than an IPv4 address",
        ),
        (
            "a.example.net:\n  - net: 192.0.2.0/24\n    A: 192.0.2.1\n"
            "  - net: 192.0.2.0/24\n    A: 192.0.2.2\n",
            4,
            "given twice (also line 2; keep one)",
        ),
        ("a.example.net:\n  - net: 192.0.2.0/24\n    A: 192.0.2.1\n    CNAME: x\n", 4, "CNAME cannot share"),
        (
            "a.example.net:\n  - net: 192.0.2.0/24\n    CNAME: x\n    A: 192.0.2.1\n",
            4,
            "a CNAME stands alone",
        ),
        ("a.example.net:\n  - net: 192.0.2.0/24\n    RRSIG: x\n", 3, "DNSSEC and meta types are not allowed"),
        ("a.example.net:\n  - net: 192.0.2.0/24\n    BOGUS: x\n", 3, "'BOGUS' is not a record type"),
        ("a.example.net:\n  - net: 192.0.2.0/24\n    A: 300.1.1.1\n", 3, "A '300.1.1.1'"),
        ('a.example.net:\n  - net: 192.0.2.0/24\n    TXT: "open\n', 3, "unterminated quoted value"),
        (
            "a.example.net:\n  - net: 192.0.2.0/24\n      A: 192.0.2.1\n",
            3,
            "indented 6 spaces where the items above use 4",
        ),
        ("a.example.net:\n  - net: 192.0.2.0/24\n    A: 192.0.2.1#x\n", 3, "unexpected '#x'"),
        ("a.example.net:\n  - net: 192.0.2.0/24\n    A: 192.0.2.1\na.example.net:\n", 4, "listed twice"),
        ("a.example.net: x\n", 1, "a name line takes no value"),
        ("a.example.net:\n  - net: [ 192.0.2.0/24 ]\n", 2, "takes one value, not a list"),
    ],
)
def test_errors_name_the_file_the_line_and_the_fix(text: str, line: int, says: str) -> None:
    message = error(text)
    assert message.startswith(f"{PATH}:{line}: "), message
    assert says in message, message


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("a.example.net:\n  - weight: 0\n    A: 192.0.2.1\n", "every weight is 0"),
        ("a.example.net:\n  - weight: 256\n    A: 192.0.2.1\n", "0-255"),
        ("a.example.net:\n  - net: 192.0.2.0/24\n    A: 192.0.2.1\n", "views start with '- weight:'"),
    ],
)
def test_weighted_mode_errors(text: str, says: str) -> None:
    assert says in error(text, "weighted")


def test_an_unreadable_file_says_so(tmp_path: Path) -> None:
    from dnsnode.steering.geofile import load_geo_file

    with pytest.raises(GeoFileError, match=r"gone\.geo:0: cannot read geoip file"):
        load_geo_file(tmp_path / "gone.geo", "subnet")
