"""Controller-side checks and actions the roles call through `lab runbook ...`, each printing
one JSON object. They read the lab's own state (BGP speakers, the agent, the probes) rather
than trusting that a command ran, so a role's `until:` loop polls what the lab measures.

    lab runbook site SITE      agent state, which upstreams hear the site, its catchment
    lab runbook withdraw SITE  `dnsnode agent ctl withdraw` (the agent keeps running, the site
                               is withdrawn until undrain), then wait until no upstream hears it
    lab runbook announce SITE  start the agent if it is stopped, else `ctl undrain` it
    lab runbook serials [--want N --timeout S]   each site's serial; with --want, watch until
                               every site serves it and report the serial-skew window

Catchment: who a site answers, from two sources. While a rehearsal runs, its probes' latest
direct records (20 ms apart: the finest view of what clients get, with no extra traffic);
and always a `dig +nsid` from every client and resolver (the resolvers' own catchment is
invisible to the probes, and IPv6 too). A site's catchment is empty only when both say so.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dnsnode.xfr.serial import serial_gt
from lab.ansible import felt
from lab.daemons import processes, speaker
from lab.errors import LabError
from lab.observe.catchment import measure as dig_catchment
from lab.orchestrate.handle import LabHandle
from lab.poll import PollTimeout, wait_until
from lab.predict.bgp import catchments

RUNBOOK_DIR_ENV = "LAB_RUNBOOK_DIR"  # set by `lab runbook run`: probes.json, measurements.jsonl
MEASUREMENTS = "measurements.jsonl"


def rehearsal_dir() -> Path | None:
    d = os.environ.get(RUNBOOK_DIR_ENV)
    return Path(d) if d else None


def record(kind: str, **data: Any) -> None:
    """Append a measurement for the rehearsal's objectives (no rehearsal: nothing to do)."""
    d = rehearsal_dir()
    if d is not None:
        with open(d / MEASUREMENTS, "a") as f:
            f.write(json.dumps({"kind": kind, "mono": round(time.monotonic(), 6), **data}) + "\n")


def read_measurements(d: Path) -> list[dict[str, Any]]:
    p = d / MEASUREMENTS
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()] if p.exists() else []


def _site(h: LabHandle, site: str) -> None:
    node = h.lab.nodes.get(site)
    if node is None or node.kind != "site":
        sites = [n.name for n in h.lab.of_kind("site")]
        raise LabError(f"lab {h.name}: no site {site!r} (sites: {', '.join(sites)})")


def agent_ctl(h: LabHandle, site: str, command: str) -> dict[str, Any]:
    """`dnsnode agent ctl COMMAND` inside the site (drain|withdraw|undrain|status)."""
    sock = h.dir / site / "agent.sock"
    res = h.runtime.exec(site, [processes.program("dnsnode"), "agent", "ctl", "--socket", str(sock), command])
    if res.returncode != 0:
        return {"ok": False, "error": (res.stderr or res.stdout).strip()}
    return dict(json.loads(res.stdout))


def agent_status(h: LabHandle, site: str) -> dict[str, Any] | None:
    """The agent's `ctl status`, or None when it is not running."""
    if not felt.agent_running(h, site):
        return None
    st = agent_ctl(h, site, "status")
    return st if st.get("ok") else {"error": st.get("error")}


def ctl_withdrawn(status: dict[str, Any] | None) -> bool:
    """The agent holds a `ctl withdraw` (its maintenance reason says so: agent.py inputs())."""
    return bool(status) and "ctl withdraw" in str((status or {}).get("maintenance_reason", ""))


def heard_by(h: LabHandle, site: str) -> dict[str, list[str]]:
    """Service prefix -> the site's upstream routers holding a route from the site."""
    node = h.lab.nodes[site]
    ups = sorted({s.peer for s in node.sessions})
    prefixes = [str(h.lab.service.prefix4), str(h.lab.service.prefix6)]
    out: dict[str, list[str]] = {p: [] for p in prefixes}
    for u in ups:
        sp = speaker(h.lab.nodes[u], h.dir / u)
        for p in prefixes:
            if site in sp.best(p).from_peers:
                out[p].append(u)
    return out


def catchment(h: LabHandle, site: str) -> dict[str, Any]:
    dug = dig_catchment(h.lab, h.runtime)
    by_dig = sorted(a for a, p in dug.items() if site in (p.site, p.site6))
    d = rehearsal_dir()
    by_probe: list[str] = []
    if d is not None:
        now = time.monotonic()
        by_probe = sorted(c for c, sites in felt.current_sites(d, now).items() if site in sites)
    members = sorted(set(by_dig) | set(by_probe))
    predicted = sorted(a for a, s in catchments(h.lab).items() if s == site and a in dug)
    return {
        "members": members,
        "by_dig": by_dig,
        "by_probes": by_probe,
        "probes": d is not None,
        "predicted": predicted,
    }


def site_state(h: LabHandle, site: str, with_catchment: bool = True) -> dict[str, Any]:
    _site(h, site)
    heard = heard_by(h, site)
    st: dict[str, Any] = {
        "site": site,
        "mono": round(time.monotonic(), 6),
        "agent": agent_status(h, site),
        "heard_by": heard,
        "announced": any(heard.values()),
        "withdrawn": not any(heard.values()),
    }
    if with_catchment:
        c = catchment(h, site)
        st["catchment"] = c
        st["catchment_empty"] = not c["members"]
    return st


