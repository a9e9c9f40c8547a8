"""The Gradio app: a header (navigation, backend, addresses), tabs for Chat, Code, Study and Models at /,
the chat alone at /chat and the dashboard at /dashboard.

Only `ui/` imports gradio. `build_app(services)` returns the Blocks; `app.py` mounts and launches it.
"""

from __future__ import annotations

import gradio as gr

from workspace.services import Services
from workspace.ui import api_endpoints, chat, code, dashboard, library, models, shell, study

CSS = """
#conversation img.chat-thumb { max-width: 256px; max-height: 256px; margin: 4px 6px 4px 0; border-radius: 6px; }
/* The Chatbot's own Clear only blanks the pane, the stored chat stays: misleading, so hidden. */
#conversation button[aria-label="Clear"] { display: none; }
#conversation .message-row.search-hit { outline: 2px solid var(--color-accent); border-radius: 8px; }
""" + shell.CSS + dashboard.CSS
HEAD = shell.HEAD
ICON = shell.ICON


def build_app(services: Services, logout: bool = False) -> gr.Blocks:
    """The Blocks: the workspace at / (a tab per view), the chat alone at /chat, the dashboard at /dashboard;
    `logout` adds a Log out button (when the app asks for a login). Events cannot cross pages, so each page
    builds what it shows."""
    with gr.Blocks(title="Local AI Workspace", analytics_enabled=False) as demo:
        # First, so the public endpoints get their plain names (the UI's private events share the namespace).
        api_endpoints.register(services)
        gr.Navbar(visible=False)  # the header's links are the navigation
        shell.header(services, demo, "chat", logout)
        with gr.Tabs(elem_id="main-tabs"):
            with gr.Tab("Chat", id="chat"):
                view = _chat(services, demo)
            with gr.Tab("Code", id="code"):
                code.build(services).wire_page_load(demo)
            with gr.Tab("Study", id="study"):
                study.build(services).wire_page_load(demo)
            with gr.Tab("Models", id="models"):
                models_tab = models.build(services)
                models_tab.wire_page_load(demo)
                models_tab.follow_chat(view)
    with demo.route("Chat", "/chat"):
        shell.header(services, demo, "chat", logout)
        _chat(services, demo)
    with demo.route("Dashboard", "/dashboard"):
        shell.header(services, demo, "dashboard", logout)
        demo.load(**dashboard.build(services))
    return demo


def _chat(services: Services, demo: gr.Blocks) -> chat.ChatView:
    view = chat.build(services)
    library.build(services, view)
    view.wire_page_load(demo)
    return view
