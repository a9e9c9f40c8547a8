"""The Models tab: each backend's health, the installed models with their details and whether they are
loaded, which role runs which model (and why), pull with progress and Cancel, delete with a
confirmation, and warm-up. Everything goes through `services.models` (workspace/models_service.py).

The tables and the progress text are plain functions (`*_table`, `PullProgress`), tested without a browser.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import gradio as gr

from workspace.services import Services
from workspace.ui.errors import shown_errors

BAR_CELLS = 20


def backends_table(backends: list[dict[str, Any]]) -> str:
    rows = ["| backend | kind | state | version | latency |", "|---|---|---|---|---|"]
    for b in backends:
        state = "✅ up" if b["healthy"] else f"❌ down{': ' + b['error'] if b.get('error') else ''}"
        latency = f"{b['latency_ms']:.0f} ms" if b.get("latency_ms") is not None else "—"
        if b.get("remote"):
            state += " · ⚠️ **outside this network: prompts sent to it leave the machine**"
        rows.append(f"| {b['host']} | {b['kind']} | {state} | {b.get('version') or '—'} | {latency} |")
    return "\n".join(rows)


def models_table(models: list[dict[str, Any]]) -> str:
    if not models:
        return "*No models installed.* Pull one below (Ollama), or put a `.gguf` file in the engine's model folder."
    rows = ["| model | family | parameters | quantization | context | on disk | capabilities | loaded |",
            "|---|---|---|---|---|---|---|---|"]
    for m in models:
        loaded = m.get("loaded")
        memory = f"yes, {human_bytes(loaded['size'])} until {loaded.get('expires_at') or '—'}" if loaded else "no"
        rows.append(f"| `{m['name']}` | {m.get('family') or '—'} | {m.get('parameter_size') or '—'} | "
                    f"{m.get('quantization') or '—'} | {m.get('context_length') or '—'} | {human_bytes(m['size'])} | "
                    f"{', '.join(m['capabilities']) or '—'} | {memory} |")
    return "\n".join(rows)


def roles_table(roles: dict[str, dict[str, Any]]) -> str:
    rows = ["| role | model that runs | asked for | from | host |", "|---|---|---|---|---|"]
    for role, r in roles.items():
        fallback = f" — **fallback**: `{r['requested']}` is not installed" if r["substituted"] else ""
        rows.append(f"| {role} | `{r['model']}`{fallback} | `{r['requested']}` | {r['source']} setting | {r['host']} |")
    return "\n".join(rows)


def human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(count) < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"


@dataclass
class PullProgress:
    """The state of one pull, from Ollama's progress lines: status, and per layer bytes done, total, speed."""

    name: str
    status: str = "starting"
    layers: dict[str, dict[str, float]] = field(default_factory=dict)  # digest → completed, total, start, at

    def update(self, line: dict[str, Any], now: float) -> None:
        if line.get("done"):
            self.status = line["status"] + (f": {line['error']}" if line.get("error") else "")
            return
        self.status = str(line.get("status", self.status))
        digest = line.get("digest")
        if digest and line.get("total"):
            layer = self.layers.setdefault(digest, {"completed": 0, "total": 0, "start": now, "at": now})
            layer.update(completed=line.get("completed", layer["completed"]), total=line["total"], at=now)

    def markdown(self) -> str:
        lines = [f"**{self.name}** — {self.status}"]
        for digest, layer in self.layers.items():
            share = layer["completed"] / layer["total"] if layer["total"] else 0.0
            cells = round(share * BAR_CELLS)
            seconds = layer["at"] - layer["start"]
            speed = f" · {human_bytes(layer['completed'] / seconds)}/s" if seconds > 0 else ""
            lines.append(f"`{digest.removeprefix('sha256:')[:12]}` `{'█' * cells}{'░' * (BAR_CELLS - cells)}` "
                         f"{share:.0%} · {human_bytes(layer['completed'])} of {human_bytes(layer['total'])}{speed}")
        return "\n\n".join(lines)


class ModelsTab:
    def __init__(self, services: Services):
        self.services = services
        self._tables: list[Any] = []

    def wire_page_load(self, demo: gr.Blocks) -> None:
        """Fill the tables when a page opens (they show the backends as they are then)."""
        demo.load(self.refresh, outputs=self._tables, api_visibility="private")

    @shown_errors
    def refresh(self) -> tuple[str, str, str, Any, Any]:
        overview = self.services.models.overview()
        names = sorted({m["name"] for m in overview["models"]})
        return (backends_table(overview["backends"]), models_table(overview["models"]),
                roles_table(overview["roles"]), gr.update(choices=names), gr.update(choices=names))

    @shown_errors
    def pull(self, name: str) -> Iterator[str]:
        progress = PullProgress((name or "").strip())
        for line in self.services.models.pull(name or ""):
            progress.update(line, time.monotonic())
            yield progress.markdown()

    @shown_errors
    def cancel(self, name: str) -> None:
        if not self.services.models.cancel_pull(name or ""):
            gr.Info(f"No pull of {name!r} is running.")

    @shown_errors
    def delete(self, name: str, confirmed: bool) -> tuple[str, bool]:
        if not name:
            raise gr.Error("Choose the model to delete.")
        if not confirmed:
            raise gr.Error("Tick the confirmation first: deleting removes the model's files from the backend.")
        self.services.models.delete(name)
        return f"Deleted `{name}`.", False

    @shown_errors
    def load(self, name: str) -> str:
        if not name:
            raise gr.Error("Choose the model to load.")
        result = self.services.models.load(name)
        keep = result["keep_alive"] or "the server's default"
        return f"`{name}` is loaded ({result['done_reason']}); it stays loaded for {keep} after each request."


def build(services: Services) -> ModelsTab:
    tab = ModelsTab(services)
    backends, installed, roles = gr.Markdown(), gr.Markdown(), gr.Markdown()
    refresh = gr.Button("↻ Refresh", size="sm")
    with gr.Accordion("Pull a model (Ollama)", open=False):
        with gr.Row():
            pull_name = gr.Textbox(label="Model name", placeholder="qwen2.5-coder:7b or hf.co/org/model:tag", scale=3)
            pull = gr.Button("Pull", variant="primary", scale=1)
            cancel = gr.Button("Cancel", variant="stop", scale=1)
        progress = gr.Markdown(elem_id="pull-progress")
    with gr.Accordion("Delete or warm up a model", open=False):
        with gr.Row():
            chosen = gr.Dropdown(label="Model to delete", choices=[], scale=3)
            confirm = gr.Checkbox(label="Yes, delete it", value=False, scale=1)
            delete = gr.Button("🗑 Delete", variant="stop", scale=1)
        with gr.Row():
            warm = gr.Dropdown(label="Model to load now (warm-up)", choices=[], scale=3)
            load = gr.Button("Load now", scale=1)
        done = gr.Markdown()
    tables = tab._tables = [backends, installed, roles, chosen, warm]
    # The UI's own events: scripts use REST /api/models or the named endpoints (API_REFERENCE.md).
    private = {"api_visibility": "private"}
    refresh.click(tab.refresh, outputs=tables, **private)
    pull.click(tab.pull, inputs=pull_name, outputs=progress, **private).then(tab.refresh, outputs=tables, **private)
    cancel.click(tab.cancel, inputs=pull_name, concurrency_limit=None, **private)
    delete.click(tab.delete, inputs=[chosen, confirm], outputs=[done, confirm], **private).then(
        tab.refresh, outputs=tables, **private)
    load.click(tab.load, inputs=warm, outputs=done, **private).then(tab.refresh, outputs=tables, **private)
    return tab
