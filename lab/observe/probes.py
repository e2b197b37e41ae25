"""Start, read and stop the client probes (lab/probe.py) of a running lab.

Each probe is started through the runtime (`runtime.start`), so it is recorded like any
daemon (netns: the lab's state file; clab: inside the client's container, where the image's
copy of this package runs it) and `lab down` / `lab cleanup` remove it. Stopping goes through
`runtime.stop`, by the recorded PID and start time only (SIGTERM: the probe finishes its
outstanding queries).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from lab.daemons.base import LabAccess
from lab.poll import wait_until
from lab.runtime.base import NotRecorded, ProcSpec

DEFAULT_INTERVAL = 0.02
DEFAULT_TIMEOUT = 1.0
DEFAULT_STEER_INTERVAL = 0.2  # the steered name's rounds (resolve + GET): slower, each waits


@dataclass(frozen=True)
class Record:
    client: str
    kind: str  # direct / v6 (direct, to the IPv6 service address) / resolver
    mono: float  # send time, CLOCK_MONOTONIC
    seq: int
    site: str | None
    rtt_ms: float | None
    rcode: str | None
    lost: bool
    late: bool = False  # lost at its timeout, then answered (a "late" line of the probe)

    @property
    def dropped(self) -> bool:
        """Lost and never answered: what the network did, not a slow machine."""
        return self.lost and not self.late

    @classmethod
    def of(cls, client: str, d: dict[str, object]) -> Record:
        """One JSON line of lab/observe/probe.py."""

        def opt_str(key: str) -> str | None:
            v = d.get(key)
            return None if v is None else str(v)

        rtt = d.get("rtt_ms")
        mono, seq = d["mono"], d.get("seq", 0)
        assert isinstance(mono, int | float) and isinstance(seq, int)
        return cls(
            client,
            str(d["kind"]),
            float(mono),
            seq,
            opt_str("site"),
            float(rtt) if isinstance(rtt, int | float) else None,
            opt_str("rcode"),
            bool(d.get("lost")),
        )


@dataclass(frozen=True)
class EdgeRecord:
    """One round of the steered name: the edge the client's resolver handed out, and whether it
    answered over HTTP (lab/observe/probe.py `--steered`)."""

    client: str
    mono: float
    seq: int
    addr: str | None  # the address the resolver gave (None: no answer from the resolver)
    edge: str | None  # what the edge said it is (None: it did not answer)
    ttl: int | None  # the answer's TTL as the resolver gave it
    stage: str | None  # where a lost round failed: "dns" or "http"
    lost: bool

    @classmethod
    def of(cls, client: str, d: dict[str, object]) -> EdgeRecord:
        mono, seq, ttl = d["mono"], d.get("seq", 0), d.get("ttl")
        assert isinstance(mono, int | float) and isinstance(seq, int)
        addr, edge, stage = (None if d.get(k) is None else str(d[k]) for k in ("addr", "edge", "stage"))
        ttl_s = ttl if isinstance(ttl, int) else None
        return cls(client, float(mono), seq, addr, edge, ttl_s, stage, bool(d.get("lost")))


def _lines(path: Path) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    if not path.exists():
        return out
    with open(path) as f:
        for line in f:
            if not line.endswith("\n"):
                break  # the probe is writing this one
            out.append(json.loads(line))
    return out


def read_edge_records(path: Path, client: str) -> list[EdgeRecord]:
    recs = [EdgeRecord.of(client, d) for d in _lines(path) if d.get("kind") == "edge"]
    return sorted(recs, key=lambda r: r.mono)


def read_records(path: Path, client: str) -> list[Record]:
    out: list[Record] = []
    if not path.exists():
        return out
    late: set[tuple[object, object]] = set()  # (kind, seq) answered after their timeout
    with open(path) as f:
        for line in f:
            if not line.endswith("\n"):
                break  # the probe is writing this one
            d = json.loads(line)
            if d.get("kind") in ("direct", "v6", "resolver"):
                out.append(Record.of(client, d))
            elif d.get("kind") == "late":
                late.add((d.get("of"), d.get("seq")))
    if late:
        out = [replace(r, late=True) if r.lost and (r.kind, r.seq) in late else r for r in out]
    out.sort(key=lambda r: (r.kind, r.mono))
    return out


@dataclass
class ProbeSet:
    """The probes of one measurement run, one per client."""

    handle: LabAccess
    run_id: str
    interval: float
    files: dict[str, Path] = field(default_factory=dict)  # client -> JSON lines file

    @property
    def proc_name(self) -> str:
        return f"probe-{self.run_id}"

    def records(self) -> dict[str, list[Record]]:
        return {c: read_records(p, c) for c, p in self.files.items()}

    def edge_records(self) -> dict[str, list[EdgeRecord]]:
        return {c: read_edge_records(p, c) for c, p in self.files.items()}

    def stop(self, timeout: float = 5.0) -> None:
        rt = self.handle.runtime
        for c in self.files:  # every probe at once, then wait for each
            rt.signal(c, self.proc_name, signal.SIGTERM)
        for c in self.files:
            with contextlib.suppress(NotRecorded):  # never started (runtime.start failed part-way)
                rt.stop(c, self.proc_name, signal.SIGTERM, timeout)


def start(
    h: LabAccess,
    clients: list[str] | None = None,
    interval: float = DEFAULT_INTERVAL,
    timeout: float = DEFAULT_TIMEOUT,
    duration: float = 300.0,
    resolver: bool = True,
    steered: bool = True,
    steer_interval: float = DEFAULT_STEER_INTERVAL,
) -> ProbeSet:
    """One probe per client: the service address over IPv4 and IPv6, the client's resolver, and
    (a lab with `steering:`) the steered name through that resolver and the edge it names."""
    lab = h.lab
    run_id = secrets.token_hex(3)
    ps = ProbeSet(h, run_id, interval)
    specs = []
    names = clients or [n.name for n in lab.of_kind("client")]
    for name in names:
        node = lab.nodes[name]
        nd = h.dir / name
        out = nd / f"probe-{run_id}.jsonl"
        argv = [
            sys.executable,
            "-m",
            "lab.observe.probe",
            "--out",
            str(out),
            "--zone",
            lab.service.zone,
            "--direct",
            str(lab.service.address4),
            "--direct",
            str(lab.service.address6),
            "--interval",
            str(interval),
            "--timeout",
            str(timeout),
            "--duration",
            str(duration),
        ]
        if resolver and node.resolver4 is not None:
            argv += ["--resolver", str(node.resolver4)]
            st = lab.steering
            if steered and st is not None:  # which edge GeoDNS hands this client, and does it answer
                port = next((e.http_port for e in lab.of_kind("edge") if e.http_port), 80)
                argv += ["--steered", st.name, "--edge-port", str(port), "--edge-path", st.http_path]
                argv += ["--steer-interval", str(steer_interval), "--steer-timeout", str(st.check_timeout)]
        specs.append(
            ProcSpec(
                name, ps.proc_name, argv, Path(__file__).resolve().parents[1], nd / f"{ps.proc_name}.out"
            )
        )
        ps.files[name] = out
    h.runtime.start(specs)
    return ps


def wait_answering(ps: ProbeSet, since: float, count: int = 10, timeout: float = 15.0) -> float:
    """Until every client has `count` answered direct records sent after `since`."""

    def short() -> list[str]:
        recs = ps.records()
        return [
            c
            for c, rs in recs.items()
            if sum(1 for r in rs if r.kind == "direct" and r.mono >= since and not r.lost) < count
        ]

    return wait_until(short, lambda s: not s, timeout=timeout, interval=0.1, what="probes answering").elapsed
