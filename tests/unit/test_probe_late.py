"""The probe tells a late answer (lost to the stub at its timeout, then answered) from a dropped
query (never answered), on loopback with the real Prober and a socket standing in for a site."""

from __future__ import annotations

import io
import select
import socket
import time
from pathlib import Path

import dns.message

from lab.ansible.felt import felt
from lab.observe.probe import Prober, Target
from lab.observe.probes import read_records


def test_a_late_answer_is_lost_and_late_a_missing_one_is_dropped(tmp_path: Path) -> None:
    site = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    site.bind(("127.0.0.1", 0))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(site.getsockname())
    sock.setblocking(False)
    out = io.StringIO()
    p = Prober([Target("direct", "127.0.0.1", sock)], "lab.example.", 0.02, 0.5, out)
    try:
        p._send(time.monotonic())  # seq 0: answered after its timeout
        late_q, addr = site.recvfrom(4096)
        p._send(time.monotonic())  # seq 1: never answered
        site.recvfrom(4096)
        p._expire(time.monotonic() + 0.6)  # both time out: lost
        site.sendto(dns.message.make_response(dns.message.from_wire(late_q)).to_wire(), addr)
        assert select.select([sock], [], [], 5.0)[0], "the answer did not arrive on loopback"
        p._receive(sock, "direct")
    finally:
        sock.close()
        site.close()
    path = tmp_path / "probe.jsonl"
    path.write_text(out.getvalue())
    recs = read_records(path, "carol")
    assert [(r.seq, r.lost, r.late, r.dropped) for r in recs] == [
        (0, True, True, False),
        (1, True, False, True),
    ]
    f = felt({"carol": recs}, 0.0, time.monotonic() + 1)
    assert (f.lost, f.late, f.dropped, f.dropped_by_client) == (2, 1, 1, {"carol": 1})
