"""REST API under /api/: JSON bodies, clear 4xx errors, the same services as the UI.

Domain errors become HTTP statuses here and only here. `POST /api/chat` with `"stream": true`
answers NDJSON: `{"delta": "..."}` lines, then one `{"done": true, "status": ..., "message": {...}}`.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from workspace.chat import ChatBusy, ChatError
from workspace.dashboard.queries import DashboardError, UnknownRun
from workspace.llm import BackendBusy, LLMError, ModelNotFound
from workspace.pipeline.service import PipelineError, RunNotFound
from workspace.services import Services
from workspace.store import NotFound, StoreError

MAX_TEXT = 200_000
MAX_IMPORT_BYTES = 20 * 1024 * 1024


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProfileIn(_Body):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5_000)
    system_prompt: str = Field(default="", max_length=MAX_TEXT)


class ProfilePatch(_Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5_000)
    system_prompt: str | None = Field(default=None, max_length=MAX_TEXT)
    model_overrides: dict[str, str] | None = None
    confidence_threshold: int | None = Field(default=None, ge=0, le=100)  # null clears it (the global setting)


class ChatIn(_Body):
    title: str = Field(default="New chat", max_length=500)


class ChatPatch(_Body):
    title: str | None = Field(default=None, min_length=1, max_length=500)
    pinned: bool | None = None
    model_overrides: dict[str, str] | None = None
    profile_id: str | None = None


class ChatTurnIn(_Body):
    chat_id: str
    message: str = Field(min_length=1, max_length=MAX_TEXT)
    stream: bool = False


def install_error_handlers(app: FastAPI) -> None:
    statuses: list[tuple[type[Exception], int]] = [
        (NotFound, 404), (StoreError, 400), (ChatBusy, 409), (ChatError, 400), (RunNotFound, 404),
        (PipelineError, 400), (UnknownRun, 404), (DashboardError, 400),
        (ModelNotFound, 404),
        (BackendBusy, 503), (LLMError, 502),
    ]
    for error_type, status in statuses:
        def handler(request: Request, exc: Exception, status: int = status) -> JSONResponse:
            return JSONResponse({"error": str(exc)}, status_code=status)

        app.add_exception_handler(error_type, handler)

    def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}" for e in exc.errors()]
        return JSONResponse({"error": "Invalid request: " + "; ".join(problems)}, status_code=422)

    app.add_exception_handler(RequestValidationError, invalid_request)


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
        turn = chat.regenerate(chat_id)
        return _answer(services, chat_id, turn.message_id, stream)

    @api.get("/chats/{chat_id}/export")
    def export_chat(chat_id: str, format: str = Query(default="json", pattern="^(json|md)$")):
        if format == "md":
            return PlainTextResponse(store.export_chat_markdown(chat_id), media_type="text/markdown")
        return store.export_chat_json(chat_id)

    @api.post("/profiles/{profile_id}/import", status_code=201)
    async def import_chat(profile_id: str, request: Request) -> dict:
        raw = await request.body()
        if len(raw) > MAX_IMPORT_BYTES:
            return JSONResponse({"error": "The export is too large to import."}, status_code=413)
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return JSONResponse({"error": f"The body is not a chat export (JSON): {exc}"}, status_code=400)
        return store.import_chat_json(profile_id, data).model_dump()

    @api.post("/chats/{chat_id}/stop")
    def stop(chat_id: str) -> dict:
        return {"stopped": chat.stop(chat_id)}

    @api.post("/chat")
    def chat_turn(body: ChatTurnIn):
        store.get_chat(body.chat_id)
        turn = chat.send(body.chat_id, body.message)
        return _answer(services, body.chat_id, turn.message_id, body.stream)

    @api.get("/backup")
    def backup() -> FileResponse:
        """The whole workspace as one zip (restore with `python -m workspace.restore`)."""
        path = services.make_backup()
        return FileResponse(path, media_type="application/zip", filename=path.name)

    @api.get("/search")
    def search(q: str = Query(min_length=1, max_length=1_000), profile_id: str | None = None,
               limit: int = Query(default=50, ge=1, le=500)) -> list[dict]:
        return [hit.model_dump() for hit in store.search(q, profile_id=profile_id, limit=limit)]

    return api


def _answer(services: Services, chat_id: str, message_id: str, stream: bool):
    """The answer as NDJSON while it is written, or the stored message once it is done."""
    if stream:
        return StreamingResponse(_ndjson(services, chat_id, message_id), media_type="application/x-ndjson")
    for _ in services.chat.follow(chat_id):
        pass
    return services.store.get_message(chat_id, message_id).model_dump()


def _ndjson(services: Services, chat_id: str, message_id: str) -> Iterator[str]:
    sent = 0
    for snapshot in services.chat.follow(chat_id):
        if len(snapshot.text) > sent:
            yield json.dumps({"delta": snapshot.text[sent:]}) + "\n"
            sent = len(snapshot.text)
    message = services.store.get_message(chat_id, message_id)
    yield json.dumps({"done": True, "status": message.status, "message": message.model_dump()}) + "\n"
