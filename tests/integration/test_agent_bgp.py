"""The health agent end to end: dnsnode serve + BGP speaker + agent in a site namespace, the
peer router in another; every assertion is about what the peer sees.

Two pairings: site BIRD -> peer FRR, and site FRR -> peer BIRD. BGP timers are short so
sessions come up fast: keepalive 1 s, hold 3 s, connect retry 1 s (BIRD also error wait 1-5 s;
FRR advertisement-interval 0). Check timing: interval 1 s, timeout 0.5 s, rise 2, fall 3.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dnsnode.agent.bird import render_include
from dnsnode.agent.config import Prefix
from dnsnode.agent.frr import render_policy
from lab.poll import wait_until
from tests.integration.netns import Namespace, NetnsLab, lab_for_test
from tests.integration.routers import BirdRouter, FrrRouter

pytestmark = pytest.mark.integration

SITE_ASN, PEER_ASN = 64500, 64501
V4, V6 = "198.51.100.0/24", "2001:db8:53::/48"
SVC4, SVC6 = "198.51.100.53", "2001:db8:53::53"
SITE_L4, PEER_L4 = "198.18.0.1", "198.18.0.2"
SITE_L6, PEER_L6 = "2001:db8:ffff::1", "2001:db8:ffff::2"
INTERVAL, TIMEOUT, RISE, FALL = 1.0, 0.5, 2, 3
HOLD, PREPEND = 3.0, 2
VENV_BIN = Path(sys.executable).parent

ZONE = """$ORIGIN example.net.
$TTL 300
@    SOA ns1 hostmaster 2026112101 3600 600 86400 300
@    NS  ns1
ns1  A   198.51.100.53
www  A   198.51.100.10
"""

SITE_BIRD = """router id {site_l4};
log "{dir}/bird.log" all;
include "{include}";
protocol device {{}}
protocol bgp peer4 {{
  local {site_l4} as {site_asn}; neighbor {peer_l4} as {peer_asn};
  hold time 3; keepalive time 1; connect retry time 1; error wait time 1, 5;
  ipv4 {{ import none; export where anycast_export(); }};
}}
protocol bgp peer6 {{
  local {site_l6} as {site_asn}; neighbor {peer_l6} as {peer_asn};
  hold time 3; keepalive time 1; connect retry time 1; error wait time 1, 5;
  ipv6 {{ import none; export filter {{ if anycast_export() then accept; reject; }}; }};
}}
"""

PEER_BIRD = """router id {peer_l4};
log "{dir}/bird.log" all;
protocol device {{}}
protocol bgp site4 {{
  local {peer_l4} as {peer_asn}; neighbor {site_l4} as {site_asn};
  hold time 3; keepalive time 1; connect retry time 1; error wait time 1, 5;
  ipv4 {{ import all; export none; }};
}}
protocol bgp site6 {{
  local {peer_l6} as {peer_asn}; neighbor {site_l6} as {site_asn};
  hold time 3; keepalive time 1; connect retry time 1; error wait time 1, 5;
  ipv6 {{ import all; export none; }};
}}
"""

# The speaker contract (SPEAKERS.md): router bgp with no import-check, route-map ANYCAST-OUT
# out on the neighbors, and the agent's policy block (render_policy) rendered in.
SITE_FRR = """frr defaults traditional
hostname site
!
{policy}
router bgp {site_asn}
 bgp router-id {site_l4}
 no bgp network import-check
 timers bgp 1 3
 neighbor {peer_l4} remote-as {peer_asn}
 neighbor {peer_l4} timers connect 1
 neighbor {peer_l4} advertisement-interval 0
 neighbor {peer_l6} remote-as {peer_asn}
 neighbor {peer_l6} timers connect 1
 neighbor {peer_l6} advertisement-interval 0
 address-family ipv4 unicast
  neighbor {peer_l4} route-map ANYCAST-OUT out
  no neighbor {peer_l6} activate
 exit-address-family
 address-family ipv6 unicast
  neighbor {peer_l6} activate
  neighbor {peer_l6} route-map ANYCAST-OUT out
 exit-address-family
