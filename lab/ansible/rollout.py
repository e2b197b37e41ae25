"""The dns_zone_rollout role's controller side: plan a zone change against the hidden primary's
zone file, check a zone file with dnsnode's own loader, and verify the changed records at
every site.

    lab runbook rollout plan --records JSON [--serial N]   write <zone>.candidate; JSON plan
    lab runbook rollout check FILE [--newer-than N]        dnsnode's loader: FILE:LINE errors
    lab runbook rollout verify --records JSON              every site answers the change

The change is a list of records (one RRset each, replaced as a whole, or `state: absent` to
delete it) applied to the primary's current zone, not a whole zone file: the primary's zone is
rendered per lab (addresses from the topology, the lab's name in a TXT), so a delta applies to
any lab, and "already applied" is a plain comparison, which makes a re-run a no-op that does
not bump the serial again.

The candidate is the current zone (as dnspython writes it) with the change and the new serial;
it is written beside the zone file and loaded by dnsnode.serving.zonefile before anything is installed,
so a bad record fails as `<zone>.candidate:LINE: reason (change record N: ...)` and the
primary's zone file is never touched.

The zone file and the candidate are in the primary's node directory as the controller sees it
(LabHandle.dir): on netns the directory itself, on clab the link into the primary's container
(lab.runtime.clab). Ansible modules resolve such a link to the container's own path, so the
role installs the candidate on the primary (its node_dir) and checks the watch's ready file
in the lab's run directory.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import dns.name
import dns.rdatatype
import dns.zone

from dnsnode.serving.zonefile import ZoneFileError, load_zone_file
from dnsnode.xfr.serial import serial_add, serial_gt
from lab.ansible import zonecheck
from lab.daemons.dns import dns_driver_of
from lab.errors import LabError
from lab.orchestrate.handle import LabHandle
from lab.render.dns import zone_file_name

CANDIDATE_SUFFIX = ".candidate"


class RolloutError(LabError):
    """A change that must not be rolled out; the text names the file/record and the fix."""


@dataclass(frozen=True)
class Record:
    """One RRset of the change: `name` relative to the zone (or absolute with a final dot)."""

    name: str
    type: str
    data: tuple[str, ...] = ()
    ttl: int | None = None  # None: the RRset's current TTL, else the zone's default (60)
    state: str = "present"  # present: replace the RRset with `data`; absent: delete it

    def label(self) -> str:
        return f"{self.name} {self.type} {' '.join(self.data)}".strip()


DEFAULT_TTL = 60  # the lab's zone.j2 $TTL


def parse_records(obj: Any, where: str = "dns_zone_rollout_records") -> list[Record]:
    """The role's `dns_zone_rollout_records` (a list of mappings) -> records; errors say which."""
    if isinstance(obj, str):
        try:
            obj = json.loads(obj)
        except json.JSONDecodeError as exc:
            raise RolloutError(f"{where}: not JSON: {exc} (fix: a list of {{name, type, data}})") from None
    if not isinstance(obj, list) or not obj:
        raise RolloutError(
            f"{where}: expected a non-empty list of records, got {obj!r} "
            '(fix: e.g. [{name: www, type: A, data: ["192.0.2.81"]}])'
        )
    out = []
    for i, r in enumerate(obj, 1):
        at = f"{where}[{i}]"
        if not isinstance(r, dict):
            raise RolloutError(f"{at}: expected a mapping with name, type, data (got {r!r})")
        unknown = set(r) - {"name", "type", "data", "ttl", "state"}
        if unknown:
            raise RolloutError(f"{at}: unknown keys {sorted(unknown)} (fix: name, type, data, ttl, state)")
        name, rtype, state = r.get("name"), str(r.get("type", "")).upper(), r.get("state", "present")
        if not isinstance(name, str) or not name:
            raise RolloutError(f"{at}: give name: (relative to the zone, '@' for the apex)")
        try:
            dns.rdatatype.from_text(rtype)
        except dns.rdatatype.UnknownRdatatype:
            raise RolloutError(f"{at}: type {r.get('type')!r} unknown (fix: A, AAAA, TXT, MX, ...)") from None
        if rtype == "SOA":
            raise RolloutError(f"{at}: the SOA is the role's (fix: set dns_zone_rollout_serial instead)")
        if state not in ("present", "absent"):
            raise RolloutError(f"{at}: state {state!r} (fix: present or absent)")
        data = r.get("data", [])
        data = [data] if isinstance(data, str) else data
        if state == "present" and (not isinstance(data, list) or not data):
            raise RolloutError(f"{at}: give data: (one rdata string or a list of them)")
        ttl = r.get("ttl")
        if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or not 0 <= ttl < 2**31):
            raise RolloutError(f"{at}: ttl {ttl!r}: expected seconds 0..2147483647")
        out.append(Record(name, rtype, tuple(str(d) for d in data), ttl, state))
    return out


