"""Site capacity and the site's load counters, put in place through the runtime (`exec` in the
node: the same on netns and containerlab) and read back, so what the lab records is what the
kernel holds, never what was asked for (lab.render.capacity says what and why).

    records = apply(h)     # at `lab up`, after the nodes exist; <run dir nodes>/capacity.json
    read(h)                # the records as the lab saved them (applied or not, and why)
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from lab.daemons.base import LabAccess
from lab.model.topology import Node
from lab.render import capacity as render
from lab.runtime.netns import PARALLEL

RECORD = "capacity.json"
CapacityKind = Literal["qps", "mbit", "none"]


@dataclass(frozen=True)
class Enforcer:
    """One thing that limits or counts: the site's nft table, or a tbf on one uplink end."""

    node: str
    what: str  # "nft inet lab_capacity input (limit 200/s)", "tbf 10mbit on eth1"
    applied: bool
    error: str | None = None


@dataclass(frozen=True)
class SiteCapacity:
    site: str
    kind: CapacityKind
    value: float | None
    enforcers: list[Enforcer] = field(default_factory=list)

    @property
    def applied(self) -> bool:
        """Every enforcer is in the kernel (an unlimited site: its counters are)."""
        return bool(self.enforcers) and all(e.applied for e in self.enforcers)


def _kind(site: Node) -> tuple[CapacityKind, float | None]:
    if site.capacity_qps is not None:
        return "qps", float(site.capacity_qps)
    if site.capacity_mbit is not None:
        return "mbit", site.capacity_mbit
    return "none", None


def _nft(h: LabAccess, site: Node) -> Enforcer:
    path = h.dir / site.name / "capacity.nft"
    path.write_text(render.nft_script(h.lab, site))
    what = f"nft inet {render.TABLE} input"
    if site.capacity_qps is not None:
        what += f" (limit {site.capacity_qps}/s, burst {render.burst_packets(site.capacity_qps)})"
    r = h.runtime.exec(site.name, ["nft", "-f", str(path)], timeout=15)
    if r.returncode != 0:
        return Enforcer(site.name, what, False, (r.stderr or r.stdout).strip()[:300])
    # read back: the table, its counters and (with a capacity) the limit must be there
    r = h.runtime.exec(site.name, ["nft", "-j", "list", "table", "inet", render.TABLE], timeout=15)
    if r.returncode != 0:
        return Enforcer(site.name, what, False, f"not listed after nft -f: {r.stderr.strip()[:300]}")
    text = r.stdout
    if '"offered"' not in text or (site.capacity_qps is not None and '"limit"' not in text):
        return Enforcer(site.name, what, False, "nft -f ran but the table lacks its counters or limit")
    return Enforcer(site.name, what, True)


def _tbf(h: LabAccess, node: str, ifname: str, mbit: float) -> Enforcer:
    what = f"tbf {mbit:g}mbit on {ifname}"
    r = h.runtime.exec(node, render.tbf_argv(ifname, mbit), timeout=15)
    if r.returncode != 0:
        return Enforcer(node, what, False, (r.stderr or r.stdout).strip()[:300])
    r = h.runtime.exec(node, ["tc", "-j", "qdisc", "show", "dev", ifname, "root"], timeout=15)
    try:
        kinds = [q.get("kind") for q in json.loads(r.stdout or "[]")]
    except ValueError:
        kinds = []
    if "tbf" not in kinds:
        return Enforcer(node, what, False, f"tc qdisc replace ran but {ifname} has {kinds or 'no qdisc'}")
    return Enforcer(node, what, True)


def apply_site(h: LabAccess, site: Node) -> SiteCapacity:
    kind, value = _kind(site)
    enforcers = [_nft(h, site)]
    if site.capacity_mbit is not None:
        enforcers += [_tbf(h, n, i, site.capacity_mbit) for n, i in render.uplink_ends(h.lab, site)]
    return SiteCapacity(site.name, kind, value, enforcers)


def unshape(h: LabAccess, site: Node) -> list[str]:
    """Take the tbf off the site's uplinks (a capacity changed at run time); what failed."""
    errors = []
    for node, ifname in render.uplink_ends(h.lab, site):
        r = h.runtime.exec(node, ["tc", "qdisc", "del", "dev", ifname, "root"], timeout=15)
        if r.returncode != 0 and "No such file" not in r.stderr and "Cannot find" not in r.stderr:
            errors.append(f"{node}:{ifname}: {r.stderr.strip()[:200]}")
    return errors


def apply(h: LabAccess) -> list[SiteCapacity]:
    """Counters at every site, limits where the model declares a capacity; saved beside the
    node directories (what was applied, and what was not with the error)."""
    # one site's nft and tc runs wait on `exec` in its node; sites in parallel (500 routers'
    # daemons starting on 2 cores made 20 sites one after another take 25 s)
    with ThreadPoolExecutor(PARALLEL) as pool:
        records = list(pool.map(lambda s: apply_site(h, s), h.lab.of_kind("site")))
    save(h.dir, records)
    return records


def save(d: Path, records: list[SiteCapacity]) -> None:
    (d / RECORD).write_text(json.dumps([asdict(r) for r in records], indent=1))


def read(h: LabAccess) -> list[SiteCapacity]:
    path = h.dir / RECORD
    if not path.exists():
        return []
    out = []
    for r in json.loads(path.read_text()):
        enf = [Enforcer(**e) for e in r.pop("enforcers")]
        out.append(SiteCapacity(**r, enforcers=enf))
    return out


def failures(records: list[SiteCapacity]) -> list[str]:
    return [f"{r.site}: {e.node}: {e.what}: {e.error}" for r in records for e in r.enforcers if not e.applied]