!
"""

PEER_FRR = """frr defaults traditional
hostname peer
!
router bgp {peer_asn}
 bgp router-id {peer_l4}
 no bgp ebgp-requires-policy
 timers bgp 1 3
 neighbor {site_l4} remote-as {site_asn}
 neighbor {site_l4} timers connect 1
 neighbor {site_l6} remote-as {site_asn}
 neighbor {site_l6} timers connect 1
 address-family ipv4 unicast
  no neighbor {site_l6} activate
 exit-address-family
 address-family ipv6 unicast
  neighbor {site_l6} activate
 exit-address-family
!
"""

ADDRS = {
    "site_l4": SITE_L4,
    "peer_l4": PEER_L4,
    "site_l6": SITE_L6,
    "peer_l6": PEER_L6,
    "site_asn": SITE_ASN,
    "peer_asn": PEER_ASN,
}


@dataclass(frozen=True)
class Route:
    """The peer's best path for a prefix, reduced to what the agent controls."""

    as_path: tuple[int, ...]
    communities: frozenset[str]  # "65535:0" style


class FrrPeer:
    def __init__(self, router: FrrRouter) -> None:
        self.router = router

    def route(self, prefix: str) -> Route | None:
        afi = "ipv6" if ":" in prefix else "ipv4"
        j = self.router.json(f"show bgp {afi} unicast {prefix} json")
        paths = j.get("paths") or []
        if not paths:
            return None
        p = paths[0]
        as_path = tuple(int(a) for a in p.get("aspath", {}).get("string", "").split() if a.isdigit())
        comms = set()
        for c in p.get("community", {}).get("string", "").split():
            comms.add({"graceful-shutdown": "65535:0"}.get(c, c))  # FRR names well-known ones
        return Route(as_path, frozenset(comms))

    def sessions(self) -> dict[str, Any]:
        """Per neighbor: how many times its session was established (grows on a flap)."""
        j = self.router.json("show bgp neighbors json")
        return {n: v.get("connectionsEstablished") for n, v in j.items()}


class BirdPeer:
    def __init__(self, router: BirdRouter) -> None:
        self.router = router

    def route(self, prefix: str) -> Route | None:
        out = self.router.birdc("show", "route", prefix, "all", check=False)  # rc 1: not found
        if prefix not in out:
            return None
        m = re.search(r"BGP\.as_path:([ \d]*)$", out, re.M)
        as_path = tuple(int(a) for a in m.group(1).split()) if m else ()
        comms = frozenset(f"{a}:{b}" for a, b in re.findall(r"\((\d+),\s*(\d+)\)", out))
        return Route(as_path, comms)

    def sessions(self) -> dict[str, Any]:
        """Per protocol: state and since when (changes on a flap)."""
        out = self.router.birdc("show", "protocols")
        return {ln.split()[0]: ln.split()[3:5] for ln in out.splitlines() if ln.startswith("site")}


