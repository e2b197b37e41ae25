"""BIRD 2 driver: rewrite the agent-owned include file atomically, then `birdc configure`.

The file defines static protocols anycast4/anycast6 (routes only while announced) and the
function anycast_export() for the site's BGP export filters; see SPEAKERS.md.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from dnsnode.agent.config import BirdConfig, Prefix
from dnsnode.agent.events import EventLog
from dnsnode.agent.speaker import DrainAttrs, SpeakerError, run_command
from dnsnode.agent.state import WITHDRAWN, Announcement

# the agent's static routes, as `birdc show route where ...` selects them
ROUTES_FILTER = 'proto = "anycast4" || proto = "anycast6"'
# birdc's answers to a configure that BIRD accepted
CONFIGURE_OK = ("Reconfigured", "Reconfiguration in progress", "queueing new config")


def render_include(
    prefixes: Sequence[Prefix], ann: Announcement = WITHDRAWN, drain: DrainAttrs | None = None
) -> str:
    """The include file for this announcement. With the defaults: the initial "withdrawn" file
    a config renderer writes before BIRD starts."""
    lines = [
        "# Managed by the dnsnode health agent (dnsnode/agent/SPEAKERS.md): rewritten on every",
        "# state change, do not edit. Use in BGP export filters: export where anycast_export();",
        f"# state: {ann.name}",
    ]
    for proto, version, channel in (("anycast4", 4, "ipv4"), ("anycast6", 6, "ipv6")):
        lines.append(f"protocol static {proto} {{")
        lines.append(f"  {channel};")
        if ann.announce:
            # blackhole: the route exists only to be exported; the service address itself is on lo
            lines += [f"  route {p} blackhole;" for p in prefixes if p.version == version]
        lines.append("}")
    lines.append("function anycast_export() {")
    lines.append('  if proto != "anycast4" && proto != "anycast6" then return false;')
    if ann.announce and ann.drain:
        if drain is None:
            raise ValueError("a draining announcement needs drain attributes")
        if drain.method == "community":
            lines.append("  bgp_community.add((65535, 0));  # RFC 8326 GRACEFUL_SHUTDOWN")
        else:
            lines += [f"  bgp_path.prepend({drain.asn});" for _ in range(drain.prepend)]
    lines.append("  return true;")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Readers (BIRD's configure) see the old file or the new one, never a partial one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class BirdSpeaker:
    kind = "bird"

    def __init__(
        self, cfg: BirdConfig, prefixes: Sequence[Prefix], drain: DrainAttrs, events: EventLog, timeout: float
    ) -> None:
        self.cfg = cfg
        self.prefixes = list(prefixes)
        self.drain = drain
        self.events = events
        self.timeout = timeout

    async def drift(self, ann: Announcement) -> str | None:
        """The include file must be this announcement's (a renderer re-run may have reset it)
        and BIRD must hold exactly its static routes (a configure may not have happened)."""
        try:
            text = self.cfg.include_file.read_text()
        except OSError as exc:
            return f"cannot read {self.cfg.include_file}: {exc.strerror}"
        if text != render_include(self.prefixes, ann, self.drain):
            first = next((ln for ln in text.splitlines() if ln.startswith("# state:")), "# state: ?")
            return f"{self.cfg.include_file} says {first[2:]!r}, want {ann.name!r}"
        argv = [self.cfg.birdc, "-s", str(self.cfg.socket), "show", "route", "where", ROUTES_FILTER]
        res = await run_command(argv, self.timeout, self.events, self.kind, log_ok=False)
        if not res.ok:
            raise SpeakerError(f"birdc show route: rc={res.rc}: {res.output.strip()[-300:]}")
        shown = {w for ln in res.output.splitlines() for w in ln.split()[:1]}
        wrong = [str(p) for p in self.prefixes if (str(p) in shown) != ann.announce]
        if wrong:
            return f"BIRD routes {'missing' if ann.announce else 'present'}: {', '.join(wrong)}"
        return None

    async def apply(self, ann: Announcement) -> None:
        text = render_include(self.prefixes, ann, self.drain)
        try:
            write_atomic(self.cfg.include_file, text)
        except OSError as exc:
            raise SpeakerError(f"cannot write {self.cfg.include_file}: {exc}") from exc
        argv = [self.cfg.birdc, "-s", str(self.cfg.socket), "configure"]
        res = await run_command(argv, self.timeout, self.events, self.kind)
        if not res.ok or not any(s in res.output for s in CONFIGURE_OK):
            raise SpeakerError(f"birdc configure: rc={res.rc}: {res.output.strip()[-300:]}")
