"""The containerlab runtime's real parts on docker: the images build, dnsnode answers with its
NSID through the container's address, and the whole workshop lab runs in containers (deployed
by lab.runtime.clab_docker where the containerlab binary is missing), converges, measures the
predicted catchment, and reacts to a link fault set through pyroute2 in a container netns.
`lab status/exec/catchment` work on it from another process, a BGP daemon is stopped and
started by its recorded PID, two scenarios of the suite (site-failure, drain-graceful) pass
with the netns bounds, and `lab cleanup NAME` (another process) removes it all.

Every container and network a test creates carries its lab's label and is removed by the
fixture; the test checks that nothing with that label is left.
"""

from __future__ import annotations

import json
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.edns
import dns.flags
import dns.message
import dns.query
import pytest

from lab import faults
from lab.observe.catchment import measure, parse_dig
from lab.orchestrate import converge, lifecycle
from lab.orchestrate.handle import run_dir
from lab.orchestrate.lifecycle import UpResult
from lab.orchestrate.provider import RuntimeChoice
from lab.poll import wait_until
from lab.predict.bgp import catchments
from lab.runtime.clab import images as clab_images
from lab.runtime.clab.runtime import LAB_LABEL
from lab.runtime.state import STATE_FILE
from lab.scenarios import get
from tests.integration.dashboard_proc import running_dashboard
from tests.scenarios.conftest import run_and_check

pytestmark = [pytest.mark.docker, pytest.mark.integration]
ROOT = Path(__file__).resolve().parents[2]
ZONE = ROOT / "tests" / "data" / "example.net.zone"
LAB_BIN = ROOT / ".venv" / "bin" / "lab"
TEST_NET = "198.18.250.0/24"  # benchmarking range (RFC 2544), not used by the lab's plan


@pytest.fixture(scope="module")
def client() -> Any:
    try:
        import docker

        c = docker.from_env()
        c.ping()
    except Exception as exc:
        pytest.skip(f"dockerd is not reachable ({type(exc).__name__}): start dockerd to run the docker tests")
    return c


@pytest.fixture(scope="module")
def images(client: Any) -> list[clab_images.Built]:
    """A local debian:bookworm-slim (made unless present), then every image (layers cached)."""
    if shutil.which("debootstrap") is None and not client.images.list(clab_images.BASE_IMAGE):
        pytest.skip("no debian:bookworm-slim and no debootstrap to make one: apt-get install debootstrap")
    res = subprocess.run([str(ROOT / "scripts" / "make-base-image.sh")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    built = clab_images.build_all(client)
    print("\nimages: " + ", ".join(f"{b.tag} {b.seconds:.1f}s" for b in built))
    return built


def test_every_image_is_built_with_its_tools(client: Any, images: list[clab_images.Built]) -> None:
    assert [b.name for b in images] == clab_images.ORDER
    checks = {
        "router": "test -x /usr/lib/frr/bgpd && bird --version 2>&1",
        "dnsnode": "dnsnode --help && test -x /usr/lib/frr/zebra && bird --version 2>&1"
        " && nsd -v 2>&1 && knotd -V && knotc --version && test -x /usr/sbin/nsd-control",
        "resolver": "unbound -V",
        "client": "kdig --version && dig -v && dnsnode --help",
    }
    for name, cmd in checks.items():
        out = client.containers.run(
            clab_images.image_name(name), ["sh", "-ec", cmd], remove=True, network_mode="none",
            labels={LAB_LABEL: "image-check"},
        )  # fmt: skip
        assert out, name


@pytest.fixture
def test_network(client: Any) -> Iterator[Any]:
    import docker.types

    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=TEST_NET)])
    net = client.networks.create(
        f"anycast-lab-t{secrets.token_hex(3)}", driver="bridge", ipam=ipam, labels={LAB_LABEL: "test"}
    )
    yield net
    net.remove()


