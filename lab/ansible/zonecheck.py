"""Check a zone file with dnsnode's own loader, where the file is: `python -m lab.ansible.zonecheck`.

The dns_zone_rollout role's install validates the candidate on the hidden primary (Ansible's
copy `validate:`), so this needs only what every dnsnode image carries (dnspython, dnsnode;
not the lab CLI and its dependencies): on netns the venv's Python runs it, on clab the image's
(/opt/anycast-lab). `lab runbook rollout check` is the same check on the controller
(lab.ansible.rollout.check_file calls `check`).

    python -m lab.ansible.zonecheck --zone lab.example. [--newer-than N] FILE
    -> {"ok": true, "file": ..., "zone": ..., "serial": N}; else exit 1, FILE:LINE: why (stderr)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import dns.rdatatype
import dns.zone

from dnsnode.serving.zonefile import ZoneFileError, load_zone_file
from dnsnode.xfr.serial import serial_gt

NOT_TOUCHED = "the primary's zone was not touched"


class ZoneCheckError(ValueError):
    """The file does not load, or its serial is not newer: FILE:LINE, why and the fix."""


def soa_serial(zone: dns.zone.Zone) -> int:
    assert zone.origin is not None
    rds = zone.get_rdataset(zone.origin, dns.rdatatype.SOA)
    assert rds is not None
    return int(rds[0].serial)


def check(path: Path, zone: str, newer_than: int | None = None) -> dict[str, Any]:
    """Load with dnsnode's loader; refuse a SOA serial not newer than `newer_than` (RFC 1982)."""
    try:
        z = load_zone_file(path, zone)
    except ZoneFileError as exc:
        raise ZoneCheckError(f"{exc}; {NOT_TOUCHED}") from None
    s = soa_serial(z)
    if newer_than is not None and not serial_gt(s, newer_than):
        raise ZoneCheckError(
            f"{path}:1: SOA serial {s} is not newer than {newer_than} (RFC 1982) (fix: raise the serial)"
        )
    return {"ok": True, "file": str(path), "zone": zone, "serial": s}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lab.ansible.zonecheck", description=__doc__.splitlines()[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("--zone", required=True, help="the zone's origin, e.g. lab.example.")
    ap.add_argument("--newer-than", type=int, help="also refuse a SOA serial not newer than this")
    args = ap.parse_args(argv)
    try:
        res = check(args.file, args.zone, args.newer_than)
    except ZoneCheckError as exc:
        print(json.dumps({"ok": False, "error": str(exc)}))
        print(f"zone check: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
