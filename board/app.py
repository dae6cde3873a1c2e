"""The ward board's web app (Starlette): the page, its JSON, live updates and the acknowledge action.

Routes: ``/`` the board, ``/api/board`` every hospital/unit/bed now, ``/api/patient/{id}`` one
patient's trend and alert timeline, ``/api/events`` server-sent events (a ``changed`` event
whenever a new lake file lands, so the page refreshes without a reload), ``POST /api/ack``
an acknowledgement (or bed silence/resume) sent to the job. Every asset is served from
``board/static``: the board works offline. Lake reads run in a worker thread (DuckDB blocks).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from board.acks import AckSender, ack_event
from board.wards import BoardSource
from core.schema.events import InvalidRecord

STATIC = Path(__file__).resolve().parent / "static"
_STAFF = re.compile(r"[A-Za-z0-9 ._@-]{1,64}")


def create_app(source: BoardSource, sender: AckSender | None, *, poll_s: float = 1.0) -> Starlette:
    async def page(_: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def board(_: Request) -> Response:
        return JSONResponse(await asyncio.to_thread(source.board))

    async def patient(request: Request) -> Response:
        found = await asyncio.to_thread(source.patient, request.path_params["patient_id"])
        return JSONResponse(found) if found else JSONResponse({"error": "no readings for this patient"}, status_code=404)

    async def events(request: Request) -> Response:
        async def stream():
            last = None
            while not await request.is_disconnected():
                now = await asyncio.to_thread(source.version)
                if now != last:
                    last = now
                    yield f"event: changed\ndata: {now}\n\n"
                else:
                    yield ": still here\n\n"  # keeps proxies and the browser from timing the stream out
                await asyncio.sleep(poll_s)

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    async def ack(request: Request) -> Response:
        if sender is None:
            return JSONResponse({"error": "this board is read-only (no readings stream configured)"}, status_code=503)
        if request.headers.get("content-type", "").split(";")[0] != "application/json":
            return JSONResponse({"error": "send JSON"}, status_code=415)  # a plain form post from another site cannot
        origin = request.headers.get("origin")
        if origin and origin.split("://", 1)[-1] != request.headers.get("host"):
            return JSONResponse({"error": "acknowledgements come from this board only"}, status_code=403)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "the body is not JSON"}, status_code=400)
        by = str(body.get("by") or "").strip()
        if not _STAFF.fullmatch(by):
            return JSONResponse({"error": "say who you are: a staff id or role (letters, digits, . _ @ -)"}, status_code=400)
        alert = await asyncio.to_thread(source.alert, str(body.get("alert_id") or ""))
        if alert is None:
            return JSONResponse({"error": "no such alert"}, status_code=404)
        try:
            data = ack_event(alert, by, action=str(body.get("action") or "acknowledge"),
                             minutes=body.get("minutes"))
        except (InvalidRecord, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        sequence = await asyncio.to_thread(sender.send, data, alert["patient_id"])
        return JSONResponse({"sent": True, "sequence": sequence, "episode_id": alert["episode_id"]})

    return Starlette(routes=[
        Route("/", page), Route("/api/board", board), Route("/api/patient/{patient_id}", patient),
        Route("/api/events", events), Route("/api/ack", ack, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ])
