"""Seeded malformed DNS packets, and what a correct server may send back to each.

A server may drop a malformed UDP packet (RFC 1035 gives it no way to answer garbage), so most
cases allow "no reply"; what they never allow is a reply that does not parse, that has another
ID than the query, that answers a response (QR=1), or that carries an rcode the input does not
warrant (SERVFAIL means the server tripped over its own code).
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field
from enum import Enum

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.rcode

ORIGIN = "fuzz.example.net"
WWW = f"www.{ORIGIN}"
WWW_A = "192.0.2.53"
GEO = f"geo.{ORIGIN}"  # steered by tests/data/fuzz.example.net.geo (every address has a view)

NOERROR, FORMERR, NXDOMAIN, NOTIMP, REFUSED, NOTAUTH, BADVERS = 0, 1, 3, 4, 5, 9, 16
ANY_RCODE = frozenset({NOERROR, FORMERR, NXDOMAIN, NOTIMP, REFUSED, NOTAUTH, BADVERS})
MALFORMED = frozenset({FORMERR})


class Reply(Enum):
    OPTIONAL = "optional"  # drop or answer
    REQUIRED = "required"  # a well-formed query: it must be answered
    FORBIDDEN = "forbidden"  # never answer a response (QR=1): reflection loops


@dataclass(frozen=True)
class Case:
    kind: str
    wire: bytes
    rcodes: frozenset[int] = ANY_RCODE
    reply: Reply = Reply.OPTIONAL


@dataclass(frozen=True)
class TcpCase:
    """Bytes written on one TCP connection (then half-closed); the DNS messages framed in them."""

    kind: str
    stream: bytes
    messages: list[bytes] = field(default_factory=list)


# --- wire building blocks --------------------------------------------------------------


def header(
    qid: int, flags: int = 0x0100, qd: int = 1, an: int = 0, ns: int = 0, ar: int = 0, opcode: int = 0
) -> bytes:
    return struct.pack("!HHHHHH", qid, flags | (opcode << 11), qd, an, ns, ar)


def encode_name(name: str) -> bytes:
    out = b""
    for label in name.strip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def question(name: str = WWW, qtype: int = 1, qclass: int = 1) -> bytes:
    return encode_name(name) + struct.pack("!HH", qtype, qclass)


def option(code: int, data: bytes, length: int | None = None) -> bytes:
    return struct.pack("!HH", code, len(data) if length is None else length) + data


def opt_rr(
    payload: int = 1232,
    version: int = 0,
    do: bool = False,
    options: bytes = b"",
    rdlen: int | None = None,
    owner: bytes = b"\x00",
) -> bytes:
    ttl = (version << 16) | (0x8000 if do else 0)
    rdlength = len(options) if rdlen is None else rdlen
    return owner + struct.pack("!HHIH", 41, payload, ttl, rdlength) + options


def tsig_rr(
    rng: random.Random,
    key: str = "fuzz-key.",
    mac_len: int = 32,
    mac_field: int | None = None,
    garbage: bool = False,
) -> bytes:
    """A TSIG RR; `mac_field` lies about the MAC size to test the server's bounds checks."""
    if garbage:
        rdata = rng.randbytes(rng.randint(0, 80))
    else:
        rdata = (
            encode_name("hmac-sha256.")
            + struct.pack("!HIH", 0, rng.getrandbits(32), 300)  # 48-bit time, fudge
            + struct.pack("!H", mac_len if mac_field is None else mac_field)
            + rng.randbytes(mac_len)
            + struct.pack("!HHH", rng.getrandbits(16), 0, 0)  # original id, error, other len
        )
    return encode_name(key) + struct.pack("!HHIH", 250, 255, 0, len(rdata)) + rdata


def valid_query(qid: int, name: str = WWW, qtype: str = "A", edns: bool = False) -> bytes:
    q = dns.message.make_query(name, qtype, use_edns=0 if edns else None, want_dnssec=False)
    if edns:
        q.use_edns(0, options=[dns.edns.GenericOption(dns.edns.OptionType.NSID, b"")])
    q.id = qid
    return q.to_wire()


def signed_query(rng: random.Random, qid: int) -> bytes:
    """An SOA query signed with a key the server does not know (MAC from the seed: reproducible)."""
    return header(qid, ar=1) + question(ORIGIN, 6) + tsig_rr(rng)


