"""Real clients with ECS: dig and kdig `+subnet`, many queries per run, their text output parsed
into what the steering tests compare (status, AA, the answer RRs, the echoed CLIENT-SUBNET)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

BATCH = 150  # queries per client run (one process, one query after the other)
_HEADER = re.compile(r";; ->>HEADER<<- opcode: QUERY[,;] status: (\w+)")
_FLAGS = re.compile(r";; [Ff]lags: ([a-z ]*);")
_SUBNET = re.compile(r";? ?;? ?CLIENT-SUBNET: ([0-9a-fA-F.:]+)/(\d+)/(\d+)")


@dataclass(frozen=True)
class Query:
    qname: str
    qtype: str
    subnet: str | None  # "192.0.2.1/32", or None for no ECS


@dataclass(frozen=True)
class Result:
    status: str
    aa: bool
    answer: tuple[str, ...]  # "www.example.net. 60 IN A 192.0.2.1", whitespace normalised, sorted
    subnet: tuple[str, int, int] | None  # (address, source, scope) echoed

    @property
    def scope(self) -> int:
        assert self.subnet is not None, "no CLIENT-SUBNET in the reply"
        return self.subnet[2]


def ask(tool: str, host: str, port: int, queries: list[Query], timeout: float = 60.0) -> list[Result]:
    """Each query through `tool` (dig or kdig), in order; one process per BATCH queries."""
    out: list[Result] = []
    for first in range(0, len(queries), BATCH):
        batch = queries[first : first + BATCH]
        argv = [tool, f"@{host}", "-p", str(port), "+norec"]
        argv += ["+tries=2", "+time=2", "+nocookie"] if tool == "dig" else ["+retry=1", "+timeout=2"]
        for q in batch:
            argv += [q.qname, q.qtype]
            if q.subnet is not None:
                argv.append(f"+subnet={q.subnet}")
        run = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        results = parse(run.stdout)
        if len(results) != len(batch):
            raise AssertionError(
                f"{tool}: {len(results)} replies to {len(batch)} queries (exit {run.returncode}):\n"
                f"{run.stdout[-1500:]}{run.stderr[-500:]}"
            )
        out += results
    return out


def parse(text: str) -> list[Result]:
    results: list[Result] = []
    blocks = re.split(r"(?=;; ->>HEADER<<-)", text)
    for block in blocks:
        header = _HEADER.search(block)
        if header is None:
            continue
        flags = _FLAGS.search(block)
        subnet = _SUBNET.search(block)
        answer: list[str] = []
        in_answer = False
        for line in block.splitlines():
            if line.startswith(";; ANSWER SECTION:"):
                in_answer = True
                continue
            if in_answer:
                if not line.strip() or line.startswith(";"):
                    in_answer = False
                    continue
                answer.append(" ".join(line.split()))
        results.append(
            Result(
                header.group(1),
                bool(flags and "aa" in flags.group(1).split()),
                tuple(sorted(answer)),
                (subnet.group(1), int(subnet.group(2)), int(subnet.group(3))) if subnet else None,
            )
        )
    return results
