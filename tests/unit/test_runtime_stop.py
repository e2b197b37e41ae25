"""Stopping a recorded process, on both runtimes' terms, without a lab: the netns runtime by
the PID and start time in the state file, the clab runtime by the record its shell scripts
keep in the node directory (run here with the host's /bin/sh on real processes: the same
scripts run inside the containers). A record whose start time no longer matches (a recycled
PID) is never signalled."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lab.runtime import procs
from lab.runtime.base import NotRecorded
from lab.runtime.clab.runtime import IMAGE_VENV, OURS_SH, PROCS_SH, SIGNAL_SH, START_SH, node_argv
from lab.runtime.netns import NetnsRuntime
from lab.runtime.state import Item, LabState, StateFile


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sleep", "60"], start_new_session=True)


def test_netns_stop_signals_the_recorded_process_and_marks_it_removed(tmp_path: Path) -> None:
    sf = StateFile(tmp_path / "state.json", LabState(lab="t1", runtime="netns", run_dir=str(tmp_path)))
    p = _sleeper()
    st = procs.start_time(p.pid)
    (item,) = sf.intend([Item("proc", "a/sleeper", data={"node": "a"})])
    sf.mark([item], "created", pid=p.pid, start=st)
    rt = NetnsRuntime(sf)
    assert rt.running("a", "sleeper")
    assert rt.stop("a", "sleeper", signal.SIGTERM, timeout=5) is True
    assert not procs.is_ours(procs.ProcId(p.pid, st or 0))  # gone (and reaped by stop)
    assert not rt.running("a", "sleeper")
    assert StateFile.load(sf.path).state.find("proc", "a/sleeper").status == "removed"  # type: ignore[union-attr]
    with pytest.raises(NotRecorded):
        rt.stop("a", "sleeper")


def test_netns_never_signals_a_recycled_pid(tmp_path: Path) -> None:
    sf = StateFile(tmp_path / "state.json", LabState(lab="t1", runtime="netns", run_dir=str(tmp_path)))
    p = _sleeper()
    try:
        (item,) = sf.intend([Item("proc", "a/old")])
        sf.mark([item], "created", pid=p.pid, start=(procs.start_time(p.pid) or 0) - 1)  # another start
        rt = NetnsRuntime(sf)
        assert not rt.running("a", "old")
        assert rt.signal("a", "old", signal.SIGKILL) is False
        assert p.poll() is None  # untouched
    finally:
        p.kill()
        p.wait()


def _sh(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", script, "sh", *args], capture_output=True, text=True, timeout=30)


def test_clab_scripts_start_record_signal_and_forget(tmp_path: Path) -> None:
    rec = tmp_path / "sleeper.lab-pid"
    res = _sh(START_SH, str(rec), str(tmp_path), str(tmp_path / "sleeper.out"), "sleep", "60")
    assert res.returncode == 0, res.stderr
    pid, start = (int(x) for x in rec.read_text().split())
    assert procs.start_time(pid) == start
    assert _sh(OURS_SH + 'ours "$1"', str(rec)).returncode == 0
    # a second start of the same name is refused while the first runs
    again = _sh(START_SH, str(rec), str(tmp_path), str(tmp_path / "x.out"), "sleep", "60")
    assert again.returncode == 6 and "already running" in again.stderr
    listed = _sh(PROCS_SH, str(tmp_path)).stdout.split()
    assert listed[:3] == ["sleeper", str(pid), "1"]
    assert _sh(SIGNAL_SH, str(rec), str(int(signal.SIGTERM)), "250").returncode == 0
    assert not procs.is_ours(procs.ProcId(pid, start))
    assert not rec.exists()  # the record goes with the process
    assert _sh(SIGNAL_SH, str(rec), "15", "1").returncode == 3  # never recorded (any more)


def test_clab_scripts_never_signal_a_recycled_pid(tmp_path: Path) -> None:
    p = _sleeper()
    try:
        rec = tmp_path / "old.lab-pid"
        rec.write_text(f"{p.pid} {(procs.start_time(p.pid) or 0) - 1}\n")
        assert _sh(SIGNAL_SH, str(rec), str(int(signal.SIGKILL)), "0").returncode == 4
        assert p.poll() is None and not rec.exists()
    finally:
        p.kill()
        p.wait()


def test_host_venv_programs_run_as_the_images_own() -> None:
    host = str(Path(sys.executable).parent / "dnsnode")
    assert node_argv([host, "agent", "ctl"]) == [str(IMAGE_VENV / "bin" / "dnsnode"), "agent", "ctl"]
    assert node_argv([sys.executable, "-m", "lab.observe.probe"])[0] == str(
        IMAGE_VENV / "bin" / Path(sys.executable).name
    )
    assert node_argv(["/usr/lib/frr/bgpd", "-f", "x"]) == ["/usr/lib/frr/bgpd", "-f", "x"]
