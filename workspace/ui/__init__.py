"""The Gradio app: a header saying which backend runs, tabs for Chat, Code, Study and Models, and the /dashboard page.

Only `ui/` imports gradio. `build_app(services)` returns the Blocks; `app.py` mounts and launches it.
"""

from __future__ import annotations

import gradio as gr

from workspace.services import Services
from workspace.ui import api_endpoints, chat, code, dashboard, library, models, render, study

CSS = """
#chat-list { max-height: 60vh; overflow-y: auto; }
#conversation img.chat-thumb { max-width: 256px; max-height: 256px; margin: 4px 6px 4px 0; border-radius: 6px; }
#chat-list label { width: 100%; }
/* The Chatbot's own Clear only blanks the pane, the stored chat stays: misleading, so hidden. */
#conversation button[aria-label="Clear"] { display: none; }
#conversation .message-row.search-hit { outline: 2px solid var(--color-accent); border-radius: 8px; }
""" + dashboard.CSS


def header(services: Services) -> str:
    backend = services.backend
    note = ""
    if backend.kind == "embedded":
        note = " — no Ollama answered, so the built-in engine serves the models on this PC."
    return f"### Local AI Workspace\n**Backend:** {backend.label}{note}"


def build_app(services: Services, logout: bool = False) -> gr.Blocks:
    """The Blocks; `logout` adds a Log out button (when the app asks for a login)."""
    with gr.Blocks(title="Local AI Workspace", analytics_enabled=False) as demo:
        # First, so the public endpoints get their plain names (the UI's private events share the namespace).
        api_endpoints.register(services)
        with gr.Row():
            gr.Markdown(header(services), elem_id="backend-header")
            if logout:
                gr.Button("Log out", link="/logout", size="sm", scale=0, elem_id="logout")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                view = chat.build(services)
                library.build(services, view)
            with gr.Tab("Code", id="code"):
                code_tab = code.build(services)
            with gr.Tab("Study", id="study"):
                study_tab = study.build(services)
            with gr.Tab("Models", id="models"):
                models_tab = models.build(services)
            with gr.Tab("Dashboard", id="dashboard"):
                gr.Markdown("The dashboard has a page of its own: **[open the dashboard](/dashboard)** — runs, "
                            "plots, each run's stages, and the backend's status.", elem_id="dashboard-link")
        with gr.Accordion("Models per role", open=False):
            gr.Markdown(render.models_table(services.router.all_roles()), elem_id="global-models")
        view.wire_page_load(demo)
        code_tab.wire_page_load(demo)
        study_tab.wire_page_load(demo)
        models_tab.wire_page_load(demo)
    with demo.route("Dashboard", "/dashboard"):
        demo.load(**dashboard.build(services))
    return demo
