"""The chat's panels, opened from the toolbar over the conversation: search, chat settings (with its models,
export and import), profile settings, backup."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from workspace.services import Services
from workspace.settings import Role
from workspace.store import SearchHit
from workspace.ui import render
from workspace.ui.chat import ChatView
from workspace.ui.errors import shown_errors

# After a search hit opens its chat: close the panel, bring that message into view and mark it for a moment.
SCROLL_TO_ROW = """(row) => {
  document.body.dataset.panel = '';  // the search panel gives way to the conversation
  setTimeout(() => {
    const el = document.querySelectorAll('#conversation .message-row')[row];
    if (!el) return;
    el.scrollIntoView({block: 'center'});
    el.classList.add('search-hit');
    setTimeout(() => el.classList.remove('search-hit'), 4000);
  }, 400);
  return [];
}"""


# Downloads come straight from the REST routes (streamed, never written to a served folder); they accept
# the page's login session. An attachment response downloads without leaving the page.
DOWNLOAD_EXPORT = """(chatId) => {
  if (chatId) window.location.href = 'api/chats/' + encodeURIComponent(chatId) + '/export?format=FORMAT';
  return [];
}"""
DOWNLOAD_BACKUP = "() => { window.location.href = 'api/backup'; return []; }"


PRIVATE = {"api_visibility": "private"}
# The toolbar's buttons and the panels they open over the page (one at a time; shell.py's CSS and script).
PANELS = [("Search", "search-panel"), ("This chat", "chat-panel"), ("Profile", "profile-panel"),
          ("Backup", "backup-panel")]


def _panel(elem_id: str, title: str) -> gr.Column:
    """A panel: a column shown over the page while the body names it, with a title and a Close button."""
    column = gr.Column(elem_id=elem_id, elem_classes=["ws-panel"])
    with column:
        with gr.Row():
            gr.Markdown(f"### {title}")
            gr.Button("Close", size="sm", scale=0, elem_id=f"close-{elem_id}").click(
                None, js="() => wsPanel('')", **PRIVATE)
    return column


def build(services: Services, view: ChatView) -> None:
    panels = _Panels(services, view)
    model_choices = [""] + services.backend.models()
    with view.toolbar:
        for label, panel in PANELS:
            gr.Button(label, size="sm", elem_id=f"open-{panel}").click(None, js=f"() => wsPanel('{panel}')", **PRIVATE)
    with _panel("search-panel", "Search all messages"):
        with gr.Row():
            query = gr.Textbox(placeholder="Words to find…", show_label=False, scale=4, elem_id="search-box")
            everywhere = gr.Checkbox(label="All profiles", value=True, scale=1)
        hits = gr.Radio(label="Results", choices=[], elem_id="search-results")
        hit_row = gr.Number(visible=False)
    with _panel("chat-panel", "This chat"):
        title = gr.Textbox(label="Title", elem_id="chat-title")
        with gr.Row():
            pinned = gr.Checkbox(label="Pinned", scale=1)
            move_to = gr.Dropdown(label="Move to profile", choices=[], scale=2)
        gr.Markdown("**Models for this chat** (chat > profile > global)")
        view.models.render()
        chat_overrides = {role: gr.Dropdown(label=f"{role.value} model (chat override)", choices=model_choices,
                                            allow_custom_value=True) for role in Role}
        with gr.Row():
            save_chat = gr.Button("Save chat settings")
            delete_chat = gr.Button("Delete chat", variant="stop")
            undo_delete = gr.Button("Undo delete")
        with gr.Row():
            export_md = gr.Button("Export Markdown")
            export_json = gr.Button("Export JSON")
        import_file = gr.File(label="Import a chat (JSON)", file_types=[".json"], type="filepath")
        gr.Markdown(import_hint(services.settings.server), elem_id="import-hint")
    with _panel("profile-panel", "Profile"):
        with gr.Row():
            new_name = gr.Textbox(label="New profile name", scale=3, elem_id="new-profile-name")
            create = gr.Button("Create profile", scale=1)
        name = gr.Textbox(label="Name")
        description = gr.Textbox(label="Description")
        system_prompt = gr.Textbox(label="System prompt", lines=3)
        threshold = gr.Number(label="Code pipeline: escalate below this confidence (empty: the global setting)",
                              precision=0, minimum=0, maximum=100, elem_id="profile-threshold")
        profile_overrides = {role: gr.Dropdown(label=f"{role.value} model (profile override)",
                                               choices=model_choices, allow_custom_value=True) for role in Role}
        save_profile = gr.Button("Save profile")
        confirm = gr.Checkbox(label="Yes, delete this profile and all its chats")
        delete_profile = gr.Button("Delete profile", variant="stop")
    with _panel("backup-panel", "Backup"):
        gr.Markdown("One zip of every profile and chat. Restore it into a new folder with "
                    "`python -m workspace.restore BACKUP.zip NEW_FOLDER` — it never overwrites existing data.")
        backup = gr.Button("Download a backup")

    chat_fields = [title, pinned, move_to, *chat_overrides.values()]
    profile_fields = [name, description, system_prompt, threshold, *profile_overrides.values()]
    private = PRIVATE
    view.chats.change(panels.chat_settings, [view.profile, view.chats], chat_fields, **private)
    view.when_profile_shown(panels.chat_settings, [view.profile, view.chats], chat_fields)
    view.profile.change(panels.profile_settings, [view.profile], profile_fields, **private)
    save_chat.click(panels.save_chat, [view.profile, view.chats, *chat_fields],
                    [view.chats, view.models], **private)
    delete_chat.click(panels.delete_chat, [view.profile, view.chats], [view.chats, view.chatbot], **private)
    undo_delete.click(panels.undo_delete, [view.profile], [view.chats], **private)
    export_md.click(None, [view.chats], None, js=DOWNLOAD_EXPORT.replace("FORMAT", "md"), **private)
    export_json.click(None, [view.chats], None, js=DOWNLOAD_EXPORT.replace("FORMAT", "json"), **private)
    import_file.upload(panels.import_chat, [view.profile, import_file], [view.chats], **private)
    view.show_profile_after(create.click(panels.create_profile, [new_name], [view.profile, new_name], **private))
    save_profile.click(panels.save_profile, [view.profile, view.chats, *profile_fields], [view.profile, view.models],
                       **private)
    view.show_profile_after(delete_profile.click(panels.delete_profile, [view.profile, confirm],
                                                 [view.profile, confirm], **private))
    backup.click(None, None, None, js=DOWNLOAD_BACKUP, **private)
    query.submit(panels.search, [query, everywhere, view.profile], [hits], **private)
    hits.input(panels.open_hit, [hits], [view.profile, view.chats, view.chatbot, view.remembered, hit_row],
               **private).then(None, [hit_row], None, js=SCROLL_TO_ROW, **private)


class _Panels:
    def __init__(self, services: Services, view: ChatView):
        self.services, self.store, self.view = services, services.store, view
        self._last_deleted: dict[str, str] = {}  # per browser session: what "Undo delete" brings back

    @shown_errors
    def chat_settings(self, profile_id: str | None, chat_id: str | None):
        profiles = render.profile_choices(self.store.list_profiles())
        if not chat_id:
            return ["", False, gr.update(choices=profiles, value=profile_id), *([""] * len(Role))]
        chat = self.store.get_chat(chat_id)
        overrides = [chat.model_overrides.get(role.value, "") for role in Role]
        return [chat.title, chat.pinned, gr.update(choices=profiles, value=chat.profile_id), *overrides]

    @shown_errors
    def profile_settings(self, profile_id: str | None):
        if not profile_id:
            return ["", "", "", None, *([""] * len(Role))]
        profile = self.store.get_profile(profile_id)
        overrides = [profile.model_overrides.get(role.value, "") for role in Role]
        return [profile.name, profile.description, profile.system_prompt, profile.confidence_threshold, *overrides]

    @shown_errors
    def save_chat(self, profile_id: str, chat_id: str | None, title: str, pinned: bool, move_to: str, *models: str):
        if not chat_id:
            raise gr.Error("Open a chat first.")
        self.store.update_chat(chat_id, title=title.strip() or None, pinned=pinned, model_overrides=_overrides(models))
        if move_to and move_to != profile_id:
            self.store.move_chat(chat_id, move_to)
            gr.Info("Chat moved.")
        return self.view.actions.chats_update(profile_id), self.view.actions.models_for(profile_id, chat_id)

    @shown_errors
    def delete_chat(self, profile_id: str, chat_id: str | None, request: gr.Request = None):
        if not chat_id:
            raise gr.Error("Open a chat first.")
        self.services.chat.stop(chat_id)
        self.store.delete_chat(chat_id)
        self._last_deleted[_session(request)] = chat_id
        self.view.actions.opened(request, profile_id, None)
        gr.Info("Chat deleted. Press “Undo delete” to bring it back.")
        return self.view.actions.chats_update(profile_id, value=None), []

    @shown_errors
    def undo_delete(self, profile_id: str, request: gr.Request = None):
        chat_id = self._last_deleted.pop(_session(request), None)
        if chat_id is None:
            raise gr.Error("There is no deleted chat to bring back.")
        self.store.restore_chat(chat_id)
        return self.view.actions.chats_update(profile_id, value=chat_id)

    @shown_errors
    def import_chat(self, profile_id: str, file_path: str | None):
        if not file_path:
            return gr.update()
        path, limit = Path(file_path), self.services.settings.server.max_import_mb * 2**20
        if path.stat().st_size > limit:
            raise gr.Error(f"That file is too large to import (limit {limit // 2**20} MB).")
        with open(path, "rb") as export:  # read as a stream: its images are written as they are read
            chat = self.store.import_chat_stream(profile_id, export, limit)
        gr.Info(f"Imported “{chat.title}”.")
        return self.view.actions.chats_update(profile_id, value=chat.id)

    @shown_errors
    def create_profile(self, name: str):
        if not (name or "").strip():
            raise gr.Error("Give the new profile a name.")
        profile = self.store.create_profile(name.strip())
        return gr.update(choices=render.profile_choices(self.store.list_profiles()), value=profile.id), ""

    @shown_errors
    def save_profile(self, profile_id: str, chat_id: str | None, name: str, description: str, system_prompt: str,
                     threshold: float | None, *models: str):
        self.store.update_profile(profile_id, name=name.strip() or None, description=description,
                                  system_prompt=system_prompt, model_overrides=_overrides(models),
                                  confidence_threshold=None if threshold is None else int(threshold))
        return (gr.update(choices=render.profile_choices(self.store.list_profiles()), value=profile_id),
                self.view.actions.models_for(profile_id, chat_id))

    @shown_errors
    def delete_profile(self, profile_id: str, confirmed: bool):
        if not confirmed:
            raise gr.Error("Tick the confirmation box first: deleting a profile deletes its chats.")
        if len(self.store.list_profiles()) <= 1:
            raise gr.Error("This is the only profile; create another one before deleting it.")
        self.store.delete_profile(profile_id)
        profiles = self.store.list_profiles()
        return gr.update(choices=render.profile_choices(profiles), value=profiles[0].id), False

    @shown_errors
    def search(self, query: str, everywhere: bool, profile_id: str):
        if not (query or "").strip():
            return gr.update(choices=[], value=None)
        hits = self.store.search(query, profile_id=None if everywhere else profile_id, limit=50)
        if not hits:
            gr.Info("No message matches.")
        return gr.update(choices=[(_hit_label(h), f"{h.chat_id}/{h.message_id}") for h in hits], value=None)

    @shown_errors
    def open_hit(self, hit: str | None, request: gr.Request = None):
        if not hit:
            return gr.update(), gr.update(), gr.update(), gr.update(), gr.update()
        chat_id, message_id = hit.split("/", 1)
        chat = self.store.get_chat(chat_id)
        messages = self.services.chat.messages(chat_id)
        return (gr.update(value=chat.profile_id), self.view.actions.chats_update(chat.profile_id, value=chat_id),
                render.chatbot_messages(messages, chat_id), self.view.actions.opened(request, chat.profile_id, chat_id),
                render.row_of(messages, message_id))


def import_hint(server) -> str:
    """What the page can import, and the way for a bigger export: the page uploads through Gradio's upload
    route, which serves every upload and so keeps the general body limit; the REST import reads its body as a
    stream up to its own, larger limit."""
    if server.max_import_mb <= server.max_body_mb:
        return ""
    return (f"Exports up to {server.max_body_mb} MB import here (`server.max_body_mb`). A bigger one, up to "
            f"{server.max_import_mb} MB (`server.max_import_mb`): `curl -X POST "
            "http://<this app>/api/profiles/<profile id>/import -H 'content-type: application/json' "
            "--data-binary @chat.json` (on the LAN add `-H \"Authorization: Bearer $PASSWORD\"`; the profile's id "
            "is in `GET /api/profiles`).")


def _hit_label(hit: SearchHit) -> str:
    """A result as listed: the chat, the words around the hit, and where they were when not in the text."""
    where = {"attachment": f" (in the file {hit.attachment})", "image": " (in the text read from an image)"}
    return f"{hit.chat_title} — {hit.snippet}{where.get(hit.source, '')}"


def _session(request: gr.Request | None) -> str:
    return (request.session_hash if request is not None else None) or ""


def _overrides(models: tuple[str, ...]) -> dict[str, str]:
    """Per-role override dropdowns (in `Role` order) → the non-blank ones, by role name."""
    return {role.value: model.strip() for role, model in zip(Role, models) if (model or "").strip()}
