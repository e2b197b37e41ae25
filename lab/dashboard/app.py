"""The dashboard's web application (Starlette): the page, its JSON endpoints, the event stream.

    GET  /                      the page (static/index.html; our own JS and CSS under /static)
    GET  /vendor/cytoscape/...  cytoscape.js from lab/dashboard/web/node_modules (`make setup`)
    GET  /api/info              lab, runtime, bind address, sites' colours, service prefixes
    GET  /api/catchment         exactly what `lab catchment --json` prints (dig +nsid, now)
    GET  /api/status            exactly what `lab status --json` prints
    GET  /api/live              what every client and resolver reaches now, by the probes
    GET  /api/timeline?since=T  per node and probe kind: runs of one site, lost queries, faults
    GET  /api/routing           sessions, best paths, heard sites, processes, link states
    GET  /api/load              per site: offered, answered, dropped, attack q/s over the last minutes
    GET  /api/best?node=N       every route N holds for the service prefixes (a click on N)
    GET  /api/topology          the graph (cytoscape elements, positions from lab.topograph)
    GET  /api/faults            the fault catalog and the faults applied from this page
    POST /api/faults            {"kind": "withdraw", "args": {"site": "ams"}} -> the applied fault
    POST /api/faults/ID/undo    undo it
    GET  /api/labs              the labs running on this machine (one dashboard each)
    GET  /api/clock             the server's CLOCK_MONOTONIC (the page maps its clock to it)
    GET  /api/exercise          the workshop exercise running on this lab, if any
    POST /api/exercise/check    its check, now
    GET  /api/events            server-sent events: probe, timeline, routing, load, faults, tick, ...

POSTs need the header `X-Lab-Dashboard: 1`: a page of another origin cannot send it without
a CORS preflight, which is never granted, so no web page can inject faults through a browser.
Requests must name a Host this server is bound to (no DNS rebinding).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from lab.dashboard import routing
from lab.dashboard.actions import catalog_json
from lab.dashboard.graph import elements
from lab.dashboard.hub import Event, Hub
from lab.dashboard.live import LiveLab
from lab.errors import LabError
from lab.faults.base import FaultError
from lab.observe.catchment import Catchment, measure
from lab.orchestrate.handle import running
from lab.orchestrate.status import status_json
from lab.workshop import session as workshop

STATIC = Path(__file__).resolve().parent / "static"
VENDOR = Path(
    os.environ.get("LAB_DASHBOARD_VENDOR", Path(__file__).resolve().parent / "web" / "node_modules")
)
CYTOSCAPE = VENDOR / "cytoscape" / "dist"
TICK = 0.5  # seconds between `tick` events: the page's timeline moves on when nothing happens
POST_HEADER = "x-lab-dashboard"


def vendor_missing() -> str | None:
    if (CYTOSCAPE / "cytoscape.min.js").exists():
        return None
    return (
        f"cytoscape.js is not installed ({CYTOSCAPE / 'cytoscape.min.js'} is missing): run `make setup` "
        f"(npm ci --prefix {VENDOR.parent}), or point LAB_DASHBOARD_VENDOR at a node_modules that has it"
    )


@dataclass
class Dashboard:
    live: LiveLab
    hub: Hub
    bind: str
    port: int


class PostGuard:
    """A POST without our header is refused (403) before it reaches a handler."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            headers = dict(scope["headers"])
            if headers.get(POST_HEADER.encode()) != b"1":
                await PlainTextResponse(f"POST needs the header {POST_HEADER}: 1", 403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _json(data: object, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status)


def _error(exc: Exception, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": str(exc)}, status)


async def _body(request: Request) -> dict[str, object]:
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise FaultError(f"the body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise FaultError("the body is a JSON object")
    return data


def build(d: Dashboard) -> Starlette:
    live, hub, h = d.live, d.hub, d.live.h

    def blocking(fn: Callable[[], object]) -> Callable[[Request], Awaitable[Response]]:
        """A handler whose work talks to daemons: in a worker thread, errors as JSON."""

        async def handler(request: Request) -> Response:
            try:
                return _json(await anyio.to_thread.run_sync(fn))
            except (LabError, KeyError) as exc:
                return _error(exc)

        return handler

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)  # no icon: a quiet console

    async def info(request: Request) -> Response:
        svc = h.lab.service
        return _json(
            {
                "lab": h.name,
                "runtime": h.runtime.kind,
                "bind": d.bind,
                "port": d.port,
                "loopback": d.bind in ("127.0.0.1", "::1", "localhost"),
                "prefixes": routing.prefixes(h),
                "service": {"address4": str(svc.address4), "address6": str(svc.address6), "zone": svc.zone},
                "probe_interval": live.probe_interval,
                "vendor_missing": vendor_missing(),
                "mono": time.monotonic(),
            }
        )

    async def best(request: Request) -> Response:
        node = request.query_params.get("node", "")
        n = h.lab.nodes.get(node)
        if n is None or n.kind not in ("router", "site"):
            return _error(LabError(f"{node!r} is not a router or site of lab {h.name}"), 404)
        return _json(await anyio.to_thread.run_sync(lambda: routing.routes_of(h, node)))

    async def timeline(request: Request) -> Response:
        try:
            since = float(request.query_params.get("since", "0"))
        except ValueError:
            return _error(LabError("since= is a CLOCK_MONOTONIC time in seconds"))
        return _json(live.timeline_json(since))

    async def faults(request: Request) -> Response:
        return _json({"catalog": catalog_json(), "applied": live.desk.to_json()})

    async def apply_fault(request: Request) -> Response:
        try:
            body = await _body(request)
            args = body.get("args") or {}
            if not isinstance(args, dict):
                raise FaultError("args is a JSON object of the fault's arguments")
            kind = str(body.get("kind", ""))
            a = await anyio.to_thread.run_sync(lambda: live.desk.apply(kind, args))
        except LabError as exc:
            return _error(exc)
        hub.publish("faults", live.desk.to_json())
        await anyio.to_thread.run_sync(lambda: live.refresh_routing(links=True))
        return _json(a.to_json())

    async def undo_fault(request: Request) -> Response:
        try:
            ident = int(request.path_params["ident"])
            a = await anyio.to_thread.run_sync(lambda: live.desk.undo(ident))
        except (LabError, ValueError) as exc:
            return _error(exc)
        hub.publish("faults", live.desk.to_json())
        await anyio.to_thread.run_sync(lambda: live.refresh_routing(links=True))
        return _json(a.to_json())

    async def labs(request: Request) -> Response:
        return _json({"this": h.name, "running": running()})

    async def clock(request: Request) -> Response:
        return _json({"mono": time.monotonic()})

    async def exercise_check(request: Request) -> Response:
        try:
            res = await anyio.to_thread.run_sync(lambda: workshop.check_active(h))
        except LabError as exc:
            return _error(exc)
        hub.publish("exercise", res)
        return _json(res)

    async def events(request: Request) -> Response:
        q = hub.subscribe()

        async def stream() -> AsyncIterator[str]:
            try:
                yield "retry: 1000\n" + Event("hello", {"lab": h.name, "mono": time.monotonic()}).sse()
                last_tick = time.monotonic()
                while not hub.closed:
                    try:
                        ev = await asyncio.wait_for(q.get(), timeout=TICK)
                        yield ev.sse()
                        if ev.name == "bye":
                            return
                    except TimeoutError:
                        pass
                    if time.monotonic() - last_tick >= TICK:
                        last_tick = time.monotonic()
                        yield Event("tick", {"mono": round(last_tick, 3)}).sse()
            finally:
                hub.unsubscribe(q)

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        hub.bind(asyncio.get_running_loop())
        await anyio.to_thread.run_sync(live.start)
        try:
            yield
        finally:
            hub.close()
            # here, not after uvicorn returns: it re-raises SIGINT/SIGTERM once the app is down
            await anyio.to_thread.run_sync(live.stop)

    routes = [
        Route("/", index),
        Route("/favicon.ico", favicon),
        Route("/api/info", info),
        Route("/api/catchment", blocking(lambda: Catchment.of(h.lab, measure(h.lab, h.runtime)).to_json())),
        Route("/api/status", blocking(lambda: status_json(h))),
        Route("/api/live", blocking(live.live_json)),
        Route("/api/timeline", timeline),
        Route("/api/routing", blocking(live.routing_json)),
        Route("/api/load", blocking(live.load_json)),
        Route("/api/best", best),
        Route("/api/topology", blocking(lambda: elements(h.lab))),
        Route("/api/faults", faults, methods=["GET"]),
        Route("/api/faults", apply_fault, methods=["POST"]),
        Route("/api/faults/{ident}/undo", undo_fault, methods=["POST"]),
        Route("/api/labs", labs),
        Route("/api/clock", clock),
        Route("/api/exercise", blocking(lambda: workshop.active_json(h))),
        Route("/api/exercise/check", exercise_check, methods=["POST"]),
        Route("/api/events", events),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    if CYTOSCAPE.is_dir():
        routes.append(Mount("/vendor/cytoscape", StaticFiles(directory=CYTOSCAPE), name="cytoscape"))
    loopback = d.bind in ("127.0.0.1", "::1", "localhost")
    hosts = ["127.0.0.1", "localhost", "::1", "[::1]"] + ([d.bind] if not loopback else [])
    middleware = [
        Middleware(TrustedHostMiddleware, allowed_hosts=["*"] if d.bind in ("0.0.0.0", "::") else hosts),
        Middleware(PostGuard),
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
