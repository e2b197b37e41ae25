"""Read a geoip file in Knot's mod-geoip format (subnet and weighted modes), so one file serves
both Knot (`mod-geoip: config-file`) and dnsnode (`--geoip ZONE=FILE`) unchanged.

    www.cdn.example.net:            # a name (absolute, with or without the final dot)
      - net: 192.0.2.0/24           # subnet mode: one view per net (mode weighted: - weight: N)
        A: [ 198.51.100.10, 198.51.100.11 ]
        AAAA: 2001:db8::10
        TXT: "eu\\ edge"            # RDATA as in a zone file; a space inside is "\\ "
      - net: 2001:db8:100::/48
        CNAME: edge-us              # relative names are relative to the owner (Knot: $ORIGIN owner)

The text is Knot's yparser dialect, not YAML: a value ends at a space unless quoted, `\\"`
stands for `"`, every other backslash pair reaches the RDATA parser as written, lists are
`[ a, b ]` (one record each), `#` starts a comment only after a space. What Knot rejects is
rejected here too, with FILE:LINE: what is wrong (and how to fix it); a few things Knot
accepts with a warning or gets wrong are errors here: a prefix longer than the address
(Knot clamps it), host bits set after the prefix (Knot's search then misses the net), the
same net twice for a name (Knot picks one at random), all weights 0 (Knot divides by zero).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

GeoMode = Literal["subnet", "weighted"]
Net = ipaddress.IPv4Network | ipaddress.IPv6Network
VIEW_KEY: dict[str, str] = {"subnet": "net", "weighted": "weight"}
# Knot refuses DNSSEC types in views (knot_rrtype_is_dnssec); the module signs its own.
_DNSSEC = frozenset(
    dns.rdatatype.from_text(t) for t in ("DNSKEY", "RRSIG", "NSEC", "NSEC3", "NSEC3PARAM", "CDNSKEY", "CDS")
)
_Fail = Callable[[int, str], "GeoFileError"]
_KEY = re.compile(r"[A-Za-z0-9\\/._*][A-Za-z0-9\\/._*\-]*")


class GeoFileError(ValueError):
    """A geoip file that cannot be served; str() is "FILE:LINE: what is wrong (fix)"."""


@dataclass(frozen=True)
class GeoView:
    """One answer set: its net (subnet mode) or weight (weighted mode) and its records."""

    line: int
    net: Net | None
    weight: int
    rdatas: dict[int, list[dns.rdata.Rdata]]  # by type, in the file's order (ANY answers the first)

    @property
    def cname(self) -> dns.name.Name | None:
        records = self.rdatas.get(dns.rdatatype.CNAME)
        return records[0].target if records else None  # type: ignore[attr-defined]


@dataclass(frozen=True)
class GeoName:
    owner: dns.name.Name  # absolute; may start with "*" (then it answers as a wildcard)
    line: int
    views: tuple[GeoView, ...]


@dataclass(frozen=True)
class GeoFile:
    path: Path
    mode: GeoMode
    names: tuple[GeoName, ...]
    text: str = field(repr=False)  # exactly what was parsed: workers load a copy of it


@dataclass
class _Item:
    """One event of Knot's yparser: a level-0 key (a name), a level-1 key (a record) or an id
    (`- net: ...`), each with one value (a list gives one item per element)."""

    line: int
    level: Literal["key0", "key1", "id"]
    key: str
    value: str


class _Lexer:
    """Knot's yparser (src/libknot/yparser/ypbody.rl) rewritten line by line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.indent = 0  # parser->indent: the indent of the last level-1 item
        self.id_pos = 0  # parser->id_pos: the column of the last dash

    def fail(self, line: int, message: str) -> GeoFileError:
        return GeoFileError(f"{self.path}:{line}: {message}")

    def items(self, text: str) -> list[_Item]:
        out: list[_Item] = []
        for number, raw in enumerate(text.split("\n"), start=1):
            line = raw.removesuffix("\r")
            if "\t" in line:
                raise self.fail(number, "tab character (Knot's parser allows spaces only)")
            if "\r" in line:
                raise self.fail(number, "carriage return inside a line")
            out += self._line(number, line)
        return out

    def _line(self, number: int, line: str) -> list[_Item]:
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            return []  # blank: also resets nothing in the parser state that matters here
        lead = len(line) - len(stripped)
        pos = lead
        if stripped.startswith("-"):
            level: Literal["key0", "key1", "id"] = "id"
            pos += 1
            spaces = self._spaces(line, pos)
            if spaces == 0:
                raise self.fail(number, "a space must follow '-' (write '- net: 192.0.2.0/24')")
            if lead and self.id_pos and lead != self.id_pos:
                raise self.fail(
                    number, f"'-' in column {lead + 1}, the list above has it in column {self.id_pos + 1}"
                )
            pos += spaces
            indent = pos
        elif lead == 0:
            level, indent = "key0", 0
        else:
            level, indent = "key1", lead
        if indent > 0 and self.indent > 0 and indent != self.indent:
            raise self.fail(
                number, f"indented {indent} spaces where the items above use {self.indent} (align them)"
            )
        match = _KEY.match(line, pos)
        if match is None:
            raise self.fail(
                number, f"expected a name or key at column {pos + 1}, got {line[pos : pos + 10]!r}"
            )
        key = match.group()
        pos = match.end()
        pos += self._spaces(line, pos)
        if pos >= len(line) or line[pos] != ":":
            raise self.fail(number, f"expected ':' after {key!r}")
        pos += 1
        values: list[str] = []
        after_colon = pos
        if pos < len(line) and line[pos] == " ":
            pos += self._spaces(line, pos)
            if pos == len(line) or line[pos] == "#":
                pos = after_colon  # no value; the comment (after a space) is for _rest
            elif line[pos] == "[":
                if level == "id":
                    raise self.fail(number, f"'- {key}:' takes one value, not a list")
                values, pos = self._list(number, line, pos)
            else:
                value, pos = self._value(number, line, pos)
                values = [value]
        elif pos < len(line):
            raise self.fail(number, f"a space must follow '{key}:'")
        self._rest(number, line, pos)
        if level == "id":
            if not values:
                raise self.fail(number, f"'- {key}:' needs a value")
            self.id_pos = lead
        if level == "key0":
            self.indent = 0
            self.id_pos = 0
        else:
            self.indent = indent
        return [_Item(number, level, key, v) for v in values] or [_Item(number, level, key, "")]

    @staticmethod
    def _spaces(line: str, pos: int) -> int:
        n = 0
        while pos + n < len(line) and line[pos + n] == " ":
            n += 1
        return n

    def _rest(self, number: int, line: str, pos: int) -> None:
        spaces = self._spaces(line, pos)
        pos += spaces
        if pos == len(line):
            return
        if line[pos] == "#" and spaces:
            return
        raise self.fail(number, f"unexpected {line[pos : pos + 20]!r} (quote a value that has spaces or '#')")

    def _value(self, number: int, line: str, pos: int) -> tuple[str, int]:
        """One item_data: an unquoted run or a "quoted string"; returns (data, end)."""
        quoted = line[pos] == '"'
        if quoted:
            pos += 1
        out: list[str] = []
        while pos < len(line):
            ch = line[pos]
            if ch == "\\":
                if pos + 1 >= len(line):
                    raise self.fail(number, "a backslash ends the line")
                nxt = line[pos + 1]
                if nxt == '"':
                    out.append('"')  # \" stands for a quote; every other escape passes through
                elif " " <= nxt <= "~":
                    out.append(ch + nxt)
                else:
                    raise self.fail(number, f"backslash before {nxt!r}")
                pos += 2
                continue
            if quoted and ch == '"':
                return "".join(out), pos + 1
            if not quoted and ch in ' "#[],':
                break
            if ord(ch) < 32 or ord(ch) == 127:
                raise self.fail(number, f"control character {ord(ch):#04x}")
            out.append(ch)
            pos += 1
        if quoted:
            raise self.fail(number, "unterminated quoted value (add the closing '\"')")
        if not out:
            raise self.fail(number, f"expected a value at column {pos + 1}")
        return "".join(out), pos

    def _list(self, number: int, line: str, pos: int) -> tuple[list[str], int]:
        pos += 1  # '['
        values: list[str] = []
        while True:
            pos += self._spaces(line, pos)
            value, pos = self._value(number, line, pos)
            values.append(value)
            pos += self._spaces(line, pos)
            if pos < len(line) and line[pos] == ",":
                pos += 1
                continue
            if pos < len(line) and line[pos] == "]":
                return values, pos + 1
            raise self.fail(number, "a list is [ value, value ] (missing ',' or ']')")