def test_dnsnode_image_answers_with_its_nsid(
    client: Any, images: list[clab_images.Built], test_network: Any
) -> None:
    identity = f"site-{secrets.token_hex(2)}"
    c = client.containers.run(
        clab_images.image_name("dnsnode"),
        ["dnsnode", "serve", "--listen", "0.0.0.0:53", "--zone", "example.net=/zone", "--identity", identity],
        volumes=[f"{ZONE}:/zone:ro"], network=test_network.name, detach=True,
        labels={LAB_LABEL: "test"},
    )  # fmt: skip
    try:
        c.reload()
        ip = c.attrs["NetworkSettings"]["Networks"][test_network.name]["IPAddress"]
        assert ip.startswith("198.18.250.")
        q = dns.message.make_query(
            "example.net.", "SOA", use_edns=0, options=[dns.edns.GenericOption(3, b"")]
        )

        def ask() -> dns.message.Message | None:
            try:
                return dns.query.udp(q, ip, timeout=0.5)
            except (dns.exception.Timeout, OSError):
                return None

        res = wait_until(
            ask, lambda r: r is not None, timeout=30, interval=0.2, what="dnsnode in its container"
        )
        answer = res.value
        print(f"\ndnsnode container answered after {res.elapsed:.2f}s")
        assert answer is not None and answer.flags & dns.flags.AA
        nsid = [o for o in answer.options if o.otype == 3]
        assert nsid and nsid[0].to_wire() == identity.encode()
        assert answer.answer[0].rdtype == dns.rdatatype.SOA
    finally:
        c.remove(force=True)


@pytest.fixture(scope="module")
def workshop(client: Any, images: list[clab_images.Built]) -> Iterator[UpResult]:
    name = f"c{secrets.token_hex(3)}"
    choice = RuntimeChoice("clab", "docker")
    try:
        res = lifecycle.up(ROOT / "topologies" / "workshop.yml", name, timeout=180, choice=choice)
    except BaseException:
        if (run_dir(name) / STATE_FILE).exists():
            lifecycle.down(name)
        raise
    print(f"\nlab {name} on containers converged in {res.seconds_to_converged:.1f}s")
    yield res
    # another process, with nothing but the lab's state file: it names the stand-in and
    # every container and network it made
    out = _lab("cleanup", name)
    assert out.returncode == 0 and "removed" in out.stderr, out.stderr
    assert client.containers.list(all=True, filters={"label": f"{LAB_LABEL}={name}"}) == []
    assert client.networks.list(filters={"label": f"{LAB_LABEL}={name}"}) == []
    assert not run_dir(name).exists()


def _lab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LAB_BIN), *args], capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_workshop_on_containers_measures_the_predicted_catchment(workshop: UpResult) -> None:
    h = workshop.handle
    measured = measure(h.lab, h.runtime)
    predicted = catchments(h.lab)
    assert {n: (p.site, p.site6) for n, p in measured.items()} == {n: (s, s) for n, s in predicted.items()}
    names = {(p.node, p.name) for p in h.runtime.processes()}
    assert {("ams", "bird"), ("ams", "dnsnode"), ("ta1", "zebra"), ("ta1", "bgpd")} <= names
    # the lab has no way out: no default route on a router, hosts' default is their LAN gateway
    assert "default" not in h.runtime.exec("ta1", ["ip", "-4", "route"], check=True).stdout
    assert "default via 203.0.113.1 dev eth1" in h.runtime.exec("alice", ["ip", "-4", "route"]).stdout


@pytest.mark.slow
def test_link_down_in_a_container_moves_the_catchment_and_back(workshop: UpResult) -> None:
    """ams's only upstream goes down (pyroute2 in ams's netns): alice leaves ams for fra;
    up again: alice is back at ams."""
    h = workshop.handle
    (ams_link,) = [i.link for i in h.lab.nodes["ams"].ifaces]

    def alice() -> str | None:
        return measure(h.lab, h.runtime)["alice"].site

    h.runtime.set_link(ams_link, up=False, node="ams")
    try:
        assert h.runtime.link_state("ams", "eth1") == "DOWN"
        moved = wait_until(alice, lambda s: s == "fra", timeout=60, interval=0.5, what="alice moves to fra")
        print(f"\nalice answered by fra {moved.elapsed:.1f}s after ams's link went down")
    finally:
        h.runtime.set_link(ams_link, up=True, node="ams")
    back = wait_until(alice, lambda s: s == "ams", timeout=90, interval=0.5, what="alice back at ams")
    print(f"alice back at ams {back.elapsed:.1f}s after the link came up")
    assert h.runtime.link_state("ams", "eth1") == "UP"


