"""REST API under /api/: JSON bodies, clear 4xx errors, the same services as the UI.

Domain errors become HTTP statuses here and only here. `POST /api/chat` with `"stream": true`
answers NDJSON: `{"delta": "..."}` lines, then one `{"done": true, "status": ..., "message": {...}}`.
"""

from __future__ import annotations

import json
import re
import tempfile
from typing import Annotated, Any, Iterator

from fastapi import APIRouter, BackgroundTasks, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, StreamingResponse
from loguru import logger
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from workspace.chat import ChatBusy, ChatError
from workspace.dashboard.queries import DashboardError, UnknownRun
from workspace.llm import BackendBusy, LLMError, ModelNotFound
from workspace.models_service import ModelsError
from workspace.pipeline.service import PipelineError, RunNotFound
from workspace.services import Services
from workspace.store import InvalidInput, NotFound, StorageFull, StoreBusy, StoreError, TargetNotEmpty
from workspace.turns import Turn
from workspace.vision.images import AttachmentRejected

MAX_TEXT = 200_000
# Paths whose bodies may be larger than server.max_body_mb (up to server.max_import_mb): chat imports.
IMPORT_PATH = re.compile(r"/api/profiles/[^/]+/import")


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProfileIn(_Body):
    name: Text = Field(min_length=1, max_length=200)
    description: Text = Field(default="", max_length=5_000)
    system_prompt: Text = Field(default="", max_length=MAX_TEXT)


class ProfilePatch(_Body):
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    description: Text | None = Field(default=None, max_length=5_000)
    system_prompt: Text | None = Field(default=None, max_length=MAX_TEXT)
    model_overrides: dict[Text, Text] | None = None
    confidence_threshold: int | None = Field(default=None, ge=0, le=100)  # null clears it (the global setting)


class ChatIn(_Body):
    title: Text = Field(default="New chat", max_length=500)


class ChatPatch(_Body):
    title: Text | None = Field(default=None, min_length=1, max_length=500)
    pinned: bool | None = None
    model_overrides: dict[Text, Text] | None = None
    profile_id: Text | None = None


class ChatTurnIn(_Body):
    chat_id: Text
    message: Text = Field(min_length=1, max_length=MAX_TEXT)
    stream: bool = False