@dataclass
class Site:
    lab: NetnsLab
    site: Namespace
    peer_ns: Namespace
    speaker: str
    peer: FrrPeer | BirdPeer
    zone_file: Path
    agent_cfg: Path
    agent_log: Path
    ctl_socket: Path
    drain_file: Path
    dns: subprocess.Popen[bytes] | None = None
    agent: subprocess.Popen[bytes] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def start_dns(self) -> float:
        """Start dnsnode serve on the service addresses; return seconds until it answers."""
        self.dns = self.lab.spawn(
            self.site,
            [
                str(VENV_BIN / "dnsnode"), "serve",
                "--listen", f"{SVC4}:53", "--listen", f"[{SVC6}]:53",
                "--zone", f"example.net={self.zone_file}", "--identity", "site1",
                "--control-socket", str(self.lab.tmpdir / "dnsnode.sock"),
            ],
            log=self.lab.tmpdir / "dnsnode.out",
        )  # fmt: skip
        return wait_until(self.dns_answers, timeout=30, what="dnsnode answers").elapsed

    def dns_answers(self, server: str = SVC4, serial: str = "2026112101") -> bool:
        res = self.site.run(
            ["dig", "+short", "+norec", "+time=1", "+tries=1", f"@{server}", "example.net", "SOA"],
            check=False,
        )
        return serial in res.stdout

    def kill_dns(self) -> None:
        assert self.dns is not None
        os.killpg(self.dns.pid, signal.SIGKILL)  # the process (group) we started, workers too
        self.dns.wait(10)

    def start_agent(self) -> None:
        self.agent = self.lab.spawn(
            self.site,
            [str(VENV_BIN / "dnsnode"), "agent", "--config", str(self.agent_cfg)],
            log=self.lab.tmpdir / "agent.out",
        )

    def events(self, event: str | None = None) -> list[dict[str, Any]]:
        if not self.agent_log.exists():
            return []
        lines = [json.loads(line) for line in self.agent_log.read_text().splitlines() if line.strip()]
        return [e for e in lines if event is None or e["event"] == event]

    def ctl(self, command: str) -> dict[str, Any]:
        res = subprocess.run(
            [str(VENV_BIN / "dnsnode"), "agent", "ctl", "--socket", str(self.ctl_socket), command],
            capture_output=True,
            text=True,
            timeout=30,
        )
        reply: dict[str, Any] = json.loads(res.stdout)
        return reply

    def routes(self) -> tuple[Route | None, Route | None]:
        return self.peer.route(V4), self.peer.route(V6)


def build_site(
    lab: NetnsLab,
    speaker: str,
    drain_method: str = "community",
    start_speaker: bool = True,
    serial_yaml: str = "",
    hold: float | str = HOLD,
    reconcile: float | None = None,
) -> Site:
    site = lab.namespace("site")
    peer_ns = lab.namespace("peer")
    lab.veth(site, peer_ns, [f"{SITE_L4}/30", f"{SITE_L6}/64"], [f"{PEER_L4}/30", f"{PEER_L6}/64"])
    site.add_address("lo", f"{SVC4}/32")
    site.add_address("lo", f"{SVC6}/128")
    d = lab.tmpdir
    zone_file = d / "example.net.zone"
    zone_file.write_text(ZONE)
    peer: FrrPeer | BirdPeer
    if speaker == "bird":
        include = d / "anycast.conf"
        prefixes: list[Prefix] = [ipaddress.ip_network(V4), ipaddress.ip_network(V6)]
        include.write_text(render_include(prefixes))  # what the lab renderer writes first
        bird_dir = d / "bird-site"
        bird_dir.mkdir()
        bird_conf = SITE_BIRD.format(dir=bird_dir, include=include, **ADDRS)

        def start_site_speaker() -> None:
            s.extra["router"] = BirdRouter.start(lab, site, "site", bird_conf)

        peer = FrrPeer(FrrRouter.start(lab, peer_ns, "peer", PEER_FRR.format(**ADDRS)))
        speaker_yaml = f"  kind: bird\n  include_file: {include}\n  socket: {bird_dir / 'bird.ctl'}\n"
    else:
        policy = render_policy([ipaddress.ip_network(V4), ipaddress.ip_network(V6)])
        frr_conf = SITE_FRR.format(policy=policy, **ADDRS)
        frr_dir = d / "frr-site"  # FrrRouter.start creates it; the agent only needs its path

        def start_site_speaker() -> None:
            s.extra["router"] = FrrRouter.start(lab, site, "site", frr_conf)

        bird_dir = d / "bird-peer"
        bird_dir.mkdir()
        peer = BirdPeer(BirdRouter.start(lab, peer_ns, "peer", PEER_BIRD.format(dir=bird_dir, **ADDRS)))
        speaker_yaml = f"  kind: frr\n  asn: {SITE_ASN}\n  vty_socket: {frr_dir}\n"
    cfg = d / "agent.yml"
    log = d / "agent.jsonl"
    ctl = d / "agent.sock"
    drain_file = d / "drain"
    cfg.write_text(
        f"""prefixes: [{V4}, {V6}]
check:
  server: {SVC4}
  name: example.net.
  type: SOA
  interval: {INTERVAL}
  timeout: {TIMEOUT}
  rise: {RISE}
  fall: {FALL}
speaker:
{speaker_yaml}drain:
  method: {drain_method}
  prepend: {PREPEND}
  asn: {SITE_ASN}
  hold: {hold}
  file: {drain_file}
control_socket: {ctl}
log_file: {log}
retry_max: 1
{serial_yaml}{"" if reconcile is None else f"reconcile_interval: {reconcile}"}
"""
    )
    s = Site(lab, site, peer_ns, speaker, peer, zone_file, cfg, log, ctl, drain_file)
    s.extra["start_speaker"] = start_site_speaker
    if start_speaker:
        start_site_speaker()
    return s


