"""`flood`: bounded query floods from attacker hosts in chosen eyeball ASes.

Each attacking AS gets one generator: dnsperf, started through the runtime (so recorded in the
lab's state file and killed with the lab), in the namespace of a client of that AS, sending
from the LAN's attacker address (lab.model.plan.attacker: host .14 of the AS's first client
LAN, added to the client's interface for the flood and removed by its undo). Why there: the
attacker is a host of that eyeball network like its users, so the flood follows exactly the
routes, and reaches exactly the site, its users do (the catchment the model predicts for the
AS); its own source address lets every site count attack queries apart from its users'
(lab.render.capacity's `attack` counter). Nothing new is created but an address and a process.

Bounded: dnsperf sends only to the lab's service address (IPv4, IPv6 with `family` 6, or one
generator of each per AS with `both`, from the attacker host's IPv6 address beside the IPv4
one), at most `qps` queries per second in total (split evenly over the ASes and families), and
stops by itself after `duration` seconds (`-l`); the undo stops it early. Mixes:
random-subdomain (a fresh name under the zone for each query: no cache helps, every one reaches a
site), fixed (the zone's SOA, the same question each time), nxdomain (one name that does not
exist, each time).
"""

from __future__ import annotations

import contextlib
import re
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from lab.daemons.base import LabAccess
from lab.faults.base import FaultError, FaultEvent, timed
from lab.model import plan
from lab.model.topology import Lab
from lab.runtime.base import NotRecorded, ProcSpec

MIXES = ("random-subdomain", "fixed", "nxdomain")
FAMILIES = ("4", "6", "both")
MAX_QPS = 20_000  # in total: a lab flood on a shared 2-core host
MAX_DURATION = 120.0
MAX_NAMES = 100_000  # random-subdomain: names in the data file (dnsperf loops over it)
TIMEOUT_S = 1  # dnsperf's per-query timeout: unanswered queries free their slot after it
PREFIX = "flood-"


@dataclass(frozen=True)
class Generator:
    asn: int
    as_name: str
    node: str  # the client namespace it runs in
    ifname: str
    source: str  # the attacker address (no prefix length), of the family it floods
    prefixlen: int
    qps: int
    proc: str  # its process name on `node` (the runtime's record)
    log: str
    family: int = 4  # to the IPv4 or the IPv6 service address

    @property
    def label(self) -> str:
        """How reports name it: the AS, and /v6 for an IPv6 generator."""
        return self.as_name if self.family == 4 else f"{self.as_name}/v6"


@dataclass(frozen=True)
class GeneratorResult:
    """What dnsperf said when it ended."""

    sent: int
    completed: int
    lost: int


def resolve_as(lab: Lab, ref: str) -> tuple[int, str]:
    """An eyeball AS by name or number."""
    for a in lab.spec.ases:
        if ref in (a.name, str(a.asn)):
            if a.role != "eyeball":
                raise FaultError(f"flood: AS {ref} is a {a.role} AS; attackers sit in eyeball ASes")
            return a.asn, a.name
    eyeballs = [a.name for a in lab.spec.ases if a.role == "eyeball"]
    raise FaultError(f"flood: no AS {ref!r} in lab {lab.name}; eyeball ASes: {', '.join(eyeballs)}")


def attacker_host(lab: Lab, asn: int) -> tuple[str, str, plan.If4, plan.If6]:
    """(client node, its LAN interface, the LAN's attacker addresses) for an AS."""
    clients = [n for n in lab.of_kind("client") if n.lan_of == asn]
    if not clients:
        raise FaultError(f"flood: AS {asn} has no clients, so no LAN for an attacker host; add a client")
    node = clients[0]
    iface = node.ifaces[0]
    link = next(lk for lk in lab.links if lk.id == iface.link)
    a4, a6 = plan.attacker(link.prefix4, link.prefix6)
    taken = [e.addr4.ip for e in link.ends]
    if a4.ip in taken:
        raise FaultError(f"flood: the attacker address {a4.ip} of {link.id} is a host's; fewer clients there")
    return node.name, iface.name, a4, a6


def query_lines(zone: str, mix: str, count: int) -> list[str]:
    if mix == "random-subdomain":
        return [f"{secrets.token_hex(6)}.{zone} A" for _ in range(max(1, min(count, MAX_NAMES)))]
    if mix == "fixed":
        return [f"{zone} SOA"]
    if mix == "nxdomain":
        return [f"no-such-name-{secrets.token_hex(3)}.{zone} A"]
    raise FaultError(f"flood: mix {mix!r}: use one of {', '.join(MIXES)}")


def split_qps(total: int, n: int) -> list[int]:
    base, extra = divmod(total, n)
    return [base + (1 if i < extra else 0) for i in range(n)]


def running_floods(h: LabAccess, node: str) -> list[str]:
    return [p.name for p in h.runtime.processes() if p.node == node and p.name.startswith(PREFIX) and p.alive]


