"""Run `dnsnode serve`: one process, or a parent with --workers N serving processes."""

from __future__ import annotations

from dnsnode.net.server import Server
from dnsnode.ops.config import ServerConfig
from dnsnode.ops.log import EventLog


def run_server(config: ServerConfig, log: EventLog) -> int:
    server = Server(config, log)
    server.install_signals()
    server.load_all()
    if config.workers > 1:
        from dnsnode.net.workers import WorkerPool

        pool = WorkerPool(server)
        pool.spawn()  # forks before any thread exists; children never return from here
        server.start_transfers()
        server.start_steering()
        server.start_control()
        server.start_metrics()
        log.event("serving", pid=server_pid(), workers=config.workers, identity=config.identity)
        try:
            server.run_until_stopped()
        finally:
            server.stop()
            pool.stop()
        return 0
    try:
        server.start_listeners()
    except OSError as exc:
        log.event("listen_failed", error=repr(exc))
        return 1
    server.start_transfers()
    server.start_steering()
    server.start_control()
    server.start_metrics()
    log.event("serving", pid=server_pid(), workers=1, identity=config.identity)
    try:
        server.run_until_stopped()
    finally:
        server.stop()
    return 0


def server_pid() -> int:
    import os

    return os.getpid()
