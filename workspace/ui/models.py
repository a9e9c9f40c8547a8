"""The Models tab: each backend's health, the installed models with their details and whether they are
loaded, which role runs which model (and why), pull with progress and Cancel, delete with a
confirmation, warm-up, and per role its global default model and its backend (saved to the settings file).
Everything goes through `services.models` (workspace/models_service.py).

The tables and the progress text are plain functions (`*_table`, `PullProgress`), tested without a browser.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import gradio as gr

from workspace.models_service import is_remote
from workspace.services import Services
from workspace.settings import Role
from workspace.ui.errors import shown_errors

BAR_CELLS = 20
BACKEND_KINDS = [("This app's backend", "default"), ("An Ollama host", "ollama"),
                 ("An OpenAI-compatible server", "openai")]
# Opens the Models tab when the page was opened by a chat's "pull Y" link.
OPEN_ON_PULL_LINK = """() => {
  if (!new URLSearchParams(window.location.search).get("pull")) return;
  const tab = [...document.querySelectorAll("button[role=tab]")].find((b) => b.textContent.trim() === "Models");
  if (tab) tab.click();
}"""
LEAVES = "**Remote: outside this network, prompts sent to it leave the machine**"


def backends_table(backends: list[dict[str, Any]]) -> str:
    rows = ["| backend | kind | state | version | latency |", "|---|---|---|---|---|"]
    for b in backends:
        state = "up" if b["healthy"] else f"**down**{': ' + b['error'] if b.get('error') else ''}"
        latency = f"{b['latency_ms']:.0f} ms" if b.get("latency_ms") is not None else "—"
        if b.get("remote"):
            state += " · " + LEAVES
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
        host = r["host"] + (" · " + LEAVES if is_remote(r["host"]) else "")
        rows.append(f"| {role} | `{r['model']}`{fallback} | `{r['requested']}` | {r['source']} setting | {host} |")
    return "\n".join(rows)


def levels_table(levels: list[dict[str, Any]], profile: str, chat: str) -> str:
    """Each role's model at every level for the open profile and chat, and which level wins."""
    head = f"Open now: profile **{profile or '—'}**, chat **{chat or '—'}** (chat > profile > global)."
    rows = [head, "", "| role | global | profile | chat | runs |", "|---|---|---|---|---|"]
    for r in levels:
        cells = [f"`{r[level]}`" if r[level] else "—" for level in ("global", "profile", "chat")]
        runs = f"`{r['model']}` from {r['source']}" + (" (fallback: asked model not installed)"
                                                       if r["substituted"] else "")
        rows.append(f"| {r['role']} | {' | '.join(cells)} | {runs} |")
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
        self._role_form: list[Any] = []
        self._pull_form: list[Any] = []
        self._levels: Any = None

    def wire_page_load(self, demo: gr.Blocks) -> None:
        """Fill the tables when a page opens (they show the backends as they are then)."""
        private = {"api_visibility": "private"}
        demo.load(self.refresh, outputs=self._tables, **private)
        role, model, kind, url = self._role_form
        demo.load(self.role_form, inputs=role, outputs=[model, kind, url], **private)
        # A chat's "pull Y" link (`?pull=Y`, ui/render.py) lands here: this tab, its pull box filled and
        # what a pull will do said first (the embedded engine cannot download).
        demo.load(self.pull_from_link, outputs=self._pull_form, **private)
        demo.load(None, js=OPEN_ON_PULL_LINK, **private)

    @shown_errors
    def refresh(self) -> tuple[str, str, str, Any, Any]:
        overview = self.services.models.overview()
        names = sorted({m["name"] for m in overview["models"]})
        return (backends_table(overview["backends"]), models_table(overview["models"]),
                roles_table(overview["roles"]), gr.update(choices=names), gr.update(choices=names),
                gr.update(choices=names))

    @shown_errors
    def levels_for(self, profile_id: str | None, chat_id: str | None) -> str:
        store = self.services.store
        profile = store.get_profile(profile_id) if profile_id else None
        chat = store.get_chat(chat_id) if chat_id else None
        levels = self.services.models.levels(profile and profile.model_overrides, chat and chat.model_overrides)
        return levels_table(levels, profile.name if profile else "", chat.title if chat else "")

    def follow_chat(self, view: Any) -> None:
        """Keep the levels table on the Chat tab's open profile and chat (same page, so events can read them):
        on another chat opened, and once another profile is shown with its chat list (ui/chat.py's ChatView)."""
        view.chats.change(self.levels_for, inputs=[view.profile, view.chats], outputs=self._levels,
                          api_visibility="private")
        view.when_profile_shown(self.levels_for, [view.profile, view.chats], self._levels)

    @shown_errors
    def role_form(self, role: str) -> tuple[str, str, str]:
        """The role's saved default model, backend kind and URL, to edit."""
        chosen, settings = Role(role), self.services.settings
        if chosen in settings.openai.role_urls:
            return settings.models.for_role(chosen), "openai", settings.openai.role_urls[chosen]
        url = settings.ollama.role_hosts.get(chosen, "")
        return settings.models.for_role(chosen), "ollama" if url else "default", url

    @shown_errors
    def save_default(self, role: str, model: str, warm: bool = False) -> str:
        result = self.services.models.set_default(role, model or "", warm=warm)
        said = (f"Saved: **{role}** uses `{result['requested']}` by default (a profile or a chat may override "
                f"it); now running `{result['model']}`.")
        if "warm_up" in result:
            said += f" Loaded now ({result['warm_up']})."
        elif "warm_up_error" in result:
            said += f" Not loaded: {result['warm_up_error']}"
        return said

    @shown_errors
    def save_backend(self, role: str, kind: str, url: str, api_key: str) -> tuple[str, str]:
        """Saves the role's backend; the key box is emptied (a key is never shown back), blank keeps the kept key."""
        result = self.services.models.set_backend(role, kind, url or "", (api_key or "").strip() or None)
        said = f"Saved: **{role}** runs at {result['host']}."
        if result["remote"]:
            said += f" {LEAVES}."
        return said, ""

    @shown_errors
    def pull(self, name: str) -> Iterator[str]:
        progress = PullProgress((name or "").strip())
        for line in self.services.models.pull(name or ""):
            progress.update(line, time.monotonic())
            yield progress.markdown()

    @shown_errors
    def pull_from_link(self, request: gr.Request) -> tuple[Any, Any, str]:
        """The pull box filled from the page's `?pull=NAME`, and what pulling it here will do."""
        name = (request.query_params.get("pull") or "").strip() if request else ""
        if not name:
            return gr.update(), gr.update(), ""
        return name, gr.update(open=True), self.services.models.pull_advice(name)

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
    tab._levels = gr.Markdown("Open a chat to see its models level by level.", elem_id="role-levels")
    refresh = gr.Button("↻ Refresh", size="sm")
    with gr.Accordion("Pull a model (Ollama)", open=False) as pull_box:
        with gr.Row():
            pull_name = gr.Textbox(label="Model name", placeholder="qwen2.5-coder:7b or hf.co/org/model:tag", scale=3,
                                   elem_id="pull-name")
            pull = gr.Button("Pull", variant="primary", scale=1)
            cancel = gr.Button("Cancel", variant="stop", scale=1)
        progress = gr.Markdown(elem_id="pull-progress")
    with gr.Accordion("Delete or warm up a model", open=False):
        with gr.Row():
            chosen = gr.Dropdown(label="Model to delete", choices=[], scale=3)
            confirm = gr.Checkbox(label="Yes, delete it", value=False, scale=1)
            delete = gr.Button("Delete", variant="stop", scale=1)
        with gr.Row():
            warm = gr.Dropdown(label="Model to load now (warm-up)", choices=[], scale=3)
            load = gr.Button("Load now", scale=1)
        done = gr.Markdown()
    role_inputs, saved = _role_settings()
    tables = tab._tables = [backends, installed, roles, chosen, warm, role_inputs[1]]
    tab._pull_form = [pull_name, pull_box, progress]
    # The UI's own events: scripts use REST /api/models or the named endpoints (API_REFERENCE.md).
    private = {"api_visibility": "private"}
    refresh.click(tab.refresh, outputs=tables, **private)
    pull.click(tab.pull, inputs=pull_name, outputs=progress, **private).then(tab.refresh, outputs=tables, **private)
    cancel.click(tab.cancel, inputs=pull_name, concurrency_limit=None, **private)
    delete.click(tab.delete, inputs=[chosen, confirm], outputs=[done, confirm], **private).then(
        tab.refresh, outputs=tables, **private)
    load.click(tab.load, inputs=warm, outputs=done, **private).then(tab.refresh, outputs=tables, **private)
    role, model, warm_now, kind, url, key, save_default, save_backend = role_inputs
    tab._role_form = [role, model, kind, url]
    role.change(tab.role_form, inputs=role, outputs=[model, kind, url], **private)
    save_default.click(tab.save_default, inputs=[role, model, warm_now], outputs=saved, **private).then(
        tab.refresh, outputs=tables, **private)
    save_backend.click(tab.save_backend, inputs=[role, kind, url, key], outputs=[saved, key], **private).then(
        tab.refresh, outputs=tables, **private)
    return tab


