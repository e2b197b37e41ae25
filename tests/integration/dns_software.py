"""Helpers for labs with NSD and Knot sites: a new serial on the primary (whatever it runs),
transfers blocked at some sites."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from lab.ansible import rollout
from lab.daemons.dns import dns_driver_of
from lab.orchestrate.handle import LabHandle


@contextlib.contextmanager
def transfers_blocked(h: LabHandle, sites: list[str]) -> Iterator[None]:
    """TCP to the primary's port 53 refused at these sites: no IXFR/AXFR gets through, while
    NOTIFY and the agents' SOA queries (UDP) still do. The same rules are deleted after."""
    rules = []
    for site in sites:
        for tool, addr in (("iptables", h.lab.primary4), ("ip6tables", h.lab.primary6)):
            rule = ["OUTPUT", "-p", "tcp", "-d", str(addr), "--dport", "53", "-j", "REJECT"]
            rule += ["--reject-with", "tcp-reset"]
            h.runtime.exec(site, [tool, "-I", *rule], timeout=10, check=True)
            rules.append((site, tool, rule))
    try:
        yield
    finally:
        for site, tool, rule in rules:
            h.runtime.exec(site, [tool, "-D", *rule], timeout=10, check=True)


def bump_serial(h: LabHandle) -> int:
    """A new serial on the primary: the rollout's own plan (a TXT record), installed and
    reloaded through the primary's DNS driver, as the role does."""
    p = rollout.Primary.of(h)
    mark = f'"{os.getpid()}-{p.zone_file.stat().st_mtime_ns}"'  # a new value each time
    plan = rollout.plan(p, [rollout.Record("lag-test", "TXT", (mark,))])
    assert plan.change and plan.candidate
    os.replace(plan.candidate, p.zone_file)
    primary = h.lab.nodes[p.node]
    reload = dns_driver_of(primary).reload_argv(h.dir / p.node, p.zone)
    res = h.runtime.exec(p.node, reload, timeout=20)
    assert res.returncode == 0, res.stdout + res.stderr
    return plan.new_serial
