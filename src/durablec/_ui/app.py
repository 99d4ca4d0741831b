"""The dashboard's Starlette application: HTML pages and the JSON API under ``/api/`` they use.

Every read and action goes through :class:`~durablec.runtime.client.Client`. With a token, every
request must carry it (``?token=``, an ``Authorization: Bearer`` header, or the cookie the first
tokened request sets). Every POST must carry the CSRF token of the page it came from.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from durablec.errors import DurablecError, RunNotFoundError
from durablec.runtime.client import Client
from durablec.runtime.model import (
    RUN_STATUSES,
    QueueLoad,
    RunFilter,
    RunSummary,
    StepInfo,
    Timeline,
)

from durablec._ui.waterfall import waterfall

__all__ = ["make_app"]

_HERE = Path(__file__).parent
_PAGE = 50
_ASSETS = {"ui.js": "text/javascript", "ui.css": "text/css"}
"""The files under static/, served from memory: only these names, whatever the path says."""
_CLIP = 4000
_LOGS = 1000
"""Log records listed on a run's page; the API has them all."""


def _clip(text: str | None) -> str | None:
    return text if text is None or len(text) <= _CLIP else text[:_CLIP] + "…"


def _time(at: float | None) -> str:
    return "" if at is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


def _clock(at: float) -> str:
    """A log record's time of day to the millisecond: records come many a second."""
    return time.strftime("%H:%M:%S", time.localtime(at)) + f".{int(at * 1000) % 1000:03d}"


def _level(level: int) -> str:
    """The style class of a log level: custom levels take that of the standard one below."""
    return ("error" if level >= logging.ERROR else "warning" if level >= logging.WARNING
            else "info" if level >= logging.INFO else "debug")


def _filter_of(request: Request) -> RunFilter:
    q = request.query_params

    def number(name: str) -> float | None:
        """Unix seconds, or a local date and time as the browser's datetime input sends it."""
        value = q.get(name)
        if not value:
            return None
        try:
            return float(value)
        except ValueError:
            pass
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return None

    return RunFilter(status=q.get("status") or None, task_id=q.get("task") or None,
                     queue=q.get("queue") or None, since=number("since"), until=number("until"),
                     search=(q.get("q") or "").strip() or None)


def _summary_json(run: RunSummary) -> dict[str, Any]:
    return {**asdict(run), "duration_s": run.duration_s}


def _step_json(timeline: Timeline, step: StepInfo, bodies: dict[int, str]) -> dict[str, Any]:
    return {**asdict(step), "at": timeline.offset(step), "duration_ms": step.duration_ms,
            "where": step.where, "result": _clip(step.result), "args": _clip(step.args),
            "http_body": _clip(bodies.get(step.id))}


def _timeline_json(timeline: Timeline, bodies: dict[int, str]) -> dict[str, Any]:
    return {"run": asdict(timeline.run),
            "steps": [_step_json(timeline, step, bodies) for step in timeline.steps],
            "events": [asdict(event) for event in timeline.events],
            "executions": [asdict(run) for run in timeline.executions],
            "logs": [{**asdict(log), "level_name": log.level_name} for log in timeline.logs]}


class _Guard(BaseHTTPMiddleware):
    """The token check (when a token is set) and the CSRF check of every POST."""

    def __init__(self, app: Any, token: str | None, csrf: str) -> None:
        super().__init__(app)
        self.token = token
        self.csrf = csrf

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        set_cookie = False
        if self.token is None and _hostname(request.headers.get("host", "")) not in _LOOPBACK:
            # Without a token the dashboard answers only pages asked for by a loopback name: a
            # page of another site that rebinds its DNS name to 127.0.0.1 is refused.
            return JSONResponse({"error": "this dashboard answers only on a loopback address"},
                                status_code=403)
        if self.token is not None:
            given = (request.query_params.get("token")
                     or request.headers.get("authorization", "").removeprefix("Bearer ").strip()
                     or request.cookies.get("durablec_ui_token", ""))
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return JSONResponse({"error": "a token is required (?token=...)"}, status_code=401)
            set_cookie = "token" in request.query_params
        if request.method == "POST":
            sent = request.headers.get("x-csrf-token", "")
            if not sent:
                form = await request.form()
                sent = str(form.get("csrf", ""))
            if not hmac.compare_digest(sent.encode(), self.csrf.encode()):
                return JSONResponse({"error": "missing or wrong CSRF token"}, status_code=403)
        response = await call_next(request)
        if set_cookie and self.token is not None:
            response.set_cookie("durablec_ui_token", self.token, httponly=True, samesite="strict")
        return response


