"""REST routes of the models panel: `GET /api/models`, `POST /api/models/pull` (NDJSON progress),
`POST /api/models/pull/cancel`, `DELETE /api/models/{name}` and `POST /api/models/{name}/load`; a role's
global default model (`PUT /api/models/roles/{role}/default`) and backend (`PUT .../backend`).

Model names such as `hf.co/org/model:tag` hold `/` and `:`, so they are taken as a path parameter that
allows both. A pull streams Ollama's own progress lines (`status`, `digest`, `total`, `completed`) and
ends with `{"done": true, "status": "success" | "failed" | "cancelled", "name", "backend", "error"?}`.
Errors become statuses in `api.install_error_handlers` (a bad name is 400).
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Literal

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from workspace.models_service import MAX_NAME, ModelsService
from workspace.services import Services

NDJSON = "application/x-ndjson"


class PullIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=MAX_NAME)


class DefaultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = Field(max_length=MAX_NAME)  # "" only for escalation (it then follows the reviewer)
    load: bool = False  # warm-up: load the model that now runs for the role


class BackendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["default", "ollama", "openai"]
    url: str = Field(default="", max_length=2000)
    api_key: str | None = Field(default=None, max_length=4000)  # None keeps the key kept; "" removes it


def router(services: Services) -> APIRouter:
    api = APIRouter(prefix="/api")
    models: ModelsService = services.models

    @api.get("/models")
    def overview() -> dict[str, Any]:
        return models.overview()

    @api.post("/models/pull")
    def pull(body: PullIn):
        lines = models.pull(body.name)  # a bad name or a pull already running fails here, as a 4xx
        return StreamingResponse(_ndjson(lines), media_type=NDJSON)

    @api.put("/models/roles/{role}/default")
    def set_default(role: str, body: DefaultIn) -> dict[str, Any]:
        return models.set_default(role, body.model, warm=body.load)

    @api.put("/models/roles/{role}/backend")
    def set_backend(role: str, body: BackendIn) -> dict[str, Any]:
        return models.set_backend(role, body.kind, body.url, body.api_key)

    @api.post("/models/pull/cancel")
    def cancel(body: PullIn) -> dict[str, Any]:
        return {"name": body.name, "cancelled": models.cancel_pull(body.name)}

    @api.delete("/models/{name:path}")
    def delete(name: str) -> dict[str, Any]:
        models.delete(name)
        return {"name": name, "deleted": True}

    @api.post("/models/{name:path}/load")
    def load(name: str) -> dict[str, Any]:
        return models.load(name)

    return api


def _ndjson(lines: Iterator[dict[str, Any]]) -> Iterator[str]:
    for line in lines:
        yield json.dumps(line) + "\n"
