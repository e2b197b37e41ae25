"""The public Python API of a running lab, for users' own tests (the pytest plugin's
`anycast_lab` fixture is one of these) and for `lab verify`.

    lab = AnycastLab.up("my-topology.yml")           # or AnycastLab.open("ws")
    before = lab.catchment()                          # measured now: client -> site
    with lab.faults.withdraw("rio"):                  # undone on exit, however the block ends
        secs = lab.wait_catchment(lab.predict(without=["rio"]), timeout=20)
    lab.wait_catchment(before, timeout=20)
    lab.node("ta1").vtysh_json("show bgp summary json")
    report = lab.run_scenario("withdraw-rio.yml"); assert report.ok, report.problems
    lab.down()
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lab.daemons import driver_of, speaker
from lab.daemons.base import BestPath, Route, SessionState
from lab.errors import LabError
from lab.faults import agent, hijacks, link, policy, process
from lab.faults.base import FaultEvent
from lab.measure.report import ScenarioReport
from lab.measure.tradeoff import SweepReport
from lab.observe.catchment import Catchment, measure
from lab.orchestrate import lifecycle
from lab.orchestrate.converge import Snapshot, snapshot, wait_converged
from lab.orchestrate.handle import LabHandle
from lab.orchestrate.provider import RuntimeChoice
from lab.poll import NotYet, PollTimeout, wait_until
from lab.predict.changes import Change, LinkDown, NodeDown, Withdrawn, client_catchments
from lab.scenarios import get, run
from lab.scenarios.scenario import Scenario
from lab.scenarios.sweep import run_sweep

Sites = dict[str, str | None]


class CatchmentMismatch(AssertionError):
    """wait_catchment's deadline passed: says what was wanted and what was measured last."""


