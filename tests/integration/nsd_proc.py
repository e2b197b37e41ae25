"""NSD on loopback for side-by-side comparisons with dnsnode (parity, RRL): the test zone,
one server process, in the foreground, every path in a temp directory; stopped by its process
group and removed afterwards."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import pytest

from lab.poll import NotYet, PollTimeout, wait_until
from tests.integration.dnsnode_proc import DATA_ZONE, free_port

READY_TIMEOUT = 30.0


@contextlib.contextmanager
def running_nsd(server_options: str = "", prefix: str = "dnsnode-nsd-") -> Iterator[tuple[str, int]]:
    """(host, port) of an NSD serving example.net; `server_options`: more `server:` lines
    (indented four spaces), e.g. its RRL settings."""
    if shutil.which("nsd") is None:
        pytest.skip("nsd is not installed")
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    port = free_port()
    shutil.copy(DATA_ZONE, workdir / "example.net.zone")
    conf = workdir / "nsd.conf"
    conf.write_text(
        f"""server:
    ip-address: 127.0.0.1@{port}
    server-count: 1
    zonesdir: "{workdir}"
    pidfile: "{workdir}/nsd.pid"
    database: ""
    username: ""
    xfrdfile: "{workdir}/xfrd.state"
    zonelistfile: "{workdir}/zone.list"
{server_options}    verbosity: 1
remote-control:
    control-enable: no
zone:
    name: example.net
    zonefile: example.net.zone
"""
    )
    log = open(workdir / "nsd.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(["nsd", "-d", "-c", str(conf)], stdout=log, stderr=log, start_new_session=True)

    def answers() -> bool:
        if proc.poll() is not None:
            raise RuntimeError((workdir / "nsd.log").read_text())
        try:
            query = dns.message.make_query("example.net", "SOA")
            dns.query.udp(query, "127.0.0.1", port=port, timeout=0.3)
        except (dns.exception.DNSException, OSError) as exc:
            raise NotYet(str(exc)) from None
        return True

    try:
        try:
            wait_until(answers, timeout=READY_TIMEOUT, interval=0.05, what="NSD answers")
        except PollTimeout:
            raise RuntimeError((workdir / "nsd.log").read_text()) from None
        yield ("127.0.0.1", port)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)