def _role_settings() -> tuple[list[Any], Any]:
    """The form for a role's global default model and its backend; saved to the settings file."""
    with gr.Accordion("A role's default model and backend", open=False):
        gr.Markdown("Saved to the settings file. A profile or a chat can still override the model "
                    "(chat > profile > global). A backend beyond this machine and your private network would "
                    "receive your prompts: it is refused unless `openai.allow_remote` is set, and marked as remote.")
        with gr.Row():
            role = gr.Dropdown(label="Role", choices=[r.value for r in Role], value=Role.CODER.value, scale=1)
            model = gr.Dropdown(label="Global default model", choices=[], allow_custom_value=True, scale=3,
                                elem_id="role-default-model")
            warm_now = gr.Checkbox(label="Load it now (warm-up)", value=True, scale=1)
            save_default = gr.Button("Save default", scale=1)
        with gr.Row():
            kind = gr.Radio(BACKEND_KINDS, value="default", label="Runs on", scale=2)
            url = gr.Textbox(label="Ollama host or base URL", placeholder="http://gpu-box.lan:8000/v1", scale=2)
            key = gr.Textbox(label="API key (optional; kept in the data folder)", type="password", scale=1)
            save_backend = gr.Button("Save backend", scale=1)
        saved = gr.Markdown(elem_id="role-saved")
    return [role, model, warm_now, kind, url, key, save_default, save_backend], saved
