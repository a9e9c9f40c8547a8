"""REST routes of the code pipeline and the study tutor: `POST /api/code`, `POST /api/study`, and a run's
status, events and cancel. Same services as the UI; errors become statuses in `api.install_error_handlers`.

Streaming answers are NDJSON, as `/api/chat`: code runs send `{"event": "stage", …}` and
`{"event": "delta", "stage", "label", "text"}` lines and a last `{"done": true, "result": {…}}`;
study sends `{"delta": …}` lines and a last `{"done": true, "chat_id", "status", "message"}`.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from workspace.api import answer_lines
from workspace.pipeline.runs import PipelineRun
from workspace.services import Services

MAX_BODY_TEXT = 200_000  # the service's own limit (a setting) is lower and says so in its message
NDJSON = "application/x-ndjson"


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task: str = Field(min_length=1, max_length=MAX_BODY_TEXT)
    language: str = Field(default="python", max_length=40)
    profile_id: str | None = Field(default=None, max_length=64)
    chat_id: str | None = Field(default=None, max_length=64)
    stream: bool = False


class StudyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    topic: str = Field(min_length=1, max_length=MAX_BODY_TEXT)
    level: str = Field(default="intermediate", max_length=40)
    profile_id: str | None = Field(default=None, max_length=64)
    chat_id: str | None = Field(default=None, max_length=64)
    stream: bool = False


def router(services: Services) -> APIRouter:
    api = APIRouter(prefix="/api")
    pipeline = services.pipeline

    @api.post("/code")
    def code(body: CodeIn):
        run = pipeline.start(body.task, body.language, body.profile_id, body.chat_id)
        if body.stream:
            return StreamingResponse(_run_lines(run), media_type=NDJSON)
        run.finished.wait()
        return run.result

    @api.get("/code/runs/{run_id}")
    def run_status(run_id: str) -> dict[str, Any]:
        run = pipeline.get(run_id)
        return {"run_id": run.run_id, "status": run.status, "result": run.result}

    @api.get("/code/runs/{run_id}/events")
    def run_events(run_id: str):
        """Follow a run from its first event (a reload or another device re-attaching)."""
        return StreamingResponse(_run_lines(pipeline.get(run_id)), media_type=NDJSON)

    @api.post("/code/runs/{run_id}/cancel")
    def cancel(run_id: str) -> dict[str, bool]:
        return {"cancelled": pipeline.cancel(run_id)}

    @api.post("/study")
    def study(body: StudyIn):
        chat_id, turn = services.study.ask(body.topic, body.level, body.profile_id, body.chat_id)
        if body.stream:
            return StreamingResponse(answer_lines(services, turn, chat_id=chat_id), media_type=NDJSON)
        for _ in turn.follow():
            pass
        return {"chat_id": chat_id, "message": services.store.get_message(chat_id, turn.message_id).model_dump()}

    return api


def _run_lines(run: PipelineRun) -> Iterator[str]:
    # The run's id comes first, so a streaming client can cancel it or re-attach before it ends.
    yield json.dumps({"event": "run", "run_id": run.run_id}) + "\n"
    for event in run.follow():
        if event["event"] == "done":
            yield json.dumps({"done": True, "result": event["result"]}) + "\n"
        else:
            yield json.dumps(event) + "\n"