# The one mapping of domain errors to HTTP statuses; the most specific class wins (Starlette looks
# handlers up along the exception's MRO). The caller's mistakes are 4xx, the machine's 5xx.
ERROR_STATUSES: list[tuple[type[Exception], int]] = [
    (InvalidInput, 400), (NotFound, 404), (TargetNotEmpty, 409), (StorageFull, 507), (StoreBusy, 503),
    (StoreError, 500), (ChatBusy, 409), (ChatError, 400), (RunNotFound, 404), (PipelineError, 400),
    (UnknownRun, 404), (DashboardError, 400), (ModelsError, 400), (AttachmentRejected, 400),
    (ModelNotFound, 404), (BackendBusy, 503), (LLMError, 502),
]


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as JSON `{"error": …}`: domain errors, bad requests, and bugs (500, logged)."""
    for error_type, status in ERROR_STATUSES:
        def handler(request: Request, exc: Exception, status: int = status) -> JSONResponse:
            return JSONResponse({"error": str(exc)}, status_code=status)

        app.add_exception_handler(error_type, handler)

    def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}" for e in exc.errors()]
        return JSONResponse({"error": "Invalid request: " + "; ".join(problems)}, status_code=422)

    def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    def internal_error(request: Request, exc: Exception) -> JSONResponse:
        logger.opt(exception=exc).error("Unexpected error on {} {}", request.method, request.url.path)
        return JSONResponse({"error": "Internal error; the app's log has the details."}, status_code=500)

    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, internal_error)

    def too_deep(request: Request, exc: RecursionError) -> JSONResponse:
        return JSONResponse({"error": "The JSON body is nested too deeply."}, status_code=400)

    app.add_exception_handler(RecursionError, too_deep)


def router(services: Services) -> APIRouter:
    api = APIRouter(prefix="/api")
    store, chat = services.store, services.chat

    @api.get("/health")
    def health() -> dict[str, Any]:
        backend = services.backend
        return {"status": "ok", "backend": backend.kind, "host": backend.host,
                "backend_up": services.gateway.health(backend.host), "models": backend.models()}

    @api.get("/profiles")
    def list_profiles() -> list[dict]:
        return [p.model_dump() for p in store.list_profiles()]

    @api.post("/profiles", status_code=201)
    def create_profile(body: ProfileIn) -> dict:
        return store.create_profile(body.name, description=body.description,
                                    system_prompt=body.system_prompt).model_dump()

    @api.get("/profiles/{profile_id}")
    def get_profile(profile_id: str) -> dict:
        return store.get_profile(profile_id).model_dump()

    @api.patch("/profiles/{profile_id}")
    def patch_profile(profile_id: str, body: ProfilePatch) -> dict:
        return store.update_profile(profile_id, **body.model_dump(exclude_unset=True)).model_dump()

    @api.delete("/profiles/{profile_id}", status_code=204)
    def delete_profile(profile_id: str) -> None:
        store.delete_profile(profile_id)

    @api.get("/profiles/{profile_id}/chats")
    def list_chats(profile_id: str, q: str = "", kind: str | None = Query(default=None, pattern="^(chat|study)$")
                   ) -> list[dict]:
        store.get_profile(profile_id)  # 404 for an unknown profile rather than an empty list
        return [c.model_dump() for c in store.list_chats(profile_id, query=q, kind=kind)]

    @api.post("/profiles/{profile_id}/chats", status_code=201)
    def create_chat(profile_id: str, body: ChatIn | None = None) -> dict:
        return store.create_chat(profile_id, title=(body or ChatIn()).title).model_dump()

    @api.get("/chats/{chat_id}")
    def get_chat(chat_id: str) -> dict:
        return store.get_chat(chat_id).model_dump()

    @api.patch("/chats/{chat_id}")
    def patch_chat(chat_id: str, body: ChatPatch) -> dict:
        fields = body.model_dump(exclude_none=True)
        target = fields.pop("profile_id", None)
        if fields:
            store.update_chat(chat_id, **fields)
        if target:
            store.move_chat(chat_id, target)
        return store.get_chat(chat_id).model_dump()

    @api.delete("/chats/{chat_id}", status_code=204)
    def delete_chat(chat_id: str) -> None:
        chat.stop(chat_id)
        store.delete_chat(chat_id)

    @api.get("/chats/{chat_id}/messages")
    def list_messages(chat_id: str) -> list[dict]:
        return [m.model_dump() for m in chat.messages(chat_id)]

    @api.post("/chats/{chat_id}/regenerate")
    def regenerate(chat_id: str, stream: bool = False):
        return _answer(services, chat.regenerate(chat_id), stream)

    @api.get("/chats/{chat_id}/export")
    def export_chat(chat_id: str, format: str = Query(default="json", pattern="^(json|md)$")):
        download = {"Content-Disposition": f'attachment; filename="chat-{_safe_name(chat_id)}.{format}"'}
        if format == "md":
            return PlainTextResponse(store.export_chat_markdown(chat_id), media_type="text/markdown",
                                     headers=download)
        return JSONResponse(store.export_chat_json(chat_id), headers=download)

    @api.post("/profiles/{profile_id}/import", status_code=201)
    async def import_chat(profile_id: str, request: Request) -> dict:
        """A chat export (with its images) read as a stream: spooled to a file in the data folder, never whole in
        memory, up to `server.max_import_mb`."""
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return JSONResponse({"error": "Send the chat export as application/json."}, status_code=415)
        limit = services.settings.server.max_import_mb * 2**20
        with tempfile.TemporaryFile(dir=services.settings.data_dir) as body:
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:  # the Content-Length was checked already; a body longer than it said is not
                    return JSONResponse({"error": "The export is too large to import (server.max_import_mb)."},
                                        status_code=413)
                body.write(chunk)
            body.seek(0)
            chat = await run_in_threadpool(store.import_chat_stream, profile_id, body, limit)
        return chat.model_dump()

    @api.post("/chats/{chat_id}/stop")
    def stop(chat_id: str) -> dict:
        return {"stopped": chat.stop(chat_id)}

    @api.post("/chat")
    def chat_turn(body: ChatTurnIn):
        store.get_chat(body.chat_id)
        return _answer(services, chat.send(body.chat_id, body.message), body.stream)

    @api.get("/backup")
    def backup(after: BackgroundTasks) -> FileResponse:
        """The whole workspace as one zip (restore with `python -m workspace.restore`)."""
        path = services.make_backup()
        after.add_task(path.unlink, missing_ok=True)  # once sent: nothing is left behind in the data folder
        return FileResponse(path, media_type="application/zip", filename=path.name)

    @api.get("/search")
    def search(q: str = Query(min_length=1, max_length=1_000), profile_id: str | None = None,
               limit: int = Query(default=50, ge=1, le=500)) -> list[dict]:
        return [hit.model_dump() for hit in store.search(q, profile_id=profile_id, limit=limit)]

    return api


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:80]


def _answer(services: Services, turn: Turn, stream: bool):
    """The answer of `turn` (never a newer turn's) as NDJSON while it is written, or stored once it is done."""
    if stream:
        return StreamingResponse(answer_lines(services, turn), media_type="application/x-ndjson")
    turn.finished.wait()
    return services.store.get_message(turn.chat_id, turn.message_id).model_dump()


def answer_lines(services: Services, turn: Turn, **done: Any) -> Iterator[str]:
    """NDJSON of a turn: `{"delta"}` lines, then `{"done": true, "status", "message"}` plus `done`'s fields."""
    sent = 0
    for snapshot in turn.follow():
        if len(snapshot.text) > sent:
            yield json.dumps({"delta": snapshot.text[sent:]}) + "\n"
            sent = len(snapshot.text)
    message = services.store.get_message(turn.chat_id, turn.message_id)
    yield json.dumps({"done": True, **done, "status": message.status, "message": message.model_dump()}) + "\n"
