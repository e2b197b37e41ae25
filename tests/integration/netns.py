"""Network namespaces, veth pairs, addresses and processes for integration tests, removed exactly.

Usage (as a context manager, or through a fixture built on `lab_for_test`)::

    with NetnsLab() as lab:
        site = lab.namespace("site")            # "al-site-3f9a1c": unique suffix per lab
        peer = lab.namespace("peer")
        link = lab.veth(site, peer, ["198.18.0.1/30", "2001:db8:ffff::1/64"],
                                    ["198.18.0.2/30", "2001:db8:ffff::2/64"])
        site.add_address("lo", "198.51.100.53/32")
        proc = lab.spawn(site, ["nsd", "-d", ...])   # killed by PID at close
        site.run(["ip", "route"])                   # CompletedProcess, check=True

`NetnsLab.close()` (also run on exceptions, and by the fixture's finalizer) kills the processes
it spawned (by PID, SIGTERM then SIGKILL), deletes the namespaces it created (which removes
their veths and addresses) and the temp dir it made; nothing it did not create is touched.
It uses the iproute2 CLI rather than pyroute2's NetNS so no helper process lives per namespace
and every step is the command an operator would type to reproduce it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

IP = "ip"


def _ip(*args: str) -> None:
    subprocess.run([IP, *args], check=True, capture_output=True, text=True, timeout=30)


@dataclass
class Namespace:
    """A namespace this lab created. Commands run inside it through `ip netns exec`."""

    name: str

    def argv(self, args: Sequence[str]) -> list[str]:
        return [IP, "netns", "exec", self.name, *args]

    def run(
        self, args: Sequence[str], check: bool = True, timeout: float = 30.0
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(args), check=check, capture_output=True, text=True, timeout=timeout)

    def add_address(self, ifname: str, cidr: str) -> None:
        # nodad: IPv6 addresses are usable at once (no 1-2 s tentative phase to wait out)
        extra = ["nodad"] if ":" in cidr else []
        _ip("-n", self.name, "addr", "add", cidr, "dev", ifname, *extra)


@dataclass
class VethPair:
    a: Namespace
    a_ifname: str
    b: Namespace
    b_ifname: str

    def set_up(self, up: bool = True) -> None:
        state = "up" if up else "down"
        _ip("-n", self.a.name, "link", "set", self.a_ifname, state)
        _ip("-n", self.b.name, "link", "set", self.b_ifname, state)


@dataclass
class NetnsLab:
    """Creates namespaces/veths/processes with a unique suffix and removes exactly those."""

    prefix: str = "al"
    suffix: str = field(default_factory=lambda: secrets.token_hex(3))
    namespaces: list[Namespace] = field(default_factory=list)
    veths: list[VethPair] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _tmpdir: Path | None = None

    @property
    def tmpdir(self) -> Path:
        """A private temp dir for configs, sockets, pid and log files; removed at close."""
        if self._tmpdir is None:
            self._tmpdir = Path(tempfile.mkdtemp(prefix=f"{self.prefix}-{self.suffix}-"))
        return self._tmpdir

    def namespace(self, role: str) -> Namespace:
        ns = Namespace(f"{self.prefix}-{role}-{self.suffix}")
        _ip("netns", "add", ns.name)
        self.namespaces.append(ns)  # recorded before any later step can fail
        _ip("-n", ns.name, "link", "set", "lo", "up")
        # no IPv6 duplicate address detection: link-local and global addresses are usable as
        # soon as the link is up (FRR's bgpd wants the link-local for IPv6 next hops)
        ns.run(["sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"])
        return ns

    def veth(
        self,
        a: Namespace,
        b: Namespace,
        a_addrs: Sequence[str] = (),
        b_addrs: Sequence[str] = (),
    ) -> VethPair:
        """A veth pair created directly inside a and b (never in the host namespace), set up."""
        n = len(self.veths)
        # interface names are at most 15 bytes; they only need to be unique per namespace
        pair = VethPair(a, f"v{n}-{self.suffix}a", b, f"v{n}-{self.suffix}b")
        _ip("link", "add", pair.a_ifname, "netns", a.name, "type", "veth",
            "peer", "name", pair.b_ifname, "netns", b.name)  # fmt: skip
        self.veths.append(pair)
        for cidr in a_addrs:
            a.add_address(pair.a_ifname, cidr)
        for cidr in b_addrs:
            b.add_address(pair.b_ifname, cidr)
        pair.set_up()
        return pair

    def spawn(self, ns: Namespace, args: Sequence[str], log: Path | None = None) -> subprocess.Popen[bytes]:
        """Start a foreground process in ns (its PID is the program's: ip netns exec execs it)."""
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (closed with the process)
        try:
            proc = subprocess.Popen(
                ns.argv(args), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        finally:
            if log:
                out.close()  # type: ignore[union-attr]
        self.processes.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
        """SIGTERM the process, SIGKILL it if it is still alive after timeout. Signals go to its
        process group, whose id is the recorded PID (spawn starts a new session), so children
        it forked (server workers) go with it. A process that already exited is left alone: its
        PID may belong to someone else by now."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout)

    def close(self) -> None:
        errors: list[str] = []
        for proc in reversed(self.processes):
            try:
                self.stop(proc)
            except Exception as exc:
                errors.append(f"pid {proc.pid}: {exc}")
        self.processes.clear()
        for ns in reversed(self.namespaces):
            try:
                _ip("netns", "del", ns.name)  # removes the veths and addresses inside it too
            except subprocess.CalledProcessError as exc:
                errors.append(f"netns {ns.name}: {exc.stderr.strip()}")
        self.namespaces.clear()
        self.veths.clear()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
        if errors:
            raise RuntimeError("netns teardown: " + "; ".join(errors))

    def __enter__(self) -> NetnsLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def lab_for_test() -> Iterator[NetnsLab]:
    """Body of a fixture: a NetnsLab torn down after the test, whether it passed or failed.

    @pytest.fixture
    def lab() -> Iterator[NetnsLab]:
        yield from lab_for_test()
    """
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    lab = NetnsLab()
    try:
        yield lab
    finally:
        lab.close()


netns_lab = pytest.fixture(lab_for_test, name="netns_lab")  # for `from ... import netns_lab`