def start_all(lab: NetnsLab, speaker: str, drain_method: str = "community", **kw: Any) -> Site:
    s = build_site(lab, speaker, drain_method, **kw)
    s.start_dns()
    s.start_agent()
    up = wait_until(s.routes, lambda r: all(r), timeout=45, what="both prefixes at the peer")
    print(f"\n[{speaker}] prefixes at the peer {up.elapsed:.2f} s after the agent started")
    v4, v6 = up.value
    assert v4 is not None and v6 is not None
    assert v4.as_path == (SITE_ASN,) and "65535:0" not in v4.communities
    return s


def plain(r: Route | None) -> bool:
    return r is not None and r.as_path == (SITE_ASN,) and "65535:0" not in r.communities


@pytest.fixture
def lab() -> Iterator[NetnsLab]:
    yield from lab_for_test()


SPEAKERS = [pytest.param("bird", id="site-bird_peer-frr"), pytest.param("frr", id="site-frr_peer-bird")]


@pytest.mark.parametrize("speaker", SPEAKERS)
def test_withdraw_when_dns_dies_and_return_after_rise(lab: NetnsLab, speaker: str) -> None:
    s = start_all(lab, speaker)

    t_kill = time.monotonic()
    s.kill_dns()
    gone = wait_until(s.routes, lambda r: r == (None, None), timeout=15, what="both prefixes withdrawn")
    withdrawn_after = time.monotonic() - t_kill
    bound = INTERVAL * FALL + 1
    print(f"[{speaker}] withdrawn at the peer {withdrawn_after:.2f} s after the kill (bound {bound:.1f} s)")
    assert gone.value == (None, None)
    assert withdrawn_after <= bound
    down = [e for e in s.events("state") if e["to"] == "down" and e["from"] == "up"]
    assert down and down[0]["action"] == "withdraw"
    assert down[0]["reason"].startswith(f"{FALL} failed checks")

    s.start_dns()
    t_back = time.monotonic()  # dnsnode answers from here on
    back = wait_until(s.routes, lambda r: all(plain(x) for x in r), timeout=15, what="prefixes back")
    back_after = time.monotonic() - t_back
    print(f"[{speaker}] back at the peer {back_after:.2f} s after dnsnode answered again (rise={RISE})")
    assert back.value[0] is not None
    # hysteresis: not on the first good answer, but after `rise` of them
    assert (RISE - 1) * INTERVAL - 0.3 <= back_after <= RISE * INTERVAL + 1.5
    ups = [e for e in s.events("state") if e["to"] == "up"]
    assert len(ups) == 2 and ups[1]["reason"] == f"{RISE} successful checks"


DRAINS = [
    pytest.param("bird", "community", "ctl", id="site-bird_community_ctl"),
    pytest.param("bird", "prepend", "file", id="site-bird_prepend_file"),
    pytest.param("frr", "community", "file", id="site-frr_community_file"),
    pytest.param("frr", "prepend", "ctl", id="site-frr_prepend_ctl"),
]


