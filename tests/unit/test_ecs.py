"""ECS option parsing (RFC 7871 6): what is valid, what is FORMERR, and the echo."""

from __future__ import annotations

import struct

import pytest

from dnsnode.serving.ecs import IPV4, IPV6, SPECIAL, EcsError, from_peer, parse


def option_data(family: int, source: int, address: bytes, scope: int = 0) -> bytes:
    return struct.pack("!HBB", family, source, scope) + address


def parsed(data: bytes):  # type: ignore[no-untyped-def]
    wire = b"junk" + data + b"more"  # parse() reads in place, from an offset
    return parse(wire, 4, len(data))


def test_ipv4_and_ipv6_prefixes_are_padded_to_full_addresses() -> None:
    v4 = parsed(option_data(IPV4, 24, bytes([192, 0, 2])))
    assert (v4.family, v4.source, v4.address) == (IPV4, 24, 0xC0000200)
    assert v4.text() == "192.0.2.0/24"
    v6 = parsed(option_data(IPV6, 56, bytes.fromhex("20010db8000100")))
    assert v6.address == 0x20010DB8000100 << 72 and v6.text() == "2001:db8:1::/56"
    odd = parsed(option_data(IPV4, 23, bytes([192, 0, 2])))  # last bit of the 3rd octet is beyond 23: 0
    assert odd.address == 0xC0000200
    zero = parsed(option_data(IPV4, 0, b""))
    assert (zero.source, zero.address, zero.octets) == (0, 0, b"")


def test_echo_repeats_family_source_and_address_octets_with_our_scope() -> None:
    subnet = parsed(option_data(IPV4, 22, bytes([198, 51, 100]), scope=7))  # a query's SCOPE is ignored
    echo = subnet.echo(25)
    assert echo == struct.pack("!HHHBB", 8, 7, IPV4, 22, 25) + bytes([198, 51, 100])


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"\x00\x01\x18", "need 4"),
        (option_data(3, 24, b"\x0a\x00\x00"), "FAMILY 3"),
        (option_data(0, 0, b""), "FAMILY 0"),
        (option_data(IPV4, 33, b"\x0a\x00\x00\x01\x00"), "longer than an IPv4 address"),
        (option_data(IPV6, 129, b"\x20" * 17), "longer than an IPv6 address"),
        (option_data(IPV4, 24, b"\xc0\x00\x02\x05"), "4 octets, SOURCE PREFIX-LENGTH 24 needs 3"),
        (option_data(IPV4, 24, b"\xc0\x00"), "2 octets"),
        (option_data(IPV4, 0, b"\x00"), "1 octets, SOURCE PREFIX-LENGTH 0 needs 0"),
        (option_data(IPV4, 23, b"\xc0\x00\x03"), "bits set beyond SOURCE PREFIX-LENGTH 23"),
        (option_data(IPV6, 33, bytes.fromhex("20010db8ff")), "bits set beyond"),
    ],
)
def test_malformed_options_raise_with_the_reason(data: bytes, says: str) -> None:
    with pytest.raises(EcsError, match=says):
        parsed(data)


def test_peers_as_family_and_integer() -> None:
    assert from_peer("192.0.2.1") == (IPV4, 0xC0000201)
    assert from_peer("2001:db8::1") == (IPV6, 0x20010DB8 << 96 | 1)
    assert from_peer("::ffff:192.0.2.1") == (IPV4, 0xC0000201)  # dual-stack sockets
    assert from_peer("fe80::1%lo") == (IPV6, 0xFE80 << 112 | 1)


@pytest.mark.parametrize(
    ("family", "address", "special"),
    [
        (IPV4, "10.1.2.3", True),
        (IPV4, "172.31.255.255", True),
        (IPV4, "172.32.0.0", False),
        (IPV4, "192.168.0.1", True),
        (IPV4, "100.64.0.1", True),
        (IPV4, "127.0.0.1", True),
        (IPV4, "0.0.0.0", True),
        (IPV4, "224.0.0.1", True),
        (IPV4, "255.255.255.255", True),
        # the lab's address plan is documentation and benchmarking space: public here
        (IPV4, "192.0.2.1", False),
        (IPV4, "198.51.100.1", False),
        (IPV4, "203.0.113.1", False),
        (IPV4, "198.18.0.1", False),
        (IPV6, "2001:db8::1", False),
        (IPV6, "fd00::1", True),
        (IPV6, "fe80::1", True),
        (IPV6, "::1", True),
        (IPV6, "::", True),
        (IPV6, "::ffff:10.0.0.1", True),
        (IPV6, "ff02::1", True),
    ],
)
def test_private_and_unroutable_space(family: int, address: str, special: bool) -> None:
    import ipaddress

    assert (SPECIAL.find(family, int(ipaddress.ip_address(address))) is not None) is special
