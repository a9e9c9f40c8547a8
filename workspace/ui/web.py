"""The web application: FastAPI with the REST API under /api/ and the Gradio app mounted at /.

FastAPI's own docs pages load Swagger/ReDoc from a CDN, so they are off. REST routes are registered
before Gradio is mounted at "/" (routes added afterwards would be shadowed).
"""

from __future__ import annotations

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from workspace import api, api_dashboard, api_pipeline
from workspace.auth import Gate
from workspace.services import Services
from workspace.ui import CSS, build_app


def create_web_app(services: Services, gate: Gate | None = None) -> FastAPI:
    """The whole web app; with a `gate`, the UI asks for a login and /api/ for a Bearer token."""
    app = FastAPI(title="Local AI Workspace", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    api.install_error_handlers(app)
    if gate is not None:
        _require_bearer_token(app, gate)
    app.include_router(api.router(services))
    app.include_router(api_pipeline.router(services))
    app.include_router(api_dashboard.router(services))
    demo = build_app(services)
    demo.queue(default_concurrency_limit=4, max_size=64)
    return gr.mount_gradio_app(
        app,
        demo,
        path="/",
        footer_links=["api"],
        allowed_paths=[str(services.settings.data_dir / "tmp")],
        css=CSS,
        show_error=True,
        auth=gate.check if gate is not None else None,
        auth_message="Local AI Workspace: the login was printed when the app first started on this network.",
    )


def _require_bearer_token(app: FastAPI, gate: Gate) -> None:
    @app.middleware("http")
    async def bearer_for_api(request: Request, call_next):
        if request.url.path.startswith("/api/") and not gate.check_bearer(request.headers.get("authorization")):
            return JSONResponse({"error": "Log in: send `Authorization: Bearer <password>`."}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        return await call_next(request)