# -- the primary -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Primary:
    node: str
    zone: str  # with the final dot
    zone_file: Path
    socket: Path  # its server's control socket (the DNS driver's: dnsnode.sock, knot.sock)
    address4: str | None

    @classmethod
    def of(cls, h: LabHandle) -> Primary:
        ps = h.lab.of_kind("primary")
        if not ps:
            raise LabError(f"lab {h.name}: no hidden primary in its topology (add primary: {{router: ...}})")
        p = ps[0]
        zone = h.lab.service.zone
        return cls(
            p.name,
            zone,
            h.dir / p.name / zone_file_name(h.lab),
            dns_driver_of(p).ready_files(h.dir / p.name)[0],
            str(h.lab.primary4) if h.lab.primary4 else None,
        )

    @property
    def candidate(self) -> Path:
        return self.zone_file.with_name(self.zone_file.name + CANDIDATE_SUFFIX)


# -- planning ----------------------------------------------------------------------------------
Canon = dict[tuple[str, int, int], tuple[int, frozenset[str]]]


def canonical(zone: dns.zone.Zone, serial: bool = True) -> Canon:
    """Every RRset with its TTL (dnspython's == ignores TTLs); the SOA serial zeroed if not `serial`."""
    out: Canon = {}
    for name, rds in zone.iterate_rdatasets():
        rdatas = list(rds)
        if rds.rdtype == dns.rdatatype.SOA and not serial:
            rdatas = [r.replace(serial=0) for r in rdatas]
        out[(name.to_text(), rds.rdtype, rds.covers)] = (rds.ttl, frozenset(r.to_text() for r in rdatas))
    return out


soa_serial = zonecheck.soa_serial


def _abs(name: str, origin: dns.name.Name) -> dns.name.Name:
    return dns.name.from_text(name, origin) if name != "@" else origin


def candidate_text(
    current: dns.zone.Zone, source: Path, records: Sequence[Record], serial: int
) -> tuple[str, dict[int, int]]:
    """The zone with the change applied and `serial` in the SOA; and line -> change record."""
    origin = current.origin
    assert origin is not None
    replaced = {(_abs(r.name, origin), dns.rdatatype.from_text(r.type)) for r in records}
    lines = [
        f"; {origin.to_text()} candidate written by dns_zone_rollout (lab runbook rollout plan)",
        f"; from {source} with the change below; installed only once dnsnode's loader accepts it",
        f"$ORIGIN {origin.to_text()}",
    ]
    ttls: dict[tuple[dns.name.Name, int], int] = {}
    for name, rds in sorted(
        current.iterate_rdatasets(),
        key=lambda nr: (nr[0] != origin, nr[0], nr[1].rdtype != dns.rdatatype.SOA, nr[1].rdtype),
    ):
        ttls[(name, rds.rdtype)] = rds.ttl
        if rds.rdtype == dns.rdatatype.SOA:
            rds = rds.copy()
            soa = rds[0].replace(serial=serial)
            rds.clear()
            rds.add(soa)
        elif (name, rds.rdtype) in replaced:
            continue
        lines.append(rds.to_text(name, origin=origin, relativize=True))
    lines.append("; the change (dns_zone_rollout_records)")
    where: dict[int, int] = {}
    for i, r in enumerate(records, 1):
        if r.state == "absent":
            lines.append(f"; record {i}: delete {r.name} {r.type}")
            continue
        ttl = (
            r.ttl
            if r.ttl is not None
            else ttls.get((_abs(r.name, origin), dns.rdatatype.from_text(r.type)), DEFAULT_TTL)
        )
        for d in r.data:
            lines.append(f"{r.name} {ttl} IN {r.type} {d}")
            where[len(lines)] = i
    return "\n".join(lines) + "\n", where