# --- UDP cases ---------------------------------------------------------------------------


def _qid(rng: random.Random) -> int:
    return rng.getrandbits(16)


def random_bytes(rng: random.Random, count: int) -> list[Case]:
    return [Case("random", rng.randbytes(rng.randint(0, 600))) for _ in range(count)]


def random_headers(rng: random.Random, count: int) -> list[Case]:
    """A plausible header (QR=0) over random bytes: gets past the first checks of a parser."""
    cases = []
    for _ in range(count):
        flags = rng.getrandbits(16) & 0x7FFF
        counts = [rng.choice([0, 1, 1, 2, rng.getrandbits(16)]) for _ in range(4)]
        cases.append(
            Case("random-header", header(_qid(rng), flags, *counts) + rng.randbytes(rng.randint(0, 300)))
        )
    return cases


def truncations(rng: random.Random) -> list[Case]:
    """Every proper prefix of a few valid queries: a message cut anywhere is malformed."""
    bases = [
        valid_query(_qid(rng)),
        valid_query(_qid(rng), qtype="AAAA", edns=True),
        valid_query(_qid(rng), name=f"nx.{ORIGIN}", qtype="MX", edns=True),
    ]
    cases = [Case("truncated", base[:cut], MALFORMED) for base in bases for cut in range(len(base))]
    signed = signed_query(rng, _qid(rng))
    cases += [
        Case("truncated-tsig", signed[:cut], frozenset({FORMERR, NOTAUTH})) for cut in range(len(signed))
    ]
    return cases


def _base(rng: random.Random) -> bytes:
    return rng.choice(
        [
            valid_query(_qid(rng)),
            valid_query(_qid(rng), qtype="AAAA", edns=True),
            valid_query(_qid(rng), name=f"x.wild.{ORIGIN}", qtype="A", edns=True),
            valid_query(_qid(rng), name=ORIGIN, qtype="SOA"),
            signed_query(rng, _qid(rng)),
        ]
    )


