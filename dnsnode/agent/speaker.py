"""What every BGP speaker driver offers the agent, and running its commands with a log line each."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from dnsnode.agent.events import EventLog
from dnsnode.agent.state import Announcement


class SpeakerError(RuntimeError):
    """A speaker command failed or its result was not the one asked for; the agent retries."""


@dataclass(frozen=True)
class DrainAttrs:
    """How a draining announcement is made unattractive (RFC 8326 or AS-path prepends)."""

    method: str  # "community" | "prepend"
    prepend: int = 3
    asn: int | None = None


@dataclass(frozen=True)
class CommandResult:
    argv: list[str]
    rc: int  # -1: timed out, 127: program not found
    output: str
    elapsed: float

    @property
    def ok(self) -> bool:
        return self.rc == 0


class Speaker(Protocol):
    kind: str

    async def apply(self, ann: Announcement) -> None:
        """Make the speaker show exactly ann; idempotent; raise SpeakerError if not done."""
        ...

    async def drift(self, ann: Announcement) -> str | None:
        """Read the speaker's actual state (cheap: one or two read-only commands): None if it
        shows ann, else what differs. Raise SpeakerError if the speaker cannot be read. The
        agent calls it every `reconcile_interval` s, so a restarted speaker that lost the
        agent's runtime changes (FRR: vtysh changes are not in frr.conf) is noticed."""
        ...


async def run_command(
    argv: Sequence[str], timeout: float, events: EventLog, speaker: str, log_ok: bool = True
) -> CommandResult:
    """Run one speaker command, log it with its result, return the result. log_ok=False logs
    failures only (the periodic read-only reconcile would otherwise add a line every few s)."""
    start = time.monotonic()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
    except FileNotFoundError as exc:
        res = CommandResult(list(argv), 127, str(exc), time.monotonic() - start)
    else:
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
            res = CommandResult(list(argv), proc.returncode or 0, out.decode(errors="replace"), 0.0)
        except TimeoutError:
            proc.kill()  # our own child, by its PID
            await proc.wait()
            res = CommandResult(list(argv), -1, f"timed out after {timeout:g} s", 0.0)
        except asyncio.CancelledError:
            # shutting down mid-command: do not leave it running beside the final withdraw
            # (which re-reads the speaker's state, so a half-applied change is reconciled)
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            raise
        res = CommandResult(res.argv, res.rc, res.output, time.monotonic() - start)
    if res.ok and not log_ok:
        return res
    events.emit(
        "speaker",
        speaker=speaker,
        cmd=res.argv,
        rc=res.rc,
        ok=res.ok,
        elapsed=round(res.elapsed, 4),
        output=res.output.strip()[-500:],
    )
    return res
