"""Where dnsnode spends its time under dnsperf load: py-spy samples per query mix.

    .venv/bin/python bench/profile_dnsnode.py [--seconds 6] [--mixes existing,nxdomain] [--out DIR]

dnsnode (one process) is pinned to the first core, dnsperf to the last, as in bench_dns.py.
For each mix, py-spy records the serving process while dnsperf loads it, and the table shows
the functions with the most samples: "self" (the function itself was running) and "total"
(it was on the stack). --idle counts threads blocked in syscalls (recvfrom/sendto) too.
Needs py-spy (`.venv/bin/pip install py-spy`); --out keeps the raw stacks and flame graphs.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import as the package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.table import Table

from bench import dnsperf_run, servers, zonegen
from bench.procfs import usable_cpus

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::(?P<line>\d+))?\)$")


@dataclass
class Profile:
    mix: str
    samples: int
    qps: float  # what dnsperf measured while py-spy sampled (sampling slows the server a little)
    self_counts: collections.Counter[str]
    total_counts: collections.Counter[str]
    line_counts: collections.Counter[str]


def _short(file: str) -> str:
    for marker in ("/site-packages/", "/work/main/", "/lib/python3.11/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


def frame_key(frame: str) -> tuple[str, str]:
    """("func (file)", "func (file:line)") from a py-spy raw frame."""
    m = _FRAME.match(frame.strip())
    if m is None:
        return frame, frame
    file = _short(m["file"])
    where = f"{m['func']} ({file})"
    return where, f"{m['func']} ({file}:{m['line']})" if m["line"] else where


def parse_collapsed(
    text: str,
) -> tuple[int, collections.Counter[str], collections.Counter[str], collections.Counter[str]]:
    """Samples, self counts and total counts per function, self counts per line, from py-spy --format raw."""
    total = 0
    self_c: collections.Counter[str] = collections.Counter()
    total_c: collections.Counter[str] = collections.Counter()
    line_c: collections.Counter[str] = collections.Counter()
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f]
        if frames and frames[0].startswith(("process ", "thread ")):
            frames = [f for f in frames if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        funcs = [frame_key(f) for f in frames]
        self_c[funcs[-1][0]] += count
        line_c[funcs[-1][1]] += count
        for func in {f for f, _ in funcs}:
            total_c[func] += count
    return total, self_c, total_c, line_c


def py_spy() -> str:
    exe = Path(sys.executable).with_name("py-spy")
    found = str(exe) if exe.exists() else shutil.which("py-spy")
    if not found:
        raise SystemExit("py-spy not found: install it with `.venv/bin/pip install py-spy`")
    return found


def record(
    spy: str,
    server: servers.ServerProc,
    mix: zonegen.Mix,
    cfg: dnsperf_run.DnsperfConfig,
    args: argparse.Namespace,
) -> Profile:
    raw = Path(args.workdir) / f"profile-{mix.name}.txt"
    cmd = [spy, "record", "--pid", str(server.pid), "--duration", f"{int(args.seconds)}"]
    cmd += ["--rate", str(args.rate), "--format", "raw", "--output", str(raw), "--nonblocking"]
    if args.idle:
        cmd.append("--idle")
    # dnsperf runs a second longer on each side, so py-spy only ever sees the loaded server.
    load = dnsperf_run.DnsperfConfig(**{**cfg.__dict__, "seconds": args.seconds + 2})
    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as spy_proc:
        try:
            result = dnsperf_run.run(load, server.port, mix.path, mix.lines)
            _, err = spy_proc.communicate(timeout=args.seconds + 30)
        finally:
            if spy_proc.poll() is None:
                spy_proc.kill()
    if spy_proc.returncode != 0:
        raise RuntimeError(f"py-spy failed ({' '.join(cmd)}): {err.strip()}")
    samples, self_c, total_c, line_c = parse_collapsed(raw.read_text())
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(raw, out / raw.name)
    return Profile(mix.name, samples, result.qps, self_c, total_c, line_c)


def show(profile: Profile, top: int, console: Console) -> None:
    table = Table(
        title=f"dnsnode under dnsperf, mix {profile.mix}: {profile.samples} samples, {profile.qps:,.0f} qps"
    )
    for column in ("self %", "function (self)", "total %", "function (on stack)"):
        table.add_column(column, justify="right" if "%" in column else "left")
    selfs = profile.self_counts.most_common(top)
    totals = profile.total_counts.most_common(top)
    n = max(1, profile.samples)
    for i in range(top):
        s = selfs[i] if i < len(selfs) else ("", 0)
        t = totals[i] if i < len(totals) else ("", 0)
        table.add_row(
            f"{100 * s[1] / n:.1f}" if s[0] else "", s[0], f"{100 * t[1] / n:.1f}" if t[0] else "", t[0]
        )
    console.print(table)
    lines = ", ".join(f"{where} {100 * c / n:.1f}%" for where, c in profile.line_counts.most_common(6))
    console.print(f"  hottest lines: {lines}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=6.0, help="py-spy sampling time per mix")
    p.add_argument("--mixes", default="existing,nxdomain,wildcard,mixed")
    p.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    p.add_argument("--idle", action="store_true", help="also count threads blocked in syscalls")
    p.add_argument("--top", type=int, default=14)
    p.add_argument("--out", default="", help="keep the raw stacks here")
    args = p.parse_args(argv)
    spy = py_spy()
    console = Console(width=200)
    cpus = usable_cpus()
    with tempfile.TemporaryDirectory(prefix="profile-dnsnode-") as tmp:
        args.workdir = tmp
        data = zonegen.generate(Path(tmp))
        mixes = [m for m in data.mixes if m.name in args.mixes.split(",")]
        server = servers.start_dnsnode(Path(tmp), data.zone_file, str(cpus[0]))
        try:
            cfg = dnsperf_run.DnsperfConfig(seconds=args.seconds, cpus=str(cpus[-1]) if len(cpus) > 1 else "")
            console.print(
                f"dnsnode pid {server.pid} on CPU {cpus[0]}, answered after {server.started_in:.2f}s"
            )
            for mix in mixes:  # warm the memoised plans and renderings first: steady state is measured
                dnsperf_run.run(
                    dnsperf_run.DnsperfConfig(**{**cfg.__dict__, "seconds": 2.0}),
                    server.port,
                    mix.path,
                    mix.lines,
                )
            for mix in mixes:
                show(record(spy, server, mix, cfg, args), args.top, console)
                if not server.alive():
                    raise RuntimeError(f"dnsnode died while profiled:\n{server.log_tail()}")
        finally:
            servers.stop(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
