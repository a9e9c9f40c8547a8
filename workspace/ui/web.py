"""The web application: FastAPI with the REST API under /api/ and the Gradio app mounted at /.

FastAPI's own docs pages load Swagger/ReDoc from a CDN, so they are off. REST routes are registered
before Gradio is mounted at "/" (routes added afterwards would be shadowed).
"""

from __future__ import annotations

import gradio as gr
from fastapi import FastAPI

from workspace import api
from workspace.services import Services
from workspace.ui import CSS, build_app


def create_web_app(services: Services) -> FastAPI:
    app = FastAPI(title="Local AI Workspace", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    api.install_error_handlers(app)
    app.include_router(api.router(services))
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
    )
