"""Load an RFC 1035 master file into a dnspython zone; errors read "FILE:LINE: reason (fix)"."""

from __future__ import annotations

import re
from pathlib import Path

import dns.exception
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.zone

from dnsnode.serving.rrtypes import ALIAS


class ZoneFileError(ValueError):
    """A zone file that cannot be served; str() is "FILE:LINE: reason"."""


_LOCATED = re.compile(r"^(?P<file>.*?):(?P<line>\d+): (?P<detail>.*)$", re.S)


def load_zone_file(path: Path, origin: dns.name.Name | str) -> dns.zone.Zone:
    """Parse and check a master file (SOA and NS at the apex), absolute names throughout."""
    if isinstance(origin, str):
        origin = dns.name.from_text(origin)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ZoneFileError(f"{path}:0: cannot read zone file: {exc.strerror} (check the path)") from exc
    except UnicodeDecodeError as exc:
        raise ZoneFileError(f"{path}:0: not UTF-8 text: {exc.reason}") from exc
    try:
        zone = dns.zone.from_text(
            text,
            origin=origin,
            rdclass=dns.rdataclass.IN,
            relativize=False,
            filename=str(path),
            check_origin=True,
        )
    except dns.exception.SyntaxError as exc:
        match = _LOCATED.match(str(exc))
        if match:
            line = _error_line(text, origin, int(match["line"]), match["detail"])
            raise ZoneFileError(f"{path}:{line}: {match['detail']}") from exc
        raise ZoneFileError(f"{path}:0: {exc}") from exc
    except dns.zone.NoSOA as exc:
        raise ZoneFileError(f"{path}:1: no SOA record at the zone apex {origin} (add one)") from exc
    except dns.zone.NoNS as exc:
        raise ZoneFileError(f"{path}:1: no NS records at the zone apex {origin} (add at least one)") from exc
    except dns.exception.DNSException as exc:
        raise ZoneFileError(f"{path}:0: {exc}") from exc
    _check_aliases(zone, path, text)
    return zone


_CLASHES = (dns.rdatatype.A, dns.rdatatype.AAAA, dns.rdatatype.CNAME)


def _check_aliases(zone: dns.zone.Zone, path: Path, text: str) -> None:
    """An ALIAS stands for the owner's A and AAAA: neither they nor a CNAME may sit beside it."""
    for name, node in zone.items():
        if node.get_rdataset(dns.rdataclass.IN, ALIAS) is None:
            continue
        for rdtype in _CLASHES:
            if node.get_rdataset(dns.rdataclass.IN, rdtype) is not None:
                kind = dns.rdatatype.to_text(rdtype)
                raise ZoneFileError(
                    f"{path}:{_alias_line(text, name, zone.origin)}: {name} has an ALIAS and {kind} records "
                    f"(the ALIAS answers {'A and AAAA' if rdtype != dns.rdatatype.CNAME else 'for it'}: "
                    f"remove the {kind} or the ALIAS)"
                )


def _alias_line(text: str, name: dns.name.Name, origin: dns.name.Name | None) -> int:
    """The line of the ALIAS record of name, as near as the text tells (the owner may be implicit)."""
    owners = {name.to_text().lower()}
    if origin is not None and name == origin:
        owners.add("@")
    elif origin is not None and name.is_subdomain(origin):
        owners.add(name.relativize(origin).to_text().lower())
    lines = text.splitlines()
    candidates = [i for i, line in enumerate(lines, 1) if re.search(r"\bALIAS\b", line, re.I)]
    for number in candidates:
        words = lines[number - 1].lower().split()
        if words and words[0] in owners:
            return number
    return candidates[0] if candidates else 1


def _error_line(text: str, origin: dns.name.Name, reported: int, detail: str) -> int:
    """dnspython reports rdata errors after consuming the end of line, so one line late.

    If the text up to the line before already fails with the same error, that line is it.
    """
    if reported <= 1:
        return reported
    prefix = "".join(text.splitlines(keepends=True)[: reported - 1])
    try:
        dns.zone.from_text(prefix, origin=origin, relativize=False, check_origin=False)
    except dns.exception.SyntaxError as exc:
        match = _LOCATED.match(str(exc))
        if match and match["detail"] == detail:
            return reported - 1
    except dns.exception.DNSException:
        pass
    return reported