@dataclass
class _ViewBuilder:
    line: int
    net: Net | None
    weight: int
    rdatas: dict[int, list[dns.rdata.Rdata]] = field(default_factory=dict)


def load_geo_file(path: Path, mode: GeoMode) -> GeoFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GeoFileError(f"{path}:0: cannot read geoip file: {exc.strerror} (check the path)") from None
    except UnicodeDecodeError as exc:
        raise GeoFileError(f"{path}:0: not UTF-8 text: {exc.reason}") from None
    return parse_geo_text(text, path, mode)


def parse_geo_text(text: str, path: Path, mode: GeoMode) -> GeoFile:
    lexer = _Lexer(path)
    fail = lexer.fail
    view_key = VIEW_KEY[mode]
    names: list[GeoName] = []
    owner: dns.name.Name | None = None
    owner_line = 0
    views: list[_ViewBuilder] = []
    view: _ViewBuilder | None = None
    seen_nets: dict[Net, int] = {}
    seen_owners: dict[dns.name.Name, int] = {}

    def finish() -> None:
        if owner is not None:
            kept = tuple(GeoView(v.line, v.net, v.weight, v.rdatas) for v in views if v.rdatas)
            if mode == "weighted" and kept and not any(v.weight for v in kept):
                raise fail(owner_line, f"{owner}: every weight is 0 (give at least one view a weight > 0)")
            if kept:
                names.append(GeoName(owner, owner_line, kept))

    for item in lexer.items(text):
        if item.level == "key0":
            if item.value:
                raise fail(item.line, f"{item.key}: a name line takes no value (views go below it)")
            finish()
            try:
                owner = dns.name.from_text(item.key)
            except dns.exception.DNSException as exc:
                raise fail(item.line, f"{item.key!r} is not a domain name: {exc}") from None
            if owner in seen_owners:
                raise fail(
                    item.line, f"{owner} is listed twice (first on line {seen_owners[owner]}; merge them)"
                )
            seen_owners[owner] = item.line
            owner_line = item.line
            views, view, seen_nets = [], None, {}
        elif item.level == "id":
            if owner is None:
                raise fail(item.line, f"'- {item.key}:' before any name (start with 'www.example.net:')")
            if item.key != view_key:
                raise fail(
                    item.line,
                    f"'- {item.key}:' in {mode} mode: views start with '- {view_key}:' "
                    f"(--geoip-mode {'weighted' if item.key == 'weight' else 'subnet'} "
                    f"reads '- {item.key}:')",
                )
            if mode == "subnet":
                net = _net(fail, item.line, item.value)
                if net in seen_nets:
                    raise fail(
                        item.line, f"{owner}: net {net} given twice (also line {seen_nets[net]}; keep one)"
                    )
                seen_nets[net] = item.line
                view = _ViewBuilder(item.line, net, 0)
            else:
                view = _ViewBuilder(item.line, None, _weight(fail, item.line, item.value))
            views.append(view)
        else:
            if view is None or owner is None:
                raise fail(
                    item.line, f"{item.key}: a record outside a view (add '- {view_key}: ...' above it)"
                )
            _record(fail, item, owner, view)
    finish()
    return GeoFile(path, mode, tuple(names), text)


