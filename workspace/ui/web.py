"""The web application: FastAPI with the REST API under /api/ and the Gradio app mounted at /.

FastAPI's own docs pages load Swagger/ReDoc from a CDN, so they are off. REST routes are registered
before Gradio is mounted at "/" (routes added afterwards would be shadowed). The protections every
route gets (workspace/security.py, and the login of workspace/login.py in LAN mode) wrap the whole
app as ASGI middleware, so routes added later are covered without code of their own.
"""

from __future__ import annotations

import gradio as gr
from fastapi import FastAPI
from starlette.requests import HTTPConnection
from starlette.routing import Mount

from workspace import api, api_dashboard, api_models, api_pipeline, api_vision
from workspace.auth import Gate
from workspace.login import LoginRequired
from workspace.security import Guard, HostPolicy
from workspace.services import Services
from workspace.ui import CSS, HEAD, ICON, build_app


def create_web_app(services: Services, gate: Gate | None = None, hosts: HostPolicy | None = None) -> FastAPI:
    """The whole web app; with a `gate`, the UI asks for a login and /api/ for a Bearer token."""
    settings = services.settings
    app = FastAPI(title="Local AI Workspace", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    api.install_error_handlers(app)
    app.include_router(api.router(services))
    app.include_router(api_pipeline.router(services))
    app.include_router(api_vision.router(services))
    app.include_router(api_models.router(services))
    app.include_router(api_dashboard.router(services))
    demo = build_app(services, logout=gate is not None)
    demo.queue(default_concurrency_limit=settings.server.queue_concurrency, max_size=settings.server.queue_max_size)
    app = gr.mount_gradio_app(
        app,
        demo,
        path="/",
        footer_links=["api"],
        allowed_paths=[],  # nothing of the data folder: Gradio serves its own upload folder only
        css=CSS,
        head=HEAD,
        favicon_path=str(ICON),  # also the installed app's icon: served from here, never fetched
        pwa=True,
        show_error=True,
        auth=gate.login if gate is not None else None,
        auth_message="Local AI Workspace: the login was printed when the app first started on this network.",
    )
    gradio_app = _gradio_app(app)
    if gate is not None:
        gate.on_change(gradio_app.tokens.clear)  # a new password ends every session of the old one
        app.add_middleware(LoginRequired, gate=gate, session_user=_session_reader(gradio_app))
    app.add_middleware(Guard, hosts=hosts or HostPolicy(settings.server.allowed_hosts),
                       max_body_bytes=settings.server.max_body_mb * 2**20, served_files=[gradio_app.uploaded_file_dir],
                       large_bodies=[(api.IMPORT_PATH, settings.server.max_import_mb * 2**20)])
    return app


def _gradio_app(app: FastAPI):
    return next(route.app for route in app.routes if isinstance(route, Mount) and hasattr(route.app, "tokens"))


def _session_reader(gradio_app):
    """The user of the request's UI login cookie (Gradio's own session tokens), or None."""
    names = (f"access-token-{gradio_app.cookie_id}", f"access-token-unsecure-{gradio_app.cookie_id}")

    def session_user(scope) -> str | None:
        cookies = HTTPConnection(scope).cookies
        for name in names:
            user = gradio_app.tokens.get(cookies.get(name))
            if user is not None:
                return user
        return None

    return session_user