def flood(
    h: LabAccess,
    sources: list[str],
    qps: int,
    duration: float,
    mix: str = "random-subdomain",
    family: str = "4",
) -> FaultEvent:
    """Start one bounded generator per attacking AS; the event's undo stops them (if they have
    not stopped by themselves) and removes the attacker addresses."""
    lab = h.lab
    refs = [s.strip() for src in sources for s in src.split(",") if s.strip()]
    if not refs:
        raise FaultError("flood: --from names at least one eyeball AS (AS[,AS...])")
    if not 1 <= qps <= MAX_QPS:
        raise FaultError(f"flood: qps {qps} is out of range; a lab flood is 1..{MAX_QPS} queries per second")
    if not 0 < duration <= MAX_DURATION:
        raise FaultError(f"flood: duration {duration:g} s is out of range; 0 < S <= {MAX_DURATION:g}")
    if mix not in MIXES:
        raise FaultError(f"flood: mix {mix!r}: use one of {', '.join(MIXES)}")
    if family not in FAMILIES:
        raise FaultError(f"flood: family {family!r}: use one of {', '.join(FAMILIES)}")
    families = [4, 6] if family == "both" else [int(family)]
    ases = list(dict.fromkeys(resolve_as(lab, r) for r in refs))
    run = secrets.token_hex(3)
    gens: list[Generator] = []
    rates = iter(split_qps(qps, len(ases) * len(families)))
    for asn, name in ases:
        node, ifname, a4, a6 = attacker_host(lab, asn)
        if running_floods(h, node):
            raise FaultError(f"flood: a flood from AS {name} is still running ({node}); undo it, or wait")
        for fam in families:
            src = a4 if fam == 4 else a6
            proc = f"{PREFIX}{run}-{name}"[:38] + ("" if len(families) == 1 else f"-{fam}")
            gens.append(
                Generator(asn, name, node, ifname, str(src.ip), src.network.prefixlen, max(1, next(rates)),
                          proc, str(h.dir / node / f"{proc}.out"), fam)
            )  # fmt: skip
    specs = []
    for g in gens:
        data = h.dir / g.node / f"{g.proc}.queries"
        data.write_text("\n".join(query_lines(lab.service.zone, mix, int(g.qps * duration))) + "\n")
        target = lab.service.address4 if g.family == 4 else lab.service.address6
        argv = [
            "dnsperf", "-s", str(target), "-a", g.source, "-d", str(data),
            "-Q", str(g.qps), "-l", f"{duration:g}", "-t", str(TIMEOUT_S),
            # outstanding queries: a second's worth at the timeout, so loss never throttles the rate
            "-q", str(max(100, 2 * g.qps * TIMEOUT_S)), "-c", "1", "-S", "1",
        ]  # fmt: skip
        specs.append(ProcSpec(g.node, g.proc, argv, h.dir / g.node, Path(g.log)))

    def start() -> None:
        for g in gens:
            addr = f"{g.source}/{g.prefixlen}"
            # nodad: the address is usable at once (no duplicate address detection wait on IPv6)
            extra = ["nodad"] if g.family == 6 else []
            r = h.runtime.exec(g.node, ["ip", "addr", "replace", addr, "dev", g.ifname, *extra])
            if r.returncode != 0:
                raise FaultError(f"flood: cannot add {g.source} in {g.node}: {r.stderr.strip()}")
        h.runtime.start(specs)

    def undo() -> FaultEvent:
        def stop() -> None:
            for g in gens:
                with contextlib.suppress(NotRecorded):
                    h.runtime.stop(g.node, g.proc, timeout=5)
                h.runtime.exec(g.node, ["ip", "addr", "del", f"{g.source}/{g.prefixlen}", "dev", g.ifname])

        return timed(f"flood stop {','.join(dict.fromkeys(g.as_name for g in gens))}", stop, None)

    return timed(
        f"flood {','.join(dict.fromkeys(g.as_name for g in gens))} {qps} qps {duration:g} s {mix}"
        + ("" if family == "4" else f" IPv{family}" if family == "6" else " IPv4+IPv6"),
        start,
        undo,
        sources=list(dict.fromkeys(g.as_name for g in gens)),
        qps=qps,
        duration=duration,
        mix=mix,
        family=family,
        generators=[asdict(g) for g in gens],
    )


def generators_of(ev_details: dict[str, object]) -> list[Generator]:
    raw = ev_details.get("generators", [])
    return [Generator(**g) for g in raw] if isinstance(raw, list) else []


_COUNT = re.compile(r"Queries (sent|completed|lost):\s+(\d+)")


def result(g: Generator) -> GeneratorResult | None:
    """dnsperf's own summary from its log (None: it has not ended, or wrote none)."""
    try:
        text = Path(g.log).read_text(errors="replace")
    except OSError:
        return None
    found = {k: int(v) for k, v in _COUNT.findall(text)}
    if "sent" not in found:
        return None
    return GeneratorResult(found["sent"], found.get("completed", 0), found.get("lost", 0))
