"""Run the dashboard of one lab: uvicorn in this process, bound to localhost unless told
otherwise (and then loudly). It ends on Ctrl-C / SIGTERM, or by itself when the lab is torn
down elsewhere; either way its probes are stopped, their files removed, and the faults
applied from the page undone."""

from __future__ import annotations

import errno
import ipaddress
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn

from lab.dashboard.app import Dashboard, build, vendor_missing
from lab.dashboard.hub import Hub
from lab.dashboard.live import LiveLab
from lab.errors import LabError
from lab.orchestrate.handle import LabHandle

DEFAULT_PORT = 8470
DEFAULT_BIND = "127.0.0.1"
GRACE = 3  # seconds uvicorn gives open event streams at shutdown


@dataclass(frozen=True)
class Options:
    bind: str = DEFAULT_BIND
    port: int = DEFAULT_PORT
    probe_interval: float = 0.05


def is_loopback(bind: str) -> bool:
    if bind == "localhost":
        return True
    try:
        return ipaddress.ip_address(bind).is_loopback
    except ValueError:
        return False


def exposure_warning(bind: str, port: int, lab: str) -> str | None:
    if is_loopback(bind):
        return None
    return (
        f"WARNING: the dashboard of lab {lab} listens on {bind}:{port}, not on localhost.\n"
        f"WARNING: anyone who reaches that address can withdraw sites, kill daemons and cut links.\n"
        f"WARNING: bind {DEFAULT_BIND} (the default) unless a room of trusted machines needs it."
    )


def check_port(bind: str, port: int) -> None:
    """Fail with the fix before starting anything: another dashboard may hold the port."""
    fam = socket.AF_INET6 if ":" in bind else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((bind, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise LabError(
                    f"port {port} on {bind} is in use (another lab's dashboard?): --port {port + 1}"
                ) from None
            raise LabError(f"cannot listen on {bind}:{port}: {exc.strerror}") from None


class Stop(Exception):
    """SIGTERM, as uvicorn raises it again once it has shut the app down."""


def _stop(signum: int, frame: object) -> None:
    raise Stop()


def serve(h: LabHandle, opts: Options, say: Callable[[str], None] = print) -> int:
    check_port(opts.bind, opts.port)
    warn = exposure_warning(opts.bind, opts.port, h.name)
    if warn:
        print(warn, file=sys.stderr)
    missing = vendor_missing()
    if missing:
        print(f"lab dashboard: {missing}", file=sys.stderr)
    hub = Hub()
    live = LiveLab(h, hub, opts.probe_interval)
    app = build(Dashboard(live, hub, opts.bind, opts.port))
    config = uvicorn.Config(
        app,
        host=opts.bind,
        port=opts.port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=GRACE,
    )
    server = uvicorn.Server(config)

    def lab_gone() -> None:
        say(f"lab {h.name} is gone (torn down elsewhere): the dashboard stops")
        server.should_exit = True

    live.on_gone = lab_gone
    host = f"[{opts.bind}]" if ":" in opts.bind else opts.bind
    say(f"dashboard of lab {h.name} ({h.runtime.kind}) on http://{host}:{opts.port}/ ; Ctrl-C stops it")
    # uvicorn shuts down on SIGINT/SIGTERM, then raises the signal again with the handler it
    # found: SIGTERM gets ours, so both end here (the lifespan has stopped the probes by then)
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        server.run()
    except (KeyboardInterrupt, Stop):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        errors = live.stop()  # a no-op when the lifespan did it; not when startup failed half-way
    for e in errors:
        print(f"lab dashboard: {e}", file=sys.stderr)
    if live.gone.is_set():
        say(f"dashboard of lab {h.name} stopped: the lab's teardown removed its probes with everything else")
    else:
        say(
            f"dashboard of lab {h.name} stopped: its probes are stopped and their files removed; "
            f"{live.undone_at_exit} fault(s) from the page that were still applied are undone"
        )
    return 1 if errors else 0
