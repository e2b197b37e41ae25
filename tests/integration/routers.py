"""FRR and BIRD instances inside a test namespace, every path private, stopped by PID.

    frr = FrrRouter.start(lab, ns, "site", FRR_CONF)   # zebra + bgpd in ns, files in a temp dir
    frr.vtysh("show bgp summary json")                   # -> str (vtysh --vty_socket DIR)
    frr.json("show bgp ipv4 unicast 198.51.100.0/24 json")
    bird = BirdRouter.start(lab, ns, "peer", BIRD_CONF)  # bird -f -c CONF -s SOCK in ns
    bird.birdc("show route for 198.51.100.0/24 all")

Daemons run in the foreground under `NetnsLab.spawn`, so the lab records their PIDs and kills
exactly them at teardown. FRR runs without -N: pid file, vty sockets (--vty_socket), zserv
socket (-z) and log all live in the instance dir, so nothing is left under /var/run/frr.
Readiness is polled with lab.poll.wait_until (deadline, elapsed reported).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.poll import wait_until
from tests.integration.netns import Namespace, NetnsLab

FRR_DIR = Path("/usr/lib/frr")


@dataclass
class FrrRouter:
    ns: Namespace
    name: str
    dir: Path
    daemons: tuple[str, ...] = ("bgpd",)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)  # daemon -> its process

    @classmethod
    def start(
        cls, lab: NetnsLab, ns: Namespace, name: str, config: str, daemons: tuple[str, ...] = ("bgpd",)
    ) -> FrrRouter:
        d = lab.tmpdir / f"frr-{name}"
        d.mkdir()
        # FRR drops privileges to user frr (running as root needs root in group frrvty, which
        # we do not change on the host): give frr its instance dir and a way to reach it
        lab.tmpdir.chmod(0o755)
        shutil.chown(d, "frr", "frr")
        router = cls(ns, name, d, daemons)
        (d / "frr.conf").write_text(config)
        router._run(lab)
        return router

    def pids(self) -> dict[str, int]:
        return {daemon: p.pid for daemon, p in self.procs.items()}

    def restart(self, lab: NetnsLab) -> None:
        """Stop bgpd and zebra by their recorded PIDs (SIGTERM), then start them again from
        frr.conf: whatever was configured at run time through vtysh is gone, as on a real
        `systemctl restart frr`."""
        for daemon in reversed(("zebra", *self.daemons)):
            lab.stop(self.procs.pop(daemon))
            (self.dir / f"{daemon}.vty").unlink(missing_ok=True)  # so readiness means the new one
        self._run(lab)

    def _run(self, lab: NetnsLab) -> None:
        d, name, ns, conf = self.dir, self.name, self.ns, self.dir / "frr.conf"
        zserv = d / "zserv.api"
        for daemon in ("zebra", *self.daemons):
            args = [
                str(FRR_DIR / daemon),
                "-f", str(conf),
                "-i", str(d / f"{daemon}.pid"),
                "--vty_socket", str(d),
                "-z", str(zserv),
                "--log", f"file:{d / (daemon + '.log')}",
                "-P", "0",  # no TCP vty: vtysh talks over the unix socket in d
            ]  # fmt: skip
            proc = lab.spawn(ns, args, log=d / f"{daemon}.out")
            self.procs[daemon] = proc

            def ready(dm: str = daemon, p: subprocess.Popen[bytes] = proc) -> bool:
                if p.poll() is not None:
                    raise RuntimeError(f"{name} {dm} exited: {(d / (dm + '.out')).read_text()}")
                return (d / f"{dm}.vty").exists()

            # each daemon reads the whole frr.conf and applies its own part; bgpd needs zebra's
            # zserv socket, so zebra must be listening first
            wait_until(ready, timeout=15, what=f"{name} {daemon} vty")

    def vtysh_argv(self) -> list[str]:
        return self.ns.argv(["vtysh", "--vty_socket", str(self.dir)])

    def vtysh(self, *commands: str, check: bool = True) -> str:
        argv = self.vtysh_argv()
        for c in commands:
            argv += ["-c", c]
        res = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if check and res.returncode != 0:
            raise RuntimeError(f"vtysh {commands}: rc={res.returncode}: {res.stdout}{res.stderr}")
        return res.stdout

    def json(self, command: str) -> Any:
        out = self.vtysh(command)
        return json.loads(out) if out.strip() else {}


@dataclass
class BirdRouter:
    ns: Namespace
    name: str
    dir: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return self.dir / "bird.ctl"

    @property
    def config(self) -> Path:
        return self.dir / "bird.conf"

    @classmethod
    def start(cls, lab: NetnsLab, ns: Namespace, name: str, config: str) -> BirdRouter:
        d = lab.tmpdir / f"bird-{name}"
        d.mkdir(exist_ok=True)
        router = cls(ns, name, d)
        router.config.write_text(config)
        router._run(lab)
        return router

    def restart(self, lab: NetnsLab) -> None:
        """Stop BIRD by its recorded PID (SIGTERM) and start it again from bird.conf."""
        assert self.proc is not None
        lab.stop(self.proc)
        self.socket.unlink(missing_ok=True)  # so readiness means the new daemon's socket
        self._run(lab)

    def _run(self, lab: NetnsLab) -> None:
        d = self.dir
        args = ["bird", "-f", "-c", str(self.config), "-s", str(self.socket), "-P", str(d / "bird.pid")]
        proc = self.proc = lab.spawn(self.ns, args, log=d / "bird.out")

        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"bird {self.name} exited: {(d / 'bird.out').read_text()}")
            return self.socket.exists() and "BIRD" in self.birdc("show status", check=False)

        wait_until(ready, timeout=15, what=f"bird {self.name} ready")

    def birdc(self, *args: str, check: bool = True) -> str:
        res = subprocess.run(
            self.ns.argv(["birdc", "-s", str(self.socket), *args]), capture_output=True, text=True, timeout=30
        )
        if check and res.returncode != 0:
            raise RuntimeError(f"birdc {args}: rc={res.returncode}: {res.stdout}{res.stderr}")
        return res.stdout
