"""The live lab behind the page: two worker threads and what they know.

- probes: every TICK s the new probe records are read and fed to the timelines; a node whose
  site changes is published at once (`probe`), the timeline's new pieces in one `timeline`
  event per pass. TICK + the probe's flush interval (0.25 s) bound how late the page hears of a
  change: well within the 1 s the page promises.
- routing: every ROUTING_EVERY s sessions, best paths, heard sites and processes (`routing`,
  published when they changed); link states every LINKS_EVERY s (an `ip` process per link).
- load: every load.EVERY s every site's load counters (lab.observe.load.read_all, the readings
  reports use), kept for load.WINDOW s (`/api/load`); each pass's new rates as a `load` event.

All stop when the dashboard ends (stop()), or when the lab is gone (its state file removed:
`lab down` ran elsewhere), which `gone` tells the server.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from lab.dashboard import load, routing
from lab.dashboard.actions import FaultDesk
from lab.dashboard.hub import Hub
from lab.dashboard.probing import Probing
from lab.dashboard.timeline import Run, Timelines
from lab.observe.load import read_all
from lab.orchestrate.handle import LabHandle, run_dir
from lab.runtime.state import STATE_FILE

TICK = 0.1
ROUTING_EVERY = 1.0
LINKS_EVERY = 5.0


@dataclass
class LiveLab:
    h: LabHandle
    hub: Hub
    probe_interval: float = 0.05
    probing: Probing = field(init=False)
    timelines: Timelines = field(init=False)
    desk: FaultDesk = field(init=False)
    load: load.LoadHistory = field(init=False)
    routing: dict[str, object] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    processes: dict[str, dict[str, bool]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # what a worker could not do, newest last
    gone: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)
    on_gone: Callable[[], None] | None = None
    started: bool = False
    stopped: bool = False
    stop_errors: list[str] = field(default_factory=list)
    undone_at_exit: int = 0  # faults from the page still applied when it ended, undone then

    def __post_init__(self) -> None:
        self.probing = Probing(self.h, self.probe_interval)
        self.timelines = Timelines(self.probing.timeout)
        self.desk = FaultDesk(self.h)
        self.load = load.LoadHistory(self.h.lab)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self.started = True
        self.probing.start()
        self.refresh_routing(links=True)
        loops = ((self._probe_loop, "probes"), (self._routing_loop, "routing"), (self._load_loop, "load"))
        for target, name in loops:
            t = threading.Thread(target=target, name=f"dashboard-{name}", daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self) -> list[str]:
        """Workers end, the dashboard's faults are undone, its probes stopped and their files
        removed. What could not be undone, as messages. Once: a second call returns the first's."""
        if self.stopped or not self.started:
            return self.stop_errors
        self.stopped = True
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=10)
        pending = 0 if self.gone.is_set() else len(self.desk.pending())
        self.stop_errors = [] if self.gone.is_set() else self.desk.undo_all()
        self.undone_at_exit = pending - len(self.stop_errors)
        if not self.gone.is_set():
            self.probing.stop()
        return self.stop_errors

    def _lab_exists(self) -> bool:
        return (run_dir(self.h.name) / STATE_FILE).exists()

    def _note(self, what: str, exc: BaseException) -> None:
        msg = f"{what}: {type(exc).__name__}: {exc}"
        with self.lock:
            self.errors = [*self.errors[-19:], msg]
        self.hub.publish("error", {"message": msg, "mono": time.monotonic()})

    def _lost_lab(self) -> None:
        self.gone.set()
        self.stopping.set()
        self.hub.publish("gone", {"lab": self.h.name})
        if self.on_gone is not None:
            self.on_gone()

    # -- probes ------------------------------------------------------------------------------
    def _probe_loop(self) -> None:
        while not self.stopping.wait(TICK):
            try:
                self.read_probes()
            except Exception as exc:  # a worker never dies on one bad pass: the page says why
                if not self._lab_exists():
                    self._lost_lab()
                    return
                self._note("probes", exc)

    def read_probes(self) -> None:
        records = self.probing.read()
        if not records:
            return
        runs: dict[tuple[str, str, float], Run] = {}
        lost: dict[str, list[float]] = {}
        with self.lock:
            for r in sorted(records, key=lambda r: r.mono):
                change, run, mark, row = self.timelines.feed(r)
                if change is not None:
                    self.hub.publish("probe", change.to_json())
                if run is not None:
                    runs[(row.node, row.kind, run.t0)] = run
                if mark is not None:
                    lost.setdefault(f"{row.node}/{row.kind}", []).append(round(mark, 3))
        self.hub.publish(
            "timeline",
            {
                "runs": [{"row": f"{n}/{k}", "run": run.to_json()} for (n, k, _), run in runs.items()],
                "lost": lost,
                "mono": round(time.monotonic(), 3),
            },
        )

    # -- routing -----------------------------------------------------------------------------
    def _routing_loop(self) -> None:
        last_links = time.monotonic()
        while not self.stopping.wait(ROUTING_EVERY):
            if not self._lab_exists():
                self._lost_lab()
                return
            try:
                due = time.monotonic() - last_links >= LINKS_EVERY
                self.refresh_routing(links=due)
                if due:
                    last_links = time.monotonic()
            except Exception as exc:
                self._note("routing", exc)

    def refresh_routing(self, links: bool = False) -> None:
        views = routing.collect(self.h)
        state = routing.view_json(self.h, views)
        procs = routing.processes(self.h)
        new_links = routing.link_states(self.h) if links else self.links
        with self.lock:
            changed = (
                json.dumps(state, sort_keys=True) != json.dumps(self.routing, sort_keys=True)
                or procs != self.processes
                or new_links != self.links
            )
            self.routing, self.processes, self.links = state, procs, new_links
        if changed:
            self.hub.publish("routing", self.routing_json())

    # -- load ----------------------------------------------------------------------------------
    def _load_loop(self) -> None:
        sites = max(1, len(self.h.lab.of_kind("site")))
        with ThreadPoolExecutor(sites, thread_name_prefix="dashboard-load") as pool:
            while not self.stopping.is_set():
                t = time.monotonic()
                try:
                    self.read_load(pool)
                except Exception as exc:
                    self._note("load", exc)
                if self.stopping.wait(max(0.0, load.EVERY - (time.monotonic() - t))):
                    return

    def read_load(self, pool: ThreadPoolExecutor | None = None) -> None:
        """One reading of every site; the rates it adds published as a `load` event."""
        got = read_all(self.h, pool)
        with self.lock:
            new = self.load.add(got, time.monotonic())
        self.hub.publish("load", new.to_json())

    def load_json(self) -> dict[str, object]:
        with self.lock:
            return self.load.view(time.monotonic()).to_json()

    def routing_json(self) -> dict[str, object]:
        with self.lock:
            return {
                **self.routing,
                "processes": self.processes,
                "links": self.links,
                "mono": round(time.monotonic(), 3),
            }

    def live_json(self) -> dict[str, object]:
        with self.lock:
            return {
                "lab": self.h.name,
                "mono": round(time.monotonic(), 3),
                "probe_runs": self.probing.run_ids,
                "probe_interval": self.probe_interval,
                "nodes": self.timelines.states(),
                "errors": list(self.errors),
            }

    def timeline_json(self, since: float = 0.0) -> dict[str, object]:
        with self.lock:
            return {
                "mono": round(time.monotonic(), 3),
                "rows": self.timelines.to_json(since),
                "faults": self.desk.to_json(),
            }
