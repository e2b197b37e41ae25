"""The lab's RTR cache (RFC 8210): StayRTR, one per AS with `rov: rtr` routers
(lab.model.topology.RtrCache), serving the ROAs of a JSON file the lab writes from the model.

    roas_json(lab.roas)               the file's text ({"roas": [{prefix, maxLength, asn}]})
    write_roas(path, roas)            replace it atomically (a ROA fault at run time)
    processes(lab, nodes_dir)         the StayRTR processes, in the `base` stage

StayRTR re-reads its file every REFRESH_S seconds and, when it changed, sends its clients a
Serial Notify: the routers fetch the difference at once (RTR_REFRESH_S is their fallback
poll). `-checktime=false`: the file has no build time, nothing is fetched from the Internet.
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

from lab.model.topology import Lab, Roa, RtrCache
from lab.runtime.base import ProcSpec

ROAS_FILE = "roas.json"  # in the cache host router's node directory
PROCESS = "stayrtr"
REFRESH_S = 1  # StayRTR re-reads its file this often (-refresh; its default is 600 s)
RTR_REFRESH_S = 5  # the routers' fallback poll (End of Data's refresh interval, FRR polling_period)
RTR_RETRY_S = 2  # a router retries an unreachable cache this often (the cache host's OSPF, start-up)
RTR_EXPIRE_S = 600  # RFC 8210's minimum: a router keeps its ROAs this long without the cache


def roas_json(roas: list[Roa]) -> str:
    return json.dumps({"roas": [r.to_json() for r in roas]}, indent=2) + "\n"


def parse_roas(text: str) -> list[Roa]:
    """The ROAs of a file roas_json wrote (the running cache's: run-time faults change it)."""
    out = []
    for e in json.loads(text).get("roas", []):
        asn = str(e["asn"]).upper().removeprefix("AS")
        out.append(Roa(ipaddress.ip_network(e["prefix"]), int(e["maxLength"]), int(asn)))
    return out


def roas_path(nodes_dir: Path, cache: RtrCache) -> Path:
    return nodes_dir / cache.node / ROAS_FILE


def write_roas(path: Path, roas: list[Roa]) -> None:
    """Replace the file in one step: StayRTR never reads half of it."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(roas_json(roas))
    os.replace(tmp, path)


def process(cache: RtrCache, nodes_dir: Path) -> ProcSpec:
    nd = nodes_dir / cache.node
    argv = [
        "stayrtr",
        "-bind",
        f"{cache.address}:{cache.port}",
        "-cache",
        str(nd / ROAS_FILE),
        "-checktime=false",
        "-refresh",
        str(REFRESH_S),
        "-rtr.refresh",
        str(RTR_REFRESH_S),
        "-rtr.retry",
        str(RTR_RETRY_S),
        "-rtr.expire",
        str(RTR_EXPIRE_S),
        # Prometheus metrics on the same loopback (its default is every address, port 9847)
        "-metrics.addr",
        f"{cache.address}:9847",
        "-log.verbose=false",  # not a line per second for an unchanged file
    ]
    return ProcSpec(cache.node, PROCESS, argv, nd, nd / f"{PROCESS}.out")


def processes(lab: Lab, nodes_dir: Path) -> list[ProcSpec]:
    return [process(c, nodes_dir) for c in lab.rtr_caches]
