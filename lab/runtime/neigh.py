"""The kernel's neighbour tables (ARP and IPv6 ND) are shared by every network namespace.

Their gc_thresh1..3 exist only in the host's /proc/sys/net/ipv{4,6}/neigh/default/ and cap
the entries of all namespaces together (1024 by default). A 500-router lab holds ~10 000 (each
end of each link learns its peer's IPv4, IPv6 and link-local address): past the cap the kernel
drops neighbours ("neighbor table overflow" in dmesg), OSPF adjacencies stay in Init and BGP
sessions never come up. So a lab that needs many entries raises the thresholds by what it
needs, records the raise in its state file (kind "sysctl": the value it found, its delta), and
takes exactly its delta back at teardown: two big labs side by side add up, and the host ends
where it began.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lab.runtime.base import LinkSpec
from lab.runtime.state import Item, StateFile

PROC = Path("/proc/sys/net")
TABLES = ("ipv4", "ipv6")
PER_END = 3  # IPv4, IPv6 global, IPv6 link-local neighbour of one link end
SMALL = 512  # a lab needing fewer entries than this leaves the host's thresholds alone


@dataclass(frozen=True)
class Raise:
    path: Path  # .../neigh/default/gc_threshN
    delta: int  # what this lab added


def need(links: Sequence[LinkSpec]) -> int:
    """Neighbour entries a lab's links make: each member learns each other member (per family)."""
    return sum(PER_END * len(k.ends) * (len(k.ends) - 1) for k in links)


def _path(table: str, n: int, root: Path = PROC) -> Path:
    return root / table / "neigh" / "default" / f"gc_thresh{n}"


def deltas(entries: int) -> dict[int, int]:
    """How much each threshold rises: no GC below thresh1, GC after 5 s above thresh2, never
    more than thresh3 (the hard cap; twice the need, so a burst of probes does not hit it)."""
    return {1: entries, 2: entries * 3 // 2, 3: entries * 2}


def reserve(state: StateFile, links: Sequence[LinkSpec], root: Path = PROC) -> list[Raise]:
    """Raise the host's thresholds by what these links need (recorded first), if they need many."""
    entries = need(links)
    if entries < SMALL:
        return []
    done = []
    for table in TABLES:
        for n, delta in deltas(entries).items():
            path = _path(table, n, root)
            found = int(path.read_text())
            (item,) = state.intend([Item("sysctl", str(path), data={"found": found, "delta": delta})])
            path.write_text(f"{found + delta}\n")
            state.mark([item], "created")
            done.append(Raise(path, delta))
    return done


def release(state: StateFile) -> list[str]:
    """Take this lab's raises back, exactly its deltas; errors as text."""
    errors = []
    for item in state.state.of("sysctl", "intent", "created"):
        path = Path(item.id)
        found, delta = int(item.data["found"]), int(item.data["delta"])
        try:
            now = int(path.read_text())
            # an intent may or may not have been written (the controller died in between); the
            # delta, not the value found: another lab may have raised it meanwhile, and keeps its own
            if item.status == "created" or now >= found + delta:
                path.write_text(f"{max(1, now - delta)}\n")
            state.mark([item], "removed")
        except OSError as exc:
            errors.append(f"{path}: {exc}")
    return errors