@pytest.mark.parametrize(("speaker", "method", "trigger"), DRAINS)
def test_drain_marks_then_withdraws_and_undrain_restores(
    lab: NetnsLab, speaker: str, method: str, trigger: str
) -> None:
    s = start_all(lab, speaker, method)

    def drained(r: Route | None) -> bool:
        if r is None:
            return False
        if method == "community":
            return "65535:0" in r.communities and r.as_path == (SITE_ASN,)
        return r.as_path == (SITE_ASN,) * (PREPEND + 1)

    sessions_before = s.peer.sessions()
    assert len(sessions_before) == 2
    t0 = time.monotonic()
    if trigger == "ctl":
        assert s.ctl("drain")["ok"] is True
    else:
        s.drain_file.touch()
    # one timeline of what the peer sees: plain -> drained attributes -> gone, in that order
    timeline: list[tuple[float, str]] = []

    def observe() -> bool:
        present = [r for r in s.routes() if r is not None]
        # v4 and v6 are withdrawn by separate UPDATEs: one family gone while the other is still
        # drained is "drained"; "other" means some route is plain (or otherwise not drained).
        kind = "gone" if not present else "drained" if all(drained(r) for r in present) else "other"
        if not timeline or timeline[-1][1] != kind:
            timeline.append((time.monotonic() - t0, kind))
        return kind == "gone"

    wait_until(observe, timeout=HOLD + 15, interval=0.05, what="drain then withdraw")
    kinds = [k for _, k in timeline]
    print(f"[{speaker} {method} {trigger}] peer timeline: " + ", ".join(f"{k}@{t:.2f}s" for t, k in timeline))
    assert "drained" in kinds, "the peer never saw the drain attributes"
    first_drained = next(t for t, k in timeline if k == "drained")
    t_gone = timeline[-1][0]
    assert kinds.index("drained") < kinds.index("gone")
    assert kinds[kinds.index("drained") :] == ["drained", "gone"]  # never plain again in between
    assert first_drained <= 2.0
    # the hold runs from the drain, which starts after the trigger (t0); the peer may see the
    # drain's UPDATE late (1.1 s once on a busy machine), so count the hold from the trigger
    assert t_gone >= HOLD - 0.5, (t_gone, first_drained)
    assert t_gone <= HOLD + 3.0
    st = s.ctl("status")
    assert st["state"] == "drained" and st["applied"] == "withdrawn" and st["maintenance"] is True

    t1 = time.monotonic()
    if trigger == "ctl":
        assert s.ctl("undrain")["ok"] is True
    else:
        s.drain_file.unlink()
    wait_until(s.routes, lambda r: all(plain(x) for x in r), timeout=15, what="plain announcement back")
    print(f"[{speaker} {method} {trigger}] undrain: plain route back after {time.monotonic() - t1:.2f} s")
    # the speaker reconfigured its policy in place: no BGP session went down on the way
    assert s.peer.sessions() == sessions_before
    states = [(e["from"], e["to"], e["action"]) for e in s.events("state")]
    assert states[-3:] == [
        ("up", "draining", "drain"),
        ("draining", "drained", "withdraw"),
        ("drained", "up", "announce"),
    ]


@pytest.mark.parametrize("speaker", SPEAKERS)
def test_clean_shutdown_withdraws(lab: NetnsLab, speaker: str) -> None:
    s = start_all(lab, speaker)
    assert s.agent is not None
    t0 = time.monotonic()
    os.kill(s.agent.pid, signal.SIGTERM)
    wait_until(s.routes, lambda r: r == (None, None), timeout=15, what="withdrawn after SIGTERM")
    print(f"[{speaker}] withdrawn at the peer {time.monotonic() - t0:.2f} s after SIGTERM to the agent")
    assert s.agent.wait(15) == 0
    last = s.events("state")[-1]
    assert (last["to"], last["action"]) == ("stopped", "withdraw") and last["reason"] == "SIGTERM"
    assert s.events()[-1] == {**s.events()[-1], "event": "exit", "withdrawn": True}
    assert s.dns_answers()  # the DNS service itself was untouched: only the agent stopped