def make_app(client: Client, *, token: str | None = None) -> Starlette:
    """The dashboard on ``client``'s journal."""
    csrf = secrets.token_urlsafe(24)
    env = Environment(loader=FileSystemLoader(_HERE / "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["time"] = _time
    env.filters["clock"] = _clock
    env.filters["level"] = _level

    def page(name: str, **values: Any) -> HTMLResponse:
        return HTMLResponse(env.get_template(name).render(csrf=csrf, statuses=RUN_STATUSES,
                                                          **values))

    def offset_of(request: Request) -> int:
        try:
            return max(int(request.query_params.get("offset", "0")), 0)
        except ValueError:
            return 0

    async def runs_page(request: Request) -> Response:
        chosen = _filter_of(request)
        offset = offset_of(request)
        listing = client.browse(chosen, offset=offset, limit=_PAGE)
        params = {k: v for k, v in request.query_params.items() if k not in ("offset", "token")}
        return page("runs.html", page=listing, counts=client.counts(chosen), chosen=chosen,
                    tasks=client.task_ids(), params=params, prev=max(offset - _PAGE, 0))

    async def run_page(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        try:
            summary = client.summary(run_id)
            timeline = client.timeline(run_id)
        except RunNotFoundError as error:
            return HTMLResponse(f"<p>{_escape(str(error))}</p>", status_code=404)
        children = client.browse(RunFilter(search=run_id), limit=200).runs
        return page("run.html", run=summary, timeline=timeline, flow=waterfall(timeline),
                    shown_logs=_LOGS, bodies=client.http_bodies(run_id),
                    refused=client.refused_payloads(run_id),
                    children=[c for c in children if c.parent_run_id == run_id])

    async def queues_page(request: Request) -> Response:
        dead: dict[str, list[QueueLoad]] = {}
        for load in client.dead_letter_loads():
            dead.setdefault(load.queue or "", []).append(load)
        return page("queues.html", loads=client.queue_loads(), workers=client.workers(),
                    dead=dead, now=time.time())

    async def api_runs(request: Request) -> Response:
        chosen = _filter_of(request)
        listing = client.browse(chosen, offset=offset_of(request), limit=_PAGE)
        return JSONResponse({"runs": [_summary_json(r) for r in listing.runs],
                             "offset": listing.offset, "limit": listing.limit,
                             "more": listing.more})

    async def api_counts(request: Request) -> Response:
        return JSONResponse(client.counts(_filter_of(request)))

    async def api_run(request: Request) -> Response:
        try:
            return JSONResponse(_summary_json(client.summary(request.path_params["run_id"])))
        except RunNotFoundError as error:
            return JSONResponse({"error": str(error)}, status_code=404)

    async def api_timeline(request: Request) -> Response:
        try:
            run_id = request.path_params["run_id"]
            return JSONResponse(_timeline_json(client.timeline(run_id), client.http_bodies(run_id)))
        except RunNotFoundError as error:
            return JSONResponse({"error": str(error)}, status_code=404)

    async def api_queues(request: Request) -> Response:
        return JSONResponse({"queues": [asdict(q) for q in client.queue_loads()],
                             "workers": [asdict(w) for w in client.workers()],
                             "dead_letters": [asdict(q) for q in client.dead_letter_loads()]})

    async def api_redrive(request: Request) -> Response:
        data = await _body(request)
        if data is None:
            return _refused("the body must be a JSON object", 400)
        queue = str(data.get("queue") or "")
        if not queue:
            return _refused("name the dead-letter queue to redrive", 400)
        redriven = client.redrive(queue)
        return JSONResponse({"ok": True, "queue": queue, "run_ids": redriven,
                             "count": len(redriven)})

    async def api_action(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        action = request.path_params["action"]
        data = await _body(request)
        if data is None:
            return _refused("the body must be a JSON object", 400)
        try:
            if action == "fork":
                key = str(data.get("key") or "")
                if not key:
                    return _refused("a fork needs the key of the step to run again", 400)
                forked = client.fork(client.resolve(run_id), key)
                return JSONResponse({"ok": True, "run_id": forked.id, "status": forked.status})
            if action == "retry":
                client.retry(run_id)
            elif action == "cancel":
                client.cancel(run_id)
            elif action == "event":
                raw = str(data.get("payload") or "null")
                try:
                    payload = json.loads(raw)
                except ValueError as error:
                    return JSONResponse({"ok": False, "error": f"payload is not JSON: {error}"},
                                        status_code=400)
                name = str(data.get("name") or "")
                if not name:
                    return JSONResponse({"ok": False, "error": "an event needs a name"},
                                        status_code=400)
                client.send_event(run_id, name, payload)
            else:
                return JSONResponse({"ok": False, "error": f"no action {action}"}, status_code=404)
        except DurablecError as error:
            return JSONResponse({"ok": False, "error": str(error)}, status_code=409)
        return JSONResponse({"ok": True, "status": client.summary(run_id).status})

    assets = {name: (_HERE / "static" / name).read_bytes() for name in _ASSETS}

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in assets:
            return Response("not found", status_code=404)
        return Response(assets[name], media_type=_ASSETS[name],
                        headers={"cache-control": "no-cache"})

    async def home(request: Request) -> Response:
        return RedirectResponse("/runs")

    routes = [
        Route("/", home), Route("/runs", runs_page), Route("/runs/{run_id}", run_page),
        Route("/queues", queues_page),
        Route("/api/runs", api_runs), Route("/api/counts", api_counts),
        Route("/api/runs/{run_id}", api_run), Route("/api/runs/{run_id}/timeline", api_timeline),
        Route("/api/queues", api_queues),
        Route("/api/dead-letters/redrive", api_redrive, methods=["POST"]),
        Route("/api/runs/{run_id}/{action}", api_action, methods=["POST"]),
        Route("/static/{name}", static),
    ]
    return Starlette(routes=routes, middleware=[Middleware(_Guard, token=token, csrf=csrf)])


async def _body(request: Request) -> dict[str, Any] | None:
    """A POST's fields, from a form or a JSON object (an empty body is no fields); None when the
    body is neither."""
    try:
        if request.headers.get("content-type", "").startswith(
                ("application/x-www-form", "multipart/")):
            return dict(await request.form())
        data = await request.json() if await request.body() else {}
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _refused(error: str, status: int) -> JSONResponse:
    return JSONResponse({"ok": False, "error": error}, status_code=status)


_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _hostname(host: str) -> str:
    """The name in a Host header, without its port (``[::1]:8233`` -> ``::1``)."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