@dataclass
class Node:
    """One node of the running lab, as FRR topotests' router handles: its daemon's CLI and state."""

    h: LabHandle
    name: str

    def exec(self, argv: list[str], timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        return self.h.runtime.exec(self.name, argv, timeout=timeout)

    def _cli(self, daemon: str, command: str) -> str:
        n = self.h.lab.nodes[self.name]
        if n.daemon != daemon:
            raise LabError(f"{self.name} runs {n.daemon or 'no BGP daemon'}, not {daemon}")
        res = self.exec(driver_of(n).cli_argv(self.h.dir / self.name, command))
        if res.returncode != 0:
            raise LabError(f"{self.name}: {daemon}: {command!r}: {res.stderr.strip() or res.stdout.strip()}")
        return res.stdout

    def vtysh(self, command: str) -> str:
        """FRR's vtysh, text."""
        return self._cli("frr", command)

    def vtysh_json(self, command: str) -> object:
        """FRR's vtysh with `json` output, parsed (add ` json` to the command yourself)."""
        return json.loads(self.vtysh(command) or "{}")

    def birdc(self, command: str) -> str:
        """BIRD's birdc, text."""
        return self._cli("bird", command)

    def sessions(self) -> list[SessionState]:
        return speaker(self.h.lab.nodes[self.name], self.h.dir / self.name).sessions()

    def best(self, prefix: str) -> BestPath:
        return speaker(self.h.lab.nodes[self.name], self.h.dir / self.name).best(prefix)

    def routes(self, prefix: str) -> list[Route]:
        """Every route it holds for `prefix`, with local-pref and communities."""
        return speaker(self.h.lab.nodes[self.name], self.h.dir / self.name).routes(prefix)


class Faults:
    """Every fault primitive; each returns its event, a context manager that undoes it."""

    def __init__(self, h: LabHandle) -> None:
        self.h = h

    def withdraw(self, site: str) -> FaultEvent:
        return agent.withdraw(self.h, site)

    def announce(self, site: str) -> FaultEvent:
        return agent.announce(self.h, site)

    def drain(self, site: str) -> FaultEvent:
        return agent.drain(self.h, site)

    def undrain(self, site: str) -> FaultEvent:
        return agent.undrain(self.h, site)

    def link_down(self, a: str, b: str) -> FaultEvent:
        return link.link_down(self.h, a, b)

    def link_up(self, a: str, b: str) -> FaultEvent:
        return link.link_up(self.h, a, b)

    def loss(self, a: str, b: str, pct: float) -> FaultEvent:
        return link.loss(self.h, a, b, pct)

    def stop_dns(self, site: str) -> FaultEvent:
        return process.stop_dns(self.h, site)

    def start_dns(self, site: str) -> FaultEvent:
        return process.start_dns(self.h, site)

    def kill_bgp(self, node: str) -> FaultEvent:
        return process.kill_bgp(self.h, node)

    def kill_node(self, node: str) -> FaultEvent:
        return process.kill_node(self.h, node)

    def prepend(self, node: str, count: int, peer: str | None = None) -> FaultEvent:
        return policy.prepend(self.h, node, count, peer)

    def med(self, node: str, peer: str, value: int) -> FaultEvent:
        return policy.med(self.h, node, peer, value)

    def local_pref(self, node: str, peer: str, value: int) -> FaultEvent:
        return policy.local_pref(self.h, node, peer, value)

    def community(self, node: str, peer: str, communities: list[str]) -> FaultEvent:
        return policy.community(self.h, node, peer, communities)

    def hijack(self, rogue: str | None = None) -> FaultEvent:
        return hijacks.hijack(self.h, rogue)

    def rov(self, node: str, on: bool = True) -> FaultEvent:
        return hijacks.rov(self.h, node, on)


class AnycastLab:
    def __init__(self, handle: LabHandle) -> None:
        self.handle = handle
        self.faults = Faults(handle)

    @classmethod
    def up(
        cls,
        topology: str | Path,
        name: str | None = None,
        choice: RuntimeChoice | None = None,
        timeout: float | None = None,
    ) -> AnycastLab:
        return cls(lifecycle.up(topology, name, timeout=timeout, choice=choice).handle)

    @classmethod
    def open(cls, name: str | None = None) -> AnycastLab:
        return cls(lifecycle.open_lab(name))

    def down(self) -> None:
        td = lifecycle.down(self.name)
        if td.errors:
            raise LabError(f"lab {self.name}: teardown incomplete: {'; '.join(td.errors)}")

    @property
    def name(self) -> str:
        return self.handle.name

    @property
    def clients(self) -> list[str]:
        return [n.name for n in self.handle.lab.of_kind("client")]

    @property
    def sites(self) -> list[str]:
        return [n.name for n in self.handle.lab.of_kind("site")]

    def node(self, name: str) -> Node:
        if name not in self.handle.lab.nodes:
            raise LabError(f"no node {name!r} in lab {self.name}; nodes: {', '.join(self.handle.lab.nodes)}")
        return Node(self.handle, name)

    # -- what users get --------------------------------------------------------------------
    def measure(self) -> Catchment:
        """Every client's and resolver's site over IPv4 and IPv6 (dig +nsid), with RTTs."""
        return Catchment.of(self.handle.lab, measure(self.handle.lab, self.handle.runtime))

    def catchment(self, family: int = 4) -> Sites:
        """Measured now: client -> site (None: no answer)."""
        m = self.measure()
        return {c: (p.site if family == 4 else p.site6) for c, p in m.clients.items()}

    def predict(
        self,
        without: Iterable[str] = (),
        links_down: Iterable[tuple[str, str]] = (),
        nodes_down: Iterable[str] = (),
        changes: Iterable[Change] = (),
    ) -> Sites:
        """The model's catchment with sites withdrawn, links cut, nodes dead, or other changes."""
        all_changes: list[Change] = [Withdrawn(frozenset(without))] if without else []
        all_changes += [LinkDown(a, b) for a, b in links_down] + [NodeDown(n) for n in nodes_down]
        return client_catchments(self.handle.lab, [*all_changes, *changes])

    def wait_catchment(self, want: Sites, timeout: float, families: tuple[int, ...] = (4, 6)) -> float:
        """Poll until every client is measured at its site in `want` (each family); the seconds it
        took. CatchmentMismatch with what was measured last when the deadline passes."""

        def look() -> dict[int, Sites]:
            m = self.measure()
            got = {
                4: {c: p.site for c, p in m.clients.items()},
                6: {c: p.site6 for c, p in m.clients.items()},
            }
            if any({c: got[f].get(c) for c in want} != want for f in families):
                raise NotYet(got)
            return got

        try:
            return wait_until(look, timeout=timeout, interval=0.2, what="catchment").elapsed
        except PollTimeout as exc:
            raise CatchmentMismatch(
                f"catchment {want} not measured within {timeout:g} s; last: {exc.last}"
            ) from None

    def status(self) -> Snapshot:
        return snapshot(self.handle)

    def wait_converged(self, timeout: float = 60.0) -> float:
        return wait_converged(self.handle, timeout)[1]

    # -- scenarios and the one verdict --------------------------------------------------------
    def scenario(self, name_or_file: str | Path) -> Scenario:
        return get(name_or_file)

    def run_scenario(self, scenario: str | Path | Scenario) -> ScenarioReport | SweepReport:
        """Run it here (probes, faults, measurement, undo, restore); the report carries the
        verdict (`report.ok`, `report.problems`). A swept scenario (`sweep:`) runs once per
        value and gives one report of every run."""
        sc = scenario if isinstance(scenario, Scenario) else get(scenario)
        return run_sweep(self.handle, sc) if sc.sweep_ttls else run(self.handle, sc)