@dataclass
class Plan:
    zone: str
    zone_file: str
    candidate: str | None  # written only when the zone must change
    old_serial: int
    new_serial: int
    change: bool
    reason: str
    checks: list[dict[str, Any]] = field(default_factory=list)  # what every site must answer
    served_serial: int | None = None  # what the primary answers now (reload when it is not new)
    ready_file: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def load(
    path: Path, zone: str, where: dict[int, int] | None = None, records: Sequence[Record] = ()
) -> dns.zone.Zone:
    """dnsnode's zone loader; a FILE:LINE error on a change line says which change record it is."""
    try:
        return load_zone_file(path, zone)
    except ZoneFileError as exc:
        msg = str(exc)
        head = msg.partition(": ")[0]
        line = head.rsplit(":", 1)[-1]
        i = (where or {}).get(int(line)) if line.isdigit() else None
        hint = (
            f" (change record {i}: {records[i - 1].label()}; fix it in dns_zone_rollout_records)"
            if i is not None
            else ""
        )
        raise RolloutError(f"{msg}{hint}; the primary's zone was not touched") from None


def checks_of(zone: dns.zone.Zone, records: Sequence[Record]) -> list[dict[str, Any]]:
    """What each site must answer for the change: the RRset's rdata texts (empty: no data)."""
    origin = zone.origin
    assert origin is not None
    out = []
    for r in records:
        name = _abs(r.name, origin)
        rds = zone.get_rdataset(name, r.type)
        out.append(
            {"name": name.to_text(), "type": r.type, "want": sorted(x.to_text() for x in rds) if rds else []}
        )
    return out


def served_serial(h: LabHandle, p: Primary) -> int | None:
    """The serial the primary answers, asked from inside it."""
    if p.address4 is None:
        return None
    argv = ["dig", "+short", "+norec", "+tries=2", "+time=1", f"@{p.address4}", p.zone, "SOA"]
    f = h.runtime.exec(p.node, argv, timeout=10).stdout.split()
    return int(f[2]) if len(f) >= 3 and f[2].isdigit() else None


def plan_at(h: LabHandle, records: Sequence[Record], serial: int | None = None) -> Plan:
    """`plan` on the lab's primary, with the serial it serves now and the watch's ready file."""
    p = Primary.of(h)
    ready = ready_file(h, p)
    ready.unlink(missing_ok=True)  # a stale one (an interrupted run) would fool the role
    res = plan(p, records, serial)
    res.served_serial = served_serial(h, p)
    res.ready_file = str(ready)
    return res


def ready_file(h: LabHandle, p: Primary) -> Path:
    """Where the role's background serial watch says it has looked once: a controller-only
    file, so in the lab's run directory (a plain directory on either runtime; Ansible's stat
    resolves a path through clab's /proc/<pid>/root link to the container's own path)."""
    return h.state.path.parent / f"{p.zone_file.name}.watching"