def withdraw(h: LabHandle, site: str, timeout: float = 15.0) -> dict[str, Any]:
    """`ctl withdraw` the site's agent (it stays up and keeps the site withdrawn until `ctl
    undrain`), then wait until no upstream hears the site. A stopped agent withdrew on exit."""
    _site(h, site)
    st = agent_status(h, site)
    changed = st is not None and not ctl_withdrawn(st)
    if changed:
        reply = agent_ctl(h, site, "withdraw")
        if not reply.get("ok"):
            raise LabError(f"{site}: agent ctl withdraw failed: {reply.get('error')}")
    res = wait_until(
        lambda: heard_by(h, site),
        lambda hb: not any(hb.values()),
        timeout=timeout,
        interval=0.05,
        what=f"{site} withdrawn at its upstreams",
    )
    record("withdraw", site=site, changed=changed, seconds=round(res.elapsed, 3))
    return {"site": site, "changed": changed, "withdrawn_after_s": round(res.elapsed, 3)}


def announce(h: LabHandle, site: str) -> dict[str, Any]:
    """Start the site's agent if it is stopped (it announces once its checks pass: rise 2 x 1 s);
    else `ctl undrain` it when it holds a ctl drain or withdraw."""
    _site(h, site)
    st = agent_status(h, site)
    if st is None:
        felt.announce(h, site)
        action = "started"
    elif st.get("maintenance") and "ctl" in str(st.get("maintenance_reason", "")):
        reply = agent_ctl(h, site, "undrain")
        if not reply.get("ok"):
            raise LabError(f"{site}: agent ctl undrain failed: {reply.get('error')}")
        action = "undrained"
    else:
        action = "none"
    changed = action != "none"
    record("announce", site=site, changed=changed, action=action)
    return {"site": site, "changed": changed, "action": action}


def stop_dns(h: LabHandle, site: str) -> dict[str, Any]:
    _site(h, site)
    changed = felt.dns_running(h, site)
    if changed:
        felt.stop_dns(h, site)
    record("stop_dns", site=site, changed=changed)
    return {"site": site, "changed": changed}


def start_dns(h: LabHandle, site: str) -> dict[str, Any]:
    _site(h, site)
    changed = not felt.dns_running(h, site)
    if changed:
        felt.start_dns(h, site)
    record("start_dns", site=site, changed=changed)
    return {"site": site, "changed": changed}


# -- serials -----------------------------------------------------------------------------------
def _serial(h: LabHandle, node: str, addr: str) -> int | None:
    argv = ["dig", "+short", "+norec", "+tries=1", "+time=1", f"@{addr}", h.lab.service.zone, "SOA"]
    res = h.runtime.exec(node, argv, timeout=5)
    fields = res.stdout.split()
    return int(fields[2]) if res.returncode == 0 and len(fields) >= 3 and fields[2].isdigit() else None


def serials(h: LabHandle) -> dict[str, int | None]:
    """Each site's serial, asked on its identity address from inside the site; and the primary's."""
    asks: list[tuple[str, str]] = [(n.name, str(n.unicast4.ip)) for n in h.lab.of_kind("site") if n.unicast4]
    asks += [(n.name, str(h.lab.primary4)) for n in h.lab.of_kind("primary") if h.lab.primary4]
    with ThreadPoolExecutor(len(asks) or 1) as pool:
        return dict(zip([a[0] for a in asks], pool.map(lambda a: _serial(h, *a), asks), strict=True))


def serves(v: int | None, want: int) -> bool:
    """A site serving `v` serves `want` or a later serial (RFC 1982: newer across the wrap)."""
    return v is not None and (v == want or serial_gt(v, want))


def watch_serials(
    h: LabHandle, want: int, timeout: float = 30.0, ready: Path | None = None
) -> dict[str, Any]:
    """Poll every site until all serve `want` (or later); the serial-skew window is from the
    first site seen serving it to the last one (resolution: one polling round).

    `ready`: a file written after the first round, so a caller that starts the watch in the
    background can reload the primary only once the watch has seen the sites' old serials
    (otherwise a fast transfer would finish before the first look and read as no skew)."""
    sites = [n.name for n in h.lab.of_kind("site")]
    first: dict[str, float] = {}
    older: set[str] = set()  # sites seen serving an older serial: their switch was watched
    rounds: list[float] = []
    t0 = time.monotonic()

    def poll() -> dict[str, int | None]:
        got = serials(h)
        now = time.monotonic()
        rounds.append(now)
        for s in sites:
            v = got.get(s)
            if serves(v, want):
                first.setdefault(s, now)
            elif v is not None:
                older.add(s)
        if ready is not None and len(rounds) == 1:
            ready.write_text(json.dumps({"want": want, "serials": got}))
        return got

    try:
        wait_until(
            poll,
            lambda _: len(first) == len(sites),
            timeout=timeout,
            interval=0.02,
            what=f"every site serves serial {want}",
        )
        ok = True
    except PollTimeout:
        ok = False
    resolution = max((b - a for a, b in itertools.pairwise(rounds)), default=0.0)
    skew = (max(first.values()) - min(first.values())) if len(first) == len(sites) else None
    out = {
        "want": want,
        "all_serving": ok,
        "first_seen_s": {s: round(t - t0, 3) for s, t in sorted(first.items())},
        "missing": sorted(set(sites) - set(first)),
        "seen_older": sorted(older),
        "rounds": len(rounds),
        "skew_s": round(skew, 3) if skew is not None else None,
        "resolution_s": round(resolution, 3),
        "skew_start": round(min(first.values()), 6) if first else None,
        "skew_end": round(max(first.values()), 6) if ok else None,
    }
    record("serial_skew", **out)
    return out