def bit_flips(rng: random.Random, count: int) -> list[Case]:
    cases = []
    for _ in range(count):
        wire = bytearray(_base(rng))
        for _ in range(rng.randint(1, 4)):
            bit = rng.randrange(len(wire) * 8)
            wire[bit // 8] ^= 1 << (bit % 8)
        cases.append(Case("bitflip", bytes(wire)))
    return cases


def byte_mutations(rng: random.Random, count: int) -> list[Case]:
    """Overwrite, insert or delete bytes after the header."""
    cases = []
    for _ in range(count):
        wire = bytearray(_base(rng))
        for _ in range(rng.randint(1, 3)):
            pos = rng.randrange(12, len(wire))
            action = rng.choice(["set", "insert", "delete"])
            if action == "set":
                wire[pos] = rng.choice([0x00, 0x3F, 0x40, 0x7F, 0x80, 0xBF, 0xC0, 0xFF, rng.getrandbits(8)])
            elif action == "insert":
                wire[pos:pos] = rng.randbytes(rng.randint(1, 8))
            else:
                del wire[pos : pos + rng.randint(1, 4)]
        cases.append(Case("mutate", bytes(wire)))
    return cases


def bad_labels(rng: random.Random) -> list[Case]:
    """Label length bytes that are reserved (0x40-0xBF), overrun the packet, or make a name > 255."""
    cases = []
    for first in [0x40, 0x41, 0x7F, 0x80, 0xBF]:
        cases.append(
            Case(
                "bad-label", header(_qid(rng)) + bytes([first]) + b"www" + b"\x00\x00\x01\x00\x01", MALFORMED
            )
        )
    for overrun in [10, 40, 63]:
        cases.append(Case("bad-label-overrun", header(_qid(rng)) + bytes([overrun]) + b"abc", MALFORMED))
    long_name = b"".join(b"\x3f" + b"a" * 63 for _ in range(5)) + b"\x00"  # 321 bytes > 255
    cases.append(Case("name-too-long", header(_qid(rng)) + long_name + b"\x00\x01\x00\x01", MALFORMED))
    cases.append(Case("no-root-label", header(_qid(rng)) + b"\x03www", MALFORMED))
    return cases


def pointers(rng: random.Random) -> list[Case]:
    """Compression pointers in the question: loops, out of range, forward."""
    tail = b"\x00\x01\x00\x01"
    cases = [
        Case("pointer-self", header(_qid(rng)) + b"\xc0\x0c" + tail, MALFORMED),
        # label "a" then a pointer back to the label: a -> a -> a ...
        Case("pointer-loop", header(_qid(rng)) + b"\x01a\xc0\x0c" + tail, MALFORMED),
        # two pointers pointing at each other
        Case("pointer-pingpong", header(_qid(rng)) + b"\xc0\x0e\xc0\x0c" + tail, MALFORMED),
        Case("pointer-out-of-range", header(_qid(rng)) + b"\xff\xff" + tail, MALFORMED),
        Case("pointer-past-end", header(_qid(rng)) + b"\xc0\x20" + tail, MALFORMED),
        Case("pointer-truncated", header(_qid(rng)) + b"\xc0", MALFORMED),
    ]
    # Forward pointer to a valid name placed after the question: not allowed by RFC 1035 ("prior
    # occurrence"), but some parsers accept it; either way it must be a clean reply or none.
    name = encode_name(WWW)
    forward = header(_qid(rng), ar=0) + b"\xc0\x12" + tail + name
    cases.append(Case("pointer-forward", forward, frozenset({FORMERR, NOERROR, REFUSED})))
    return cases


def section_counts(rng: random.Random) -> list[Case]:
    q = question()
    cases = []
    for qd, an, ns, ar in [
        (0xFFFF, 0, 0, 0),
        (1, 0xFFFF, 0, 0),
        (1, 0, 0xFFFF, 0),
        (1, 0, 0, 0xFFFF),
        (0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF),
        (2, 0, 0, 0),
        (1, 1, 0, 0),
        (1, 0, 1, 0),
        (1, 0, 0, 1),
        (1000, 0, 0, 0),
    ]:
        cases.append(Case("counts", header(_qid(rng), qd=qd, an=an, ns=ns, ar=ar) + q, MALFORMED))
    cases.append(Case("qdcount-0", header(_qid(rng), qd=0), frozenset({FORMERR, REFUSED, NOTIMP})))
    two = header(_qid(rng), qd=2) + q + question(f"mail.{ORIGIN}")
    cases.append(Case("qdcount-2", two, frozenset({FORMERR, REFUSED, NOTIMP})))
    return cases


def responses(rng: random.Random) -> list[Case]:
    """QR=1: answering these invites reflection loops between servers."""
    cases = []
    for opcode in range(16):
        for rcode in [0, 1, 2, 3, 5]:
            flags = 0x8000 | 0x0400 | rcode
            cases.append(
                Case("qr-set", header(_qid(rng), flags, opcode=opcode) + question(), reply=Reply.FORBIDDEN)
            )
    valid = bytearray(valid_query(_qid(rng), edns=True))
    valid[2] |= 0x80
    cases.append(Case("qr-set-edns", bytes(valid), reply=Reply.FORBIDDEN))
    return cases


def opcodes(rng: random.Random) -> list[Case]:
    cases = [Case("opcode-0", header(_qid(rng)) + question(), frozenset({NOERROR}), Reply.REQUIRED)]
    refuse = frozenset({REFUSED, NOTAUTH, NOTIMP, FORMERR})
    cases.append(Case("opcode-4-notify", header(_qid(rng), 0x0400, opcode=4) + question(ORIGIN, 6), refuse))
    cases.append(Case("opcode-5-update", header(_qid(rng), 0, opcode=5) + question(ORIGIN, 6), refuse))
    for opcode in [1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]:
        cases.append(
            Case(
                f"opcode-{opcode}",
                header(_qid(rng), opcode=opcode) + question(),
                frozenset({NOTIMP, FORMERR, REFUSED}),
            )
        )
    return cases


def classes_and_types(rng: random.Random) -> list[Case]:
    cases = []
    for qclass in [0, 2, 3, 4, 5, 253, 65280, 65535]:  # reserved, CS, CH (not for this name), HS, unknown
        cases.append(
            Case(
                f"class-{qclass}",
                header(_qid(rng)) + question(qclass=qclass),
                frozenset({REFUSED, NOTIMP, FORMERR}),
            )
        )
    for qclass in [254, 255]:  # NONE, ANY
        cases.append(
            Case(
                f"class-{qclass}",
                header(_qid(rng)) + question(qclass=qclass),
                frozenset({NOERROR, REFUSED, NOTIMP, FORMERR}),
            )
        )
    for qtype in [65280, 65534, 65535, 4242, 260, 32769]:  # private/unknown: NODATA, answered
        cases.append(
            Case(
                f"type-{qtype}",
                header(_qid(rng)) + question(qtype=qtype),
                frozenset({NOERROR}),
                Reply.REQUIRED,
            )
        )
    for qtype in [0, 128, 249, 250, 253, 254]:  # reserved and meta types (TKEY, TSIG, MAILB, MAILA)
        cases.append(
            Case(
                f"type-{qtype}",
                header(_qid(rng)) + question(qtype=qtype),
                frozenset({NOERROR, FORMERR, REFUSED, NOTIMP}),
            )
        )
    for qtype in [251, 252]:  # IXFR/AXFR over UDP from a stranger
        cases.append(
            Case(
                f"type-{qtype}",
                header(_qid(rng)) + question(ORIGIN, qtype),
                frozenset({REFUSED, FORMERR, NOTIMP, NOTAUTH}),
            )
        )
    cases.append(
        Case("type-any", header(_qid(rng)) + question(qtype=255), frozenset({NOERROR, NOTIMP, REFUSED}))
    )
    return cases


def edns(rng: random.Random) -> list[Case]:
    q = question()
    ok_or_formerr = frozenset({NOERROR, FORMERR})
    cases = []
    for version in [1, 2, 255]:
        cases.append(
            Case(
                f"edns-version-{version}",
                header(_qid(rng), ar=1) + q + opt_rr(version=version),
                frozenset({BADVERS}),
                Reply.REQUIRED,
            )
        )
    cases.append(Case("edns-two-opt", header(_qid(rng), ar=2) + q + opt_rr() + opt_rr(), MALFORMED))
    for payload in [0, 1, 511, 512, 4096, 65535]:
        cases.append(
            Case(
                f"edns-payload-{payload}",
                header(_qid(rng), ar=1) + q + opt_rr(payload=payload),
                frozenset({NOERROR}),
                Reply.REQUIRED,
            )
        )
    bad_options = [
        option(3, b"", length=20),  # NSID claims 20 bytes, has 0
        option(10, b"\x01" * 8, length=40),  # COOKIE overruns the rdata
        option(65001, b"xy", length=1),  # unknown option, short length: trailing byte
        b"\x00",  # a single byte: not even an option header
        option(10, b"\x01" * 7),  # client cookie must be 8 bytes (RFC 7873): FORMERR
        option(10, b"\x01" * 41),  # server cookie too long
        option(8, b"\x00\x03\x18\x00\x0a"),  # ECS: family 3 does not exist (RFC 7871: FORMERR)
        option(8, b"\x00\x01\x40\x00\x0a\x00\x00\x01"),  # ECS: source prefix 64 > 32 for IPv4
        option(12, b"\x00" * 3000),  # padding longer than the packet allows in UDP practice
    ]
    for opts in bad_options:
        cases.append(
            Case("edns-bad-option", header(_qid(rng), ar=1) + q + opt_rr(options=opts), ok_or_formerr)
        )
    cases.append(Case("edns-rdlen-overrun", header(_qid(rng), ar=1) + q + opt_rr(rdlen=500), MALFORMED))
    cases.append(
        Case(
            "edns-rdlen-short",
            header(_qid(rng), ar=1) + q + opt_rr(options=option(3, b""), rdlen=2),
            MALFORMED,
        )
    )
    cases.append(
        Case(
            "edns-owner-not-root", header(_qid(rng), ar=1) + q + opt_rr(owner=encode_name("x")), ok_or_formerr
        )
    )
    cases.append(Case("edns-in-answer", header(_qid(rng), an=1) + q + opt_rr(), ok_or_formerr))
    cases.append(
        Case(
            "edns-unknown-options",
            header(_qid(rng), ar=1) + q + opt_rr(options=option(65001, b"abc") + option(3, b"")),
            frozenset({NOERROR}),
            Reply.REQUIRED,
        )
    )
    for _ in range(20):
        opts = rng.randbytes(rng.randint(1, 40))
        cases.append(
            Case(
                "edns-random-options",
                header(_qid(rng), ar=1) + q + opt_rr(options=opts),
                frozenset({NOERROR, FORMERR, BADVERS}),
            )
        )
    return cases


def tsig(rng: random.Random) -> list[Case]:
    q = question(ORIGIN, 6)
    tsig_rcodes = frozenset({NOTAUTH, FORMERR, REFUSED})
    cases = [Case("tsig-unknown-key", header(_qid(rng), ar=1) + q + tsig_rr(rng), tsig_rcodes)]
    for _ in range(10):
        cases.append(
            Case("tsig-garbage", header(_qid(rng), ar=1) + q + tsig_rr(rng, garbage=True), tsig_rcodes)
        )
    for mac_field in [0, 1, 33, 65535]:
        cases.append(
            Case("tsig-mac-len", header(_qid(rng), ar=1) + q + tsig_rr(rng, mac_field=mac_field), tsig_rcodes)
        )
    # TSIG must be the last record; here an OPT follows it.
    cases.append(Case("tsig-not-last", header(_qid(rng), ar=2) + q + tsig_rr(rng) + opt_rr(), tsig_rcodes))
    cases.append(Case("tsig-in-answer", header(_qid(rng), an=1) + q + tsig_rr(rng), tsig_rcodes))
    cases.append(Case("tsig-two", header(_qid(rng), ar=2) + q + tsig_rr(rng) + tsig_rr(rng), tsig_rcodes))
    cases.append(Case("tsig-signed-unknown", signed_query(rng, _qid(rng)), tsig_rcodes))
    return cases


def ecs_option(family: int, source: int, address: bytes, scope: int = 0) -> bytes:
    data = struct.pack("!HBB", family, source, scope) + address
    return option(8, data)


def ecs_valid(data: bytes) -> bool:
    """RFC 7871 6, spelled out on its own: a known FAMILY, SOURCE within the address, exactly
    ceil(SOURCE/8) ADDRESS octets, no bit set beyond SOURCE."""
    if len(data) < 4:
        return False
    family, source = struct.unpack("!HB", data[:3])
    bits = {1: 32, 2: 128}.get(family)
    if bits is None or source > bits:
        return False
    address = data[4:]
    if len(address) != -(-source // 8):
        return False
    spare = len(address) * 8 - source
    return not (address and address[-1] & ((1 << spare) - 1))


def _ecs_query(qid: int, name: str, qtype: int, options: bytes) -> bytes:
    return header(qid, ar=1) + question(name, qtype) + opt_rr(options=options)


def ecs(rng: random.Random, count: int) -> list[Case]:
    """Client Subnet options, well formed and not (RFC 7871 6: FORMERR), for a steered name and
    a plain one. Well-formed ones must get NOERROR (every address has a view), malformed ones
    FORMERR, both always answered."""
    named = [
        ("ecs-bad-family", ecs_option(3, 24, b"\xc0\x00\x02")),
        ("ecs-bad-family", ecs_option(0, 0, b"")),
        ("ecs-source-too-long", ecs_option(1, 33, b"\xc0\x00\x02\x01\x00")),
        ("ecs-source-too-long", ecs_option(2, 129, b"\x20" * 17)),
        ("ecs-too-many-octets", ecs_option(1, 24, b"\xc0\x00\x02\x07")),
        ("ecs-too-many-octets", ecs_option(1, 0, b"\x00")),
        ("ecs-too-few-octets", ecs_option(1, 24, b"\xc0\x00")),
        ("ecs-too-few-octets", ecs_option(2, 56, b"\x20\x01\x0d\xb8")),
        ("ecs-bits-beyond-source", ecs_option(1, 23, b"\xc0\x00\x03")),
        ("ecs-bits-beyond-source", ecs_option(2, 33, b"\x20\x01\x0d\xb8\xff")),
        ("ecs-short", option(8, b"\x00\x01\x18")),
        ("ecs-empty", option(8, b"")),
        ("ecs-twice", ecs_option(1, 24, b"\xc6\x12\x05") * 2),
        ("ecs-ok-v4", ecs_option(1, 24, b"\xc6\x12\x05")),
        ("ecs-ok-v4-host", ecs_option(1, 32, b"\xc6\x12\x05\x07")),
        ("ecs-ok-v6", ecs_option(2, 48, b"\x20\x01\x0d\xb8\x00\x05")),
        ("ecs-ok-zero", ecs_option(1, 0, b"")),
        ("ecs-ok-private", ecs_option(1, 24, b"\x0a\x01\x02")),
        ("ecs-ok-scope-set", ecs_option(1, 24, b"\xc6\x12\x05", scope=24)),
        ("ecs-ok-with-nsid", option(3, b"") + ecs_option(2, 56, b"\x20\x01\x0d\xb8\x00\x05\x00")),
    ]
    cases = []
    for kind, options in named:
        valid = kind.startswith("ecs-ok")
        for name in (GEO, WWW):
            for qtype in (1, 28, 16):
                cases.append(
                    Case(
                        kind,
                        _ecs_query(_qid(rng), name, qtype, options),
                        frozenset({NOERROR}) if valid else MALFORMED,
                        Reply.REQUIRED,
                    )
                )
    for _ in range(count):  # random fields: the judge decides what is valid, independently
        family = rng.choice([1, 1, 2, 2, 0, 3, 65535])
        source = rng.choice([0, 8, 23, 24, 25, 32, 33, 48, 56, 64, 128, 129, rng.randrange(256)])
        size = -(-source // 8) + rng.choice([0, 0, 0, -1, 1])
        address = bytearray(rng.randbytes(max(0, size)))
        if address and rng.random() < 0.7:  # mostly clean padding, so many are valid
            spare = len(address) * 8 - source
            if 0 < spare < 8:
                address[-1] &= 0xFF << spare
        data = struct.pack("!HBB", family, source, 0) + bytes(address)
        cases.append(
            Case(
                "ecs-random",
                _ecs_query(_qid(rng), rng.choice([GEO, WWW]), rng.choice([1, 28, 255]), option(8, data)),
                frozenset({NOERROR}) if ecs_valid(data) else MALFORMED,
                Reply.REQUIRED,
            )
        )
    for _ in range(count):  # flipped bits anywhere in a steered query with ECS: survive
        wire = bytearray(_ecs_query(_qid(rng), GEO, 1, ecs_option(1, 24, b"\xc6\x12\x05")))
        for _ in range(rng.randint(1, 3)):
            bit = rng.randrange(len(wire) * 8)
            wire[bit // 8] ^= 1 << (bit % 8)
        cases.append(Case("ecs-bitflip", bytes(wire)))
    return cases


def trailing_junk(rng: random.Random, count: int) -> list[Case]:
    return [
        Case(
            "trailing-junk",
            valid_query(_qid(rng), edns=rng.random() < 0.5) + rng.randbytes(rng.randint(1, 60)),
            frozenset({NOERROR, FORMERR}),
        )
        for _ in range(count)
    ]


def udp_cases(seed: int, scale: int = 1, with_ecs: bool = True) -> list[Case]:
    """Every UDP case for one seed, shuffled so each kind meets the server in every state.

    with_ecs: the Client Subnet cases (a server that validates ECS and steers GEO; NSD does
    neither, so the reference run leaves them out)."""
    rng = random.Random(seed)
    cases = (
        random_bytes(rng, 500 * scale)
        + random_headers(rng, 300 * scale)
        + truncations(rng)
        + bit_flips(rng, 600 * scale)
        + byte_mutations(rng, 400 * scale)
        + bad_labels(rng)
        + pointers(rng)
        + section_counts(rng)
        + responses(rng)
        + opcodes(rng)
        + classes_and_types(rng)
        + edns(rng)
        + tsig(rng)
        + trailing_junk(rng, 50 * scale)
    )
    if with_ecs:
        cases += ecs(rng, 150 * scale)
    rng.shuffle(cases)
    return cases


# --- TCP cases ---------------------------------------------------------------------------


def frame(message: bytes, length: int | None = None) -> bytes:
    return struct.pack("!H", len(message) if length is None else length) + message


def split_frames(stream: bytes) -> list[bytes]:
    """The complete messages a server reads from a TCP stream (RFC 1035 4.2.2 length prefixes).

    A lying length prefix makes the server read other bytes as messages than the ones we meant:
    replies are judged against these, not against our intentions.
    """
    frames = []
    while len(stream) >= 2:
        (length,) = struct.unpack("!H", stream[:2])
        if len(stream) < 2 + length:
            break
        frames.append(stream[2 : 2 + length])
        stream = stream[2 + length :]
    return frames


def tcp_cases(seed: int) -> list[TcpCase]:
    rng = random.Random(seed ^ 0x7C9)
    cases = [
        TcpCase("tcp-one-byte", b"\x00"),
        TcpCase("tcp-length-only", frame(b"", length=40)),
        TcpCase("tcp-length-zero", frame(b"")),
        TcpCase("tcp-length-zero-then-query", frame(b"") + frame(q := valid_query(_qid(rng))), [q]),
        TcpCase("tcp-length-short", frame(b"\x12")),
        TcpCase("tcp-length-max-partial", frame(b"x" * 100, length=65535)),
    ]
    for _ in range(10):
        query = valid_query(_qid(rng), edns=True)
        cut = rng.randrange(1, len(query))
        cases.append(TcpCase("tcp-partial", frame(query[:cut], length=len(query))))
    for _ in range(10):
        # The length prefix claims less than the message: the rest is read as the next frame.
        query = valid_query(_qid(rng), edns=True)
        short = rng.randrange(12, len(query))
        cases.append(TcpCase("tcp-length-smaller", frame(query, length=short), [query[:short]]))
    for _ in range(8):
        messages = [c.wire for c in random_bytes(rng, 30) + bit_flips(rng, 30) + byte_mutations(rng, 30)]
        messages = [m[:65535] for m in messages]
        rng.shuffle(messages)
        messages.append(valid_query(_qid(rng)))
        cases.append(TcpCase("tcp-pipelined-garbage", b"".join(frame(m) for m in messages), messages))
    # Valid queries pipelined: all must come back (checked in the test by ID).
    valid = [valid_query(_qid(rng), qtype=rng.choice(["A", "AAAA", "MX", "TXT"])) for _ in range(50)]
    cases.append(TcpCase("tcp-pipelined-valid", b"".join(frame(m) for m in valid), valid))
    cases.append(TcpCase("tcp-random-stream", rng.randbytes(4000)))
    return cases


# --- judging replies -----------------------------------------------------------------------


def readable_header(wire: bytes) -> bool:
    return len(wire) >= 12


def is_response(wire: bytes) -> bool:
    return len(wire) >= 3 and bool(wire[2] & 0x80)


def check_reply(request: bytes, reply: bytes | None, rcodes: frozenset[int], expect: Reply) -> str | None:
    """What is wrong with `reply` to `request`, or None when it is acceptable."""
    if is_response(request):
        expect = Reply.FORBIDDEN  # also for random bytes and bit flips that happen to set QR
    if reply is None:
        return "no reply to a well-formed query" if expect is Reply.REQUIRED else None
    if expect is Reply.FORBIDDEN:
        return "replied to a message with QR=1"
    try:
        message = dns.message.from_wire(reply, keyring=False, ignore_trailing=False)
    except dns.exception.DNSException as exc:
        return f"reply does not parse as DNS: {type(exc).__name__}: {exc}"
    if not message.flags & dns.flags.QR:
        return "reply has QR=0"
    if readable_header(request) and message.id != struct.unpack("!H", request[:2])[0]:
        return f"reply ID {message.id} != query ID {struct.unpack('!H', request[:2])[0]}"
    rcode = message.rcode()
    if rcode not in rcodes:
        allowed = ", ".join(sorted(dns.rcode.to_text(dns.rcode.Rcode(r)) for r in rcodes))
        return f"rcode {dns.rcode.to_text(rcode)}, expected one of {allowed} (or no reply)"
    return None


def check_tcp_reply(requests: list[bytes], reply: bytes) -> str | None:
    """A reply frame on a TCP connection: parses, answers one of the framed queries, sane rcode."""
    try:
        message = dns.message.from_wire(reply, keyring=False)
    except dns.exception.DNSException as exc:
        return f"reply does not parse as DNS: {type(exc).__name__}: {exc}"
    ids = {struct.unpack("!H", r[:2])[0] for r in requests if readable_header(r) and not is_response(r)}
    if message.id not in ids:
        return f"reply ID {message.id} matches no query sent on this connection"
    if message.rcode() not in ANY_RCODE:
        return f"rcode {dns.rcode.to_text(message.rcode())}"
    return None