def plan(p: Primary, records: Sequence[Record], serial: int | None = None) -> Plan:
    """Compare the change with the primary's zone; when it must change, write and check the candidate.

    serial None: the next serial (RFC 1982 +1). An explicit serial must be newer than the
    primary's (RFC 1982), or the sites would ignore the change (their SOA check sees no news).
    """
    current = load(p.zone_file, p.zone)
    old = soa_serial(current)
    tentative = serial if serial is not None else serial_add(old, 1)
    if not 0 <= tentative < 2**32:
        raise RolloutError(f"dns_zone_rollout_serial {serial}: expected 0..4294967295")
    text, where = candidate_text(current, p.zone_file, records, tentative)
    cand = p.candidate
    cand.write_text(text)
    new = load(cand, p.zone, where, records)
    same_content = canonical(new, serial=False) == canonical(current, serial=False)
    bump_only = serial is not None and serial_gt(serial, old)
    if same_content and not bump_only:
        cand.unlink()
        return Plan(
            p.zone, str(p.zone_file), None, old, old, False, "already applied", checks_of(current, records)
        )
    if not serial_gt(tentative, old):
        cand.unlink()
        raise RolloutError(
            f"{p.zone_file}: serial {tentative} is not newer than the primary's {old} (RFC 1982), so no site "
            f"would transfer the change (fix: dns_zone_rollout_serial: {serial_add(old, 1)}, or leave it "
            "unset for the next serial); the primary's zone was not touched"
        )
    why = "serial bump" if same_content else f"{len(records)} record(s) changed"
    return Plan(p.zone, str(p.zone_file), str(cand), old, tentative, True, why, checks_of(new, records))


def check_file(path: Path, zone: str, newer_than: int | None = None) -> dict[str, Any]:
    """`lab runbook rollout check`: load with dnsnode's loader; refuse a serial not newer
    (lab.ansible.zonecheck: the same check the role runs on the primary)."""
    try:
        return zonecheck.check(path, zone, newer_than)
    except zonecheck.ZoneCheckError as exc:
        raise RolloutError(str(exc)) from None


# -- verifying at the sites --------------------------------------------------------------------
def _dig(h: LabHandle, node: str, addr: str, name: str, rtype: str) -> list[str] | None:
    """The RRset `addr` answers (authoritative, from inside `node`), None when it did not answer."""
    argv = ["dig", "+norec", "+tries=2", "+time=1", "+noall", "+answer", "+comments", f"@{addr}", name, rtype]
    res = h.runtime.exec(node, argv, timeout=10)
    if res.returncode != 0 or ("status: NOERROR" not in res.stdout and "status: NXDOMAIN" not in res.stdout):
        return None
    out = []
    for line in res.stdout.splitlines():
        if line.startswith(";") or not line.strip():
            continue
        f = line.split(None, 4)
        if len(f) == 5 and f[3] == rtype:
            out.append(f[4].strip())
    return sorted(out)


def _same(got: list[str], want: list[str], rtype: str) -> bool:
    """Compare rdata texts as dnspython writes them (dig writes AAAA/TXT the same way)."""
    import dns.rdata

    def norm(xs: list[str]) -> set[str]:
        return {dns.rdata.from_text("IN", rtype, x).to_text() for x in xs}

    try:
        return norm(got) == norm(want)
    except Exception:
        return False


def verify(h: LabHandle, checks: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Ask every site, on its identity address from inside it, for every changed RRset."""
    sites = [(n.name, str(n.unicast4.ip)) for n in h.lab.of_kind("site") if n.unicast4]
    jobs = [(s, a, c) for s, a in sites for c in checks]

    def one(job: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
        s, a, c = job
        got = _dig(h, s, a, c["name"], c["type"])
        ok = got is not None and _same(got, list(c["want"]), c["type"])
        return {"site": s, "name": c["name"], "type": c["type"], "got": got, "want": c["want"], "ok": ok}

    with ThreadPoolExecutor(max(1, min(8, len(jobs)))) as pool:
        answers = list(pool.map(one, jobs))
    bad = [a for a in answers if not a["ok"]]
    return {"ok": not bad, "answers": answers, "wrong": bad, "sites": [s for s, _ in sites]}
