"""Steering faults: every site's dnsnode switched to another ECS scope style (`knot` imitates
Knot 3.2's over-broad scopes, for scope-poisoning only) and, optionally, a covering geoip file
(one region's edges for the whole user range, the other regions' LANs inside it). Both are read
at start-up, so each site's dnsnode restarts; the undo puts back the style and the file the
lab rendered."""

from __future__ import annotations

import functools
import re

from lab.daemons.base import LabAccess
from lab.daemons.programs import program
from lab.faults.base import FaultError, FaultEvent, timed
from lab.faults.process import proc_spec
from lab.poll import wait_until
from lab.render.geoip import GEOIP_FILE, generate_covering, geoip_text

RESTART_TIMEOUT = 30.0  # dnsnode loads its zones and geoip file in well under a second here


def _status(h: LabAccess, site: str) -> str:
    sock = h.dir / site / "dnsnode.sock"
    argv = [program("dnsnode"), "ctl", "--socket", str(sock), "status"]
    return h.runtime.exec(site, argv, timeout=10).stdout


def _apply(h: LabAccess, style: str, geoip: str) -> None:
    sites = [s.name for s in h.lab.of_kind("site")]
    for site in sites:
        conf = h.dir / site / "dnsnode.yml"
        text = conf.read_text()
        if not re.search(r"scope: \w+", text):
            raise FaultError(f"{conf}: no `scope:` (does the lab have steering:?)")
        conf.write_text(re.sub(r"scope: \w+", f"scope: {style}", text))
        (h.dir / site / GEOIP_FILE).write_text(geoip)
        h.runtime.restart(proc_spec(h, site, "dnsnode"))
    for site in sites:
        wait_until(
            functools.partial(_status, h, site),
            lambda o: f'"scope": "{style}"' in o,
            timeout=RESTART_TIMEOUT,
            interval=0.3,
            what=f"{site}'s dnsnode up with scope {style}",
        )


def dns_scope(h: LabAccess, style: str, covering: str | None = None) -> FaultEvent:
    """Every site's dnsnode with ECS scope `style` (exact | knot), and with `covering` REGION
    the covering geoip file; undo: the lab's own style and file."""
    if style not in ("exact", "knot"):
        raise FaultError(f"dns-scope: style {style!r}: use exact or knot")
    if h.lab.steering is None:
        raise FaultError(f"lab {h.lab.name} has no steering: (dns-scope changes the steered name's scopes)")
    try:
        text = generate_covering(h.lab, covering) if covering is not None else geoip_text(h.lab)
    except ValueError as exc:
        raise FaultError(f"dns-scope covering: {exc}") from None
    return timed(
        f"dns_scope {style}" + (f" covering {covering}" if covering else ""),
        lambda: _apply(h, style, text),
        lambda: _restore(h),
        style=style,
        covering=covering,
    )


def _restore(h: LabAccess) -> FaultEvent:
    assert h.lab.steering is not None
    style, text = h.lab.steering.scope, geoip_text(h.lab)
    return timed(f"dns_scope {style} (the lab's)", lambda: _apply(h, style, text), None, style=style)


def _set_ttl(h: LabAccess, ttl: int) -> None:
    """Every site's dnsnode with geoip `ttl: TTL`: dnsnode reads it at start-up (a `reload`
    re-reads zone and geoip files, not the config), so each site's dnsnode restarts; done when
    every site's steering status says the TTL and lists no unhealthy edge (a fresh dnsnode
    checks the edges again before it hands them out)."""
    sites = [s.name for s in h.lab.of_kind("site")]
    for site in sites:
        conf = h.dir / site / "dnsnode.yml"
        text = conf.read_text()
        if not re.search(r"(?m)^\s+ttl: \d+$", text):
            raise FaultError(f"{conf}: no geoip `ttl:` (does the lab have steering:?)")
        conf.write_text(re.sub(r"(?m)^(\s+)ttl: \d+$", rf"\g<1>ttl: {ttl}", text))
        h.runtime.restart(proc_spec(h, site, "dnsnode"))
    for site in sites:
        wait_until(
            functools.partial(_status, h, site),
            lambda o: f'"ttl": {ttl}' in o and '"unhealthy": []' in o,
            timeout=RESTART_TIMEOUT,
            interval=0.3,
            what=f"{site}'s dnsnode up with TTL {ttl}, every edge healthy",
        )


def steering_ttl(h: LabAccess, ttl: int) -> FaultEvent:
    """Every site's dnsnode hands out the steered name with TTL `ttl` (ttl-tradeoff); undo: the
    lab's own TTL. Resolvers keep what they cached until it expires (the caller waits for that)."""
    if h.lab.steering is None:
        raise FaultError(f"lab {h.lab.name} has no steering: (steering-ttl changes the steered name's TTL)")
    if ttl < 1:
        raise FaultError(f"steering-ttl: a TTL of at least 1 s, not {ttl}")
    own = h.lab.steering.ttl
    return timed(
        f"steering_ttl {ttl}",
        lambda: _set_ttl(h, ttl),
        lambda: timed(f"steering_ttl {own} (the lab's)", lambda: _set_ttl(h, own), None, ttl=own),
        ttl=ttl,
    )


def ttl_in_force(h: LabAccess) -> int:
    """The steered name's TTL the sites' dnsnode were started with (their dnsnode.yml), the
    longest if they differ; the model's where no site's file says (a model-only check)."""
    assert h.lab.steering is not None, f"lab {h.lab.name} steers no name"
    found = []
    for s in h.lab.of_kind("site"):
        conf = h.dir / s.name / "dnsnode.yml"
        m = re.search(r"(?m)^\s+ttl: (\d+)$", conf.read_text()) if conf.exists() else None
        if m:
            found.append(int(m.group(1)))
    return max(found, default=h.lab.steering.ttl)