def _net(fail: _Fail, line: int, text: str) -> Net:
    address, slash, prefix = text.partition("/")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise fail(line, f"net {text!r}: {address!r} is not an IPv4 or IPv6 address") from None
    width: int = ip.max_prefixlen
    length = width
    if slash and prefix:
        if not prefix.isdigit() or int(prefix) > 255:
            raise fail(line, f"net {text!r}: prefix {prefix!r} is not a number 0-{width}")
        length = int(prefix)
        if length > width:
            raise fail(
                line, f"net {text!r}: /{length} is longer than an IPv{ip.version} address (max /{width})"
            )
    try:
        return ipaddress.ip_network(f"{ip}/{length}")
    except ValueError:
        fixed = ipaddress.ip_network(f"{ip}/{length}", strict=False)
        raise fail(line, f"net {text!r}: host bits set after /{length} (write {fixed})") from None


def _weight(fail: _Fail, line: int, text: str) -> int:
    if not text.isdigit() or int(text) > 255:
        raise fail(line, f"weight {text!r}: give a whole number 0-255 (Knot stores it in 8 bits)")
    return int(text)


def _record(fail: _Fail, item: _Item, owner: dns.name.Name, view: _ViewBuilder) -> None:
    try:
        rdtype = dns.rdatatype.from_text(item.key)
    except dns.exception.DNSException:
        raise fail(item.line, f"{item.key!r} is not a record type (A, AAAA, TXT, CNAME, ...)") from None
    if rdtype in _DNSSEC or dns.rdatatype.is_metatype(rdtype):
        raise fail(
            item.line, f"{item.key} records cannot be in a view (DNSSEC and meta types are not allowed)"
        )
    cname = dns.rdatatype.CNAME
    if rdtype == cname and view.rdatas and cname not in view.rdatas:
        raise fail(item.line, "a CNAME cannot share a view with other records (give it a view of its own)")
    if rdtype != cname and cname in view.rdatas:
        raise fail(item.line, f"{item.key} in a view that has a CNAME (a CNAME stands alone)")
    if not item.value:
        raise fail(item.line, f"{item.key}: no RDATA")
    try:
        # relative names are relative to the owner, as Knot's `$ORIGIN <owner>` does
        rdata = dns.rdata.from_text(dns.rdataclass.IN, rdtype, item.value, origin=owner, relativize=False)
    except dns.exception.DNSException as exc:
        raise fail(item.line, f"{item.key} {item.value!r}: {exc}") from None
    except ValueError as exc:
        raise fail(item.line, f"{item.key} {item.value!r}: {exc}") from None
    records = view.rdatas.setdefault(rdtype, [])
    if rdtype == cname and records:
        raise fail(item.line, "one CNAME per view")
    if rdata not in records:
        records.append(rdata)
