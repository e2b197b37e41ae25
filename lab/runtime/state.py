"""The lab's state file: every namespace, link, process and file a lab creates, written first.

Each thing is recorded as an *intent* before it is created and marked *created* after, so a
controller killed with SIGKILL at any moment leaves a file that says exactly what may exist.
`lab down` / `lab cleanup` remove what the file names and nothing else. Writes are atomic
(temp file + rename): a reader never sees half a file.

Several processes may hold one lab's state at once (`lab up`, a scenario's probe starter,
`lab runbook` helpers run by Ansible). Every write therefore takes an flock on `state.lock`,
re-reads the file and merges by item uid before writing, so no process drops another's
records; for an item both know, the later lifecycle status wins (intent < created < removed).

    /run/anycast-lab/<lab>/state.json
    {"lab": "workshop", "runtime": "netns", "topology": "...", "controller": {"pid":..,"start":..},
     "items": [{"kind": "netns", "id": "workshop-ta1", "status": "created", ...}, ...]}

Kinds: netns (a namespace), link (a veth pair or a LAN member; gone with its namespaces),
proc (pid + start time in clock ticks from /proc/PID/stat), dir and file (paths outside the
run directory, which itself is removed last), sysctl (a host threshold raised by a delta,
taken back at teardown: lab.runtime.neigh); for a clab lab deployed by the docker stand-in
(lab.runtime.clab.docker_deployer): container and network (by name), veth (a temporary host-side name
between creating a pair and moving it into its containers).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

Kind = Literal["netns", "link", "proc", "dir", "file", "container", "network", "veth", "sysctl"]
Status = Literal["intent", "created", "removed"]
STATE_FILE = "state.json"
_RANK: dict[str, int] = {"intent": 0, "created": 1, "removed": 2}


@dataclass
class Item:
    kind: Kind
    id: str  # netns name, link id, "<node>/<proc name>", or a path
    status: Status = "intent"
    data: dict[str, Any] = field(default_factory=dict)  # pid/start/node/argv, link ends, ...
    uid: str = field(default_factory=lambda: secrets.token_hex(8), compare=False)  # across processes


_ITEM_FIELDS = fields(Item)


@dataclass
class LabState:
    lab: str
    runtime: str
    run_dir: str
    topology: str = ""
    force_daemon: str | None = None
    deployer: str = ""  # clab: "containerlab" or "docker" (who deployed it: who destroys it)
    controller: dict[str, int] = field(default_factory=dict)
    phase: str = "creating"  # creating -> up -> destroying
    items: list[Item] = field(default_factory=list)

    def find(self, kind: Kind, ident: str) -> Item | None:
        return next((i for i in self.items if i.kind == kind and i.id == ident), None)

    def of(self, kind: Kind, *statuses: Status) -> list[Item]:
        return [i for i in self.items if i.kind == kind and (not statuses or i.status in statuses)]

    def to_json(self) -> dict[str, Any]:
        # by hand, not dataclasses.asdict: that deep-copies every item's data (argv lists), and
        # the file is written after every change (a 500-router lab holds ~3000 items)
        top = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "items"}
        return {**top, "items": [{f.name: getattr(i, f.name) for f in _ITEM_FIELDS} for i in self.items]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LabState:
        items = [Item(**i) for i in data.pop("items", [])]
        return cls(**data, items=items)


class StateFile:
    """A LabState persisted after every change; thread-safe (runtimes start things in parallel)."""

    def __init__(self, path: Path, state: LabState) -> None:
        self.path = path
        self.state = state
        self._lock = threading.RLock()

    @classmethod
    def load(cls, path: Path) -> StateFile:
        return cls(path, LabState.from_json(json.loads(path.read_text())))

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        with open(self.path.with_name("state.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _merge_from_disk(self) -> None:
        """Take in what other processes recorded since we last read the file."""
        try:
            disk = LabState.from_json(json.loads(self.path.read_text()))
        except (FileNotFoundError, ValueError):
            return
        mine = {item.uid: item for item in self.state.items}
        for theirs in disk.items:
            item = mine.get(theirs.uid)
            if item is None:
                self.state.items.append(theirs)
            elif _RANK[theirs.status] > _RANK[item.status]:
                item.status = theirs.status
                item.data = {**item.data, **theirs.data}

    def save(self) -> None:
        with self._lock, self._file_lock():
            self._merge_from_disk()
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            # compact: json's C encoder (indent= falls back to its pure-Python one); `jq .` reads it
            tmp.write_text(json.dumps(self.state.to_json()))
            os.replace(tmp, self.path)

    def intend(self, items: Iterable[Item]) -> list[Item]:
        """Record things about to be created (one write for the whole batch)."""
        with self._lock:
            batch = list(items)
            live = {(i.kind, i.id) for i in self.state.items if i.status != "removed"}
            for item in batch:
                if (item.kind, item.id) in live:
                    raise ValueError(f"{item.kind} {item.id} is already recorded in {self.path}")
                live.add((item.kind, item.id))
                self.state.items.append(item)
            self.save()
            return batch

    def mark(self, items: Iterable[Item], status: Status, **data: Any) -> None:
        with self._lock:
            for item in items:
                item.status = status
                item.data.update(data)
            self.save()

    def set_phase(self, phase: str) -> None:
        with self._lock:
            self.state.phase = phase
            self.save()
