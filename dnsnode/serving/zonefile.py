"""Load an RFC 1035 master file into a dnspython zone; errors read "FILE:LINE: reason (fix)"."""

from __future__ import annotations

import re
from pathlib import Path

import dns.exception
import dns.name
import dns.rdataclass
import dns.zone


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
        return dns.zone.from_text(
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