@pytest.mark.slow
def test_lab_commands_open_a_clab_lab(workshop: UpResult) -> None:
    """status, exec and catchment from another process find the lab's containers by its state."""
    h = workshop.handle
    res = _lab("status", "--name", h.name, "--json")
    assert res.returncode == 0, res.stderr
    st = json.loads(res.stdout)
    assert st["converged"] and st["bgp"] and all(s["state"] == "Established" for s in st["bgp"])
    alive = {(p["node"], p["name"]) for p in st["processes"] if p["alive"]}
    want = {("ams", "bird"), ("ams", "dnsnode"), ("ams", "agent"), ("ta1", "zebra"), ("ta1", "bgpd"),
            ("home1-res", "unbound"), ("primary", "dnsnode")}  # fmt: skip
    assert want <= alive, want - alive
    svc = h.lab.service
    dig = _lab(
        "exec", "--name", h.name, "alice", "--", "dig", "+nsid", "+norec", f"@{svc.address4}", svc.zone, "SOA"
    )
    assert dig.returncode == 0, dig.stderr
    assert parse_dig(dig.stdout)[0] == catchments(h.lab)["alice"]
    res = _lab("catchment", "--name", h.name, "--json")
    assert res.returncode == 0, res.stderr
    measured = {c: v["site"] for c, v in json.loads(res.stdout)["clients"].items()}
    assert measured == {c.name: catchments(h.lab)[c.name] for c in h.lab.of_kind("client")}


@pytest.mark.slow
def test_bgp_daemon_stopped_and_started_by_its_recorded_pid(workshop: UpResult) -> None:
    """SIGTERM to ta1's bgpd (by the PID recorded in its container): ams's session to ta1
    leaves Established (the NOTIFICATION); started again, the lab converges."""
    h = lifecycle.open_lab(workshop.handle.name)
    assert h.runtime.running("ta1", "bgpd")
    ams = next(sp for sp in h.speakers() if sp.node.name == "ams")

    def ams_ta1() -> set[str]:
        return {s.state for s in ams.sessions() if s.peer == "ta1"}

    faults.stop_proc(h, "ta1", "bgpd", signal.SIGTERM)
    try:
        assert not h.runtime.running("ta1", "bgpd")
        down = wait_until(ams_ta1, lambda s: "Established" not in s, timeout=15, what="ams-ta1 down")
        print(f"\nams saw ta1's session go {down.elapsed:.2f}s after bgpd stopped")
    finally:
        faults.start_proc(h, "ta1", "bgpd")
    assert h.runtime.running("ta1", "bgpd")
    snap, took = converge.wait_converged(h, timeout=90)
    print(f"converged again {took:.1f}s after bgpd started")
    assert snap.converged


@pytest.mark.slow
@pytest.mark.parametrize("name", ["site-failure", "drain-graceful"])
def test_scenario_on_containers(workshop: UpResult, name: str) -> None:
    """The scenario suite's own check (tests/scenarios/conftest.py) with the netns bounds."""
    report = run_and_check(workshop.handle, get(name))
    if name == "drain-graceful":
        assert report["lost"] == 0 and report["lost_resolver"] == 0


@pytest.mark.slow
def test_dashboard_on_containers(workshop: UpResult) -> None:
    """The dashboard runs its probes inside the containers (the image's copy of the probe) and
    shows every client and resolver at its predicted site; its probes are gone after it."""
    h = workshop.handle
    predicted = {n: (s, s) for n, s in catchments(h.lab).items()}
    with running_dashboard(h.name) as d:
        assert d.get("/api/info")["runtime"] == "clab"  # type: ignore[index]

        def live() -> dict[str, tuple[object, object]]:
            nodes = d.get("/api/live")["nodes"]  # type: ignore[index]
            return {n: (k.get("v4"), k.get("v6")) for n, k in nodes.items()}

        took = wait_until(live, lambda got: got == predicted, timeout=30, interval=0.5, what="probes").elapsed
        print(f"\ndashboard on containers: every node at its predicted site after {took:.1f} s")
        api = d.get("/api/catchment")
        assert {n: (p["site"], p["site6"]) for part in api.values() for n, p in part.items()} == predicted  # type: ignore[union-attr]
