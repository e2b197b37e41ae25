"""A ROA change at run time: what the lab's RTR caches serve (lab.daemons.rtr) is rewritten,
StayRTR notices within its file refresh and notifies the routers (RTR Serial Notify), and the
validating routers re-run their import policy over what their peers sent (FRR: soft
reconfiguration inbound; BIRD: `rpki reload` over the import table).

    ev = roa(h, "revoke", ipaddress.ip_network("198.51.100.0/25"))   # every ROA of that prefix
    ev.undo()                                                        # the same ROAs back
    roa(h, "add", net, asn=64505, max_length=26)                     # authorise another origin

Every cache of the lab serves the same ROAs (one RPKI, many validators), so each file is
rewritten. Static ROA tables (`rov: static`) are rendered configuration: they stay as they are.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Literal

from lab.daemons import driver_of, rtr
from lab.daemons.base import DaemonError, LabAccess
from lab.faults.base import FaultError, FaultEvent, timed
from lab.model import plan
from lab.model.topology import Roa
from lab.poll import PollTimeout, wait_until

# the cache re-reads its file every rtr.REFRESH_S s and notifies at once; a router that missed
# the notify polls every rtr.RTR_REFRESH_S s: what a change may take to reach every router
SYNC_TIMEOUT = rtr.REFRESH_S + rtr.RTR_REFRESH_S + 5.0

Net = ipaddress.IPv4Network | ipaddress.IPv6Network
Action = Literal["revoke", "add"]


def served(h: LabAccess) -> list[Roa]:
    """The ROAs the caches serve now (the first cache's file: they are written together)."""
    if not h.lab.rtr_caches:
        raise FaultError(
            f"lab {h.lab.name} runs no RTR cache: give a router `rov: rtr` (or true) in the topology"
        )
    return rtr.parse_roas(rtr.roas_path(h.dir, h.lab.rtr_caches[0]).read_text())


def _serve(h: LabAccess, roas: list[Roa]) -> None:
    """Write every cache's file; once each validating router holds the new ROAs (the cache's
    file refresh, then Serial Notify), let its daemon re-run its import policy where it does
    not do that by itself (lab.daemons.base.BgpDriver.rpki_revalidate)."""
    for cache in h.lab.rtr_caches:
        rtr.write_roas(rtr.roas_path(h.dir, cache), roas)
    validators = [n for n in h.lab.nodes.values() if n.kind == "router" and n.rtr_cache is not None]

    def behind() -> list[str]:
        out = []
        for n in validators:
            try:
                st = driver_of(n).rpki_status(n, h.dir / n.name)
            except DaemonError as exc:
                out.append(f"{n.name}: {exc}")
                continue
            if st.roas != len(roas):
                out.append(f"{n.name}: {st.roas} ROAs")
        return out

    try:
        wait_until(
            behind, lambda b: not b, timeout=SYNC_TIMEOUT, interval=0.05, what="routers hold the new ROAs"
        )
    except PollTimeout as exc:
        raise FaultError(
            f"the ROA change did not reach every validating router in {SYNC_TIMEOUT:g} s: {exc.last}"
        ) from None
    for n in validators:
        driver_of(n).rpki_revalidate(h, n)


def parse_prefix(text: str) -> Net:
    try:
        net = ipaddress.ip_network(text)
    except ValueError as exc:
        raise FaultError(f"roa: {text!r} is not a prefix ({exc}); write e.g. 198.51.100.0/25") from None
    if not any(net.version == r.version and net.subnet_of(r) for r in plan.LAB_RANGES):  # type: ignore[arg-type]
        raise FaultError(
            f"roa: {net} is outside the lab's address ranges ({', '.join(map(str, plan.LAB_RANGES))})"
        )
    return net


def roa(
    h: LabAccess, action: Action, prefix: Net, asn: int | None = None, max_length: int | None = None
) -> FaultEvent:
    """revoke: the ROAs of `prefix` (of `asn` only, if given) are no longer served; add: a ROA
    for `prefix` from `asn` (default the service's) up to `max_length` (default exact)."""
    current = served(h)
    if action == "revoke":
        gone = [r for r in current if r.prefix == prefix and (asn is None or r.asn == asn)]
        if not gone:
            listed = ", ".join(f"{r.prefix} max {r.max_length} AS{r.asn}" for r in current) or "none"
            raise FaultError(
                f"roa revoke: no ROA for {prefix}{f' from AS{asn}' if asn else ''} is served "
                f"(served: {listed})"
            )
        after = [r for r in current if r not in gone]
        label = f"roa revoke {prefix}"

        def undo() -> FaultEvent:
            return timed(f"roa add {prefix}", lambda: _serve(h, served(h) + gone), None, prefix=str(prefix))

    else:
        top = 32 if prefix.version == 4 else 128
        length = prefix.prefixlen if max_length is None else max_length
        if not prefix.prefixlen <= length <= top:
            raise FaultError(f"roa add {prefix}: max length {length} must be {prefix.prefixlen}..{top}")
        new = Roa(prefix, length, asn if asn is not None else h.lab.service.asn)
        if new in current:
            raise FaultError(f"roa add: {prefix} max {new.max_length} AS{new.asn} is served already")
        after = [*current, new]
        label = f"roa add {prefix} max {new.max_length} AS{new.asn}"

        def undo() -> FaultEvent:
            return timed(
                f"roa revoke {prefix}",
                lambda: _serve(h, [r for r in served(h) if r != new]),
                None,
                prefix=str(prefix),
            )

    apply: Callable[[], None] = lambda: _serve(h, after)  # noqa: E731
    return timed(label, apply, undo, prefix=str(prefix), roas=len(after))