@pytest.mark.parametrize("speaker", SPEAKERS)
def test_failed_speaker_commands_are_logged_and_retried(lab: NetnsLab, speaker: str) -> None:
    """The agent starts before its BGP speaker: every failed command is logged with the
    speaker's message and retried; once the speaker is up the prefixes reach the peer."""
    s = build_site(lab, speaker, start_speaker=False)
    s.start_dns()
    s.start_agent()
    wait_until(lambda: len(s.events("retry")) >= 2, timeout=15, what="retries logged")
    errors = s.events("speaker_error")
    failed = [e for e in s.events("speaker") if not e["ok"]]
    assert errors and failed and all(e["rc"] != 0 and e["output"] for e in failed)
    print(f"[{speaker}] before the speaker runs: {len(failed)} failed commands, e.g. {failed[0]['output']!r}")
    t0 = time.monotonic()
    s.extra["start_speaker"]()
    back = wait_until(s.routes, lambda r: all(plain(x) for x in r), timeout=30, what="prefixes at the peer")
    print(f"[{speaker}] prefixes at the peer {time.monotonic() - t0:.2f} s after the speaker started")
    assert back.value[0] is not None
    applied = s.events("applied")
    assert applied and applied[-1]["announcement"] == "announced"
    assert applied[-1]["mono"] > errors[-1]["mono"]


PRIMARY = "192.0.2.1"  # the hidden primary's address, on lo in the site namespace for this test


def test_serial_lag_beyond_grace_withdraws_and_catching_up_announces(lab: NetnsLab) -> None:
    grace = 2.0
    serial_yaml = (
        f"serial:\n  zone: example.net.\n  primary: {PRIMARY}:53\n  grace: {grace}\n  interval: 0.5\n"
    )
    s = build_site(lab, "bird", serial_yaml=serial_yaml)
    s.site.add_address("lo", f"{PRIMARY}/32")
    primary_zone = lab.tmpdir / "primary.zone"
    primary_zone.write_text(ZONE.replace("2026112101", "2026112105"))  # 4 serials ahead
    lab.spawn(
        s.site,
        [
            str(VENV_BIN / "dnsnode"),
            "serve",
            "--listen",
            f"{PRIMARY}:53",
            "--zone",
            f"example.net={primary_zone}",
        ],
        log=lab.tmpdir / "primary.out",
    )
    wait_until(lambda: s.dns_answers(PRIMARY, "2026112105"), timeout=30, what="primary answers")
    s.start_dns()
    s.start_agent()
    # healthy answers announce at once; the lag withdraws once it has lasted longer than grace
    up = wait_until(s.routes, lambda r: all(r), timeout=30, what="announced")
    t_up = time.monotonic()
    gone = wait_until(s.routes, lambda r: r == (None, None), timeout=grace + 10, what="withdrawn for lag")
    lagged = time.monotonic() - t_up
    print(f"[bird] announced after {up.elapsed:.2f} s, withdrawn for serial lag {lagged:.2f} s later")
    assert gone.value == (None, None)
    down = [e for e in s.events("state") if e["to"] == "down"]
    assert down and "serial 4 behind the primary" in down[-1]["reason"]
    assert s.events("serial")[-1]["lag"] == 4

    # the site catches up (its zone file gets the primary's serial, dnsnode reloads it)
    s.zone_file.write_text(ZONE.replace("2026112101", "2026112105"))
    subprocess.run(
        [str(VENV_BIN / "dnsnode"), "ctl", "--socket", str(lab.tmpdir / "dnsnode.sock"), "reload"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    t0 = time.monotonic()
    wait_until(s.routes, lambda r: all(plain(x) for x in r), timeout=15, what="announced again")
    print(f"[bird] announced again {time.monotonic() - t0:.2f} s after the site caught up")
    assert s.events("serial")[-1]["stale"] is False
