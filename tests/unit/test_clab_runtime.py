"""The clab runtime's command construction and its refusal without containerlab (no docker)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from lab.cli.main import main
from lab.orchestrate import handle
from lab.runtime.clab.runtime import (
    INSTALL_HINT,
    ClabError,
    ContainerlabCLI,
    deploy_argv,
    destroy_argv,
    loss_script,
    timed_argv,
)

ROOT = Path(__file__).resolve().parents[2]


def test_deploy_and_destroy_commands() -> None:
    topo = Path("/run/anycast-lab/w/w.clab.yml")
    exe = "/usr/bin/containerlab"
    assert deploy_argv(exe, topo) == [exe, "deploy", "--topo", str(topo)]
    assert destroy_argv("clab", topo) == ["clab", "destroy", "--topo", str(topo), "--cleanup"]


def test_exec_is_bounded_inside_the_container() -> None:
    assert timed_argv(["dig", "@198.51.100.53", "lab.example"], 2.5) == [
        "timeout", "-k", "1", "2.5", "dig", "@198.51.100.53", "lab.example",
    ]  # fmt: skip


def test_loss_rules_match_the_netns_runtime() -> None:
    script = loss_script("ip6tables", "eth2", 12.5)
    assert "ip6tables -t raw -A PREROUTING -i eth2 -j LAB-LOSS-eth2" in script
    assert "--probability 0.125000 -j DROP" in script
    assert "DROP" not in loss_script("iptables", "eth2", 0.0)  # 0 %: the chain is flushed, nothing added


def test_missing_containerlab_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ClabError) as exc:
        ContainerlabCLI().deploy(Path("/tmp/x.clab.yml"))
    assert "get.containerlab.dev" in str(exc.value) and "lab up TOPO" in str(exc.value)


def test_lab_up_clab_without_containerlab_fails_cleanly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(handle, "RUN_ROOT", tmp_path)
    rc = main(["up", str(ROOT / "topologies" / "workshop.yml"), "--runtime", "clab", "--name", "nocl"])
    assert rc == 1
    assert INSTALL_HINT.splitlines()[0] in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing half-created


def _fake_containerlab(tmp_path: Path, deploy_rc: int) -> tuple[str, Path]:
    """A stand-in binary that records its arguments: checks what the runtime asks for."""
    calls = tmp_path / "calls"
    exe = tmp_path / "containerlab"
    exe.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n[ "$1" = deploy ] && exit {deploy_rc}\nexit 0\n')
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return str(exe), calls


def test_a_failed_deploy_is_destroyed(tmp_path: Path) -> None:
    exe, calls = _fake_containerlab(tmp_path, deploy_rc=1)
    topo = tmp_path / "w.clab.yml"
    with pytest.raises(ClabError, match="deploy"):
        ContainerlabCLI(exe).deploy(topo)
    assert calls.read_text().splitlines() == [f"deploy --topo {topo}", f"destroy --topo {topo} --cleanup"]


def test_a_good_deploy_runs_once(tmp_path: Path) -> None:
    exe, calls = _fake_containerlab(tmp_path, deploy_rc=0)
    ContainerlabCLI(exe).deploy(tmp_path / "w.clab.yml")
    assert calls.read_text().splitlines() == [f"deploy --topo {tmp_path / 'w.clab.yml'}"]
    assert os.access(exe, os.X_OK) and subprocess.run([exe, "x"]).returncode == 0
