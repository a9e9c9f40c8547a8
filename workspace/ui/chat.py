"""The Chat tab: profile and chat lists beside a conversation that streams, stops, regenerates and edits.

Callbacks are thin: unpack, call one service, format with `render`. The answer itself runs in a
server-side turn; the events here only follow it, so switching chats or reloading loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from workspace.services import Services
from workspace.store.errors import NotFound
from workspace.ui import render
from workspace.ui.errors import shown_errors
from workspace.ui.sessions import SessionMemory

KIND_FILTERS = [("All", ""), ("Chats", "chat"), ("Study", "study")]


@dataclass
class ChatView:
    """The components other parts of the UI wire into."""

    profile: gr.Dropdown
    chats: gr.Radio
    chat_filter: gr.Textbox
    chatbot: gr.Chatbot
    remembered: gr.BrowserState
    models: gr.Markdown
    toolbar: gr.Row
    actions: "_Actions"
    # Events after which the profile shown and its chat list agree, and what runs after each (`when_profile_shown`).
    _shown: list = field(default_factory=list)
    _after_shown: list = field(default_factory=list)

    def wire_page_load(self, demo: gr.Blocks) -> None:
        """Reopen the browser's last profile and chat, and follow its answer if one is being written."""
        restored = demo.load(self.actions.restore, [self.remembered],
                             [self.profile, self.chats, self.chatbot, self.remembered, self.models],
                             api_visibility="private")
        restored.then(self.actions.follow, [self.chats], [self.chatbot], api_visibility="private",
                      concurrency_limit=None)
        self.profile_shown(restored)

    def profile_shown(self, event: Any) -> None:
        """`event` leaves the profile switcher and the chat list in agreement: the listeners follow it."""
        self._shown.append(event)
        for listener in self._after_shown:
            event.then(**listener)

    def show_profile_after(self, event: Any) -> None:
        """After `event` put another profile in the switcher (created, or the one left after a delete): its
        chat list and newest chat follow, as when the user picks it (not when `event` failed)."""
        self.profile_shown(event.success(self.actions.open_profile, [self.profile],
                                      [self.chats, self.chatbot, self.remembered, self.models],
                                      api_visibility="private"))

    def when_profile_shown(self, fn: Any, inputs: list, outputs: list) -> None:
        """Run `fn` once another profile is shown with its chat list. Not on the switcher's own change: that
        fires as the user picks, while the list still holds the old profile's chat, and a callback reading the
        list then meets a chat that is no longer among its choices (Gradio refuses it with an error toast)."""
        listener = dict(fn=fn, inputs=inputs, outputs=outputs, api_visibility="private", show_progress="hidden")
        self._after_shown.append(listener)
        for event in self._shown:
            event.then(**listener)


def build(services: Services) -> ChatView:
    actions = _Actions(services)
    remembered = gr.BrowserState({"profile": "", "chat": ""}, storage_key="workspace-last-open")
    editing = gr.State(False)
    started = gr.State("")  # the answer (message id) this browser's last Send or Regenerate started
    # The sidebar: who is talking and which chat (Gradio makes it a sliding panel on a phone).
    with gr.Sidebar(open=True, width=300, elem_id="sidebar", label="Chats"):
        profile = gr.Dropdown(label="Profile", choices=[], interactive=True, elem_id="profile-switcher")
        new_chat = gr.Button("+ New chat", variant="secondary", elem_id="new-chat")
        chat_filter = gr.Textbox(placeholder="Filter chats (Ctrl+K)", show_label=False, container=False,
                                 elem_id="chat-filter")
        kind_filter = gr.Radio(choices=KIND_FILTERS, value="", show_label=False, container=False,
                               elem_id="chat-kind-filter")
        chats = gr.Radio(label="Chats", choices=[], elem_id="chat-list")
    # The conversation: a toolbar for the panels (ui/library.py fills it), the messages, the message box.
    with gr.Column(elem_id="chat-main"):
        toolbar = gr.Row(elem_id="chat-toolbar")
        # autoscroll=False: the page's own script follows the end instead (ui/shell.py: Gradio's scrolls down
        # even after the user scrolled up to read).
        chatbot = gr.Chatbot(label="Conversation", buttons=["copy", "copy_all"], elem_id="conversation",
                             feedback_options=None, placeholder="Start a new chat.", show_label=False,
                             autoscroll=False)
        # lines=1 makes Enter send and Shift+Enter add a line (Gradio swaps them when lines > 1). Files
        # (images, text files: sorted by content on the server, so any type is offered) come by button,
        # drag-and-drop or paste; pasted text up to a message's limit stays text (Gradio's default makes
        # anything over 1,000 characters a file: a pasted traceback would stop being part of the message).
        text = gr.MultimodalTextbox(placeholder="Message (Enter sends, Shift+Enter new line); attach or paste "
                                    "images and text files", lines=1, max_lines=12, show_label=False,
                                    autofocus=True, elem_id="message-box", file_count="multiple",
                                    sources=["upload"],
                                    max_plain_text_length=services.settings.chat.max_message_chars)
        with gr.Row(elem_id="chat-actions"):
            send = gr.Button("Send", variant="primary", elem_id="send", size="sm")
            stop = gr.Button("Stop", elem_id="stop", size="sm")
            regenerate = gr.Button("Regenerate", elem_id="regenerate", size="sm")
            edit = gr.Button("Edit last", elem_id="edit-last", size="sm")
    # Shown in the chat's settings panel (ui/library.py renders it there).
    models = gr.Markdown(elem_id="effective-models", render=False)

    view = ChatView(profile, chats, chat_filter, chatbot, remembered, models, toolbar, actions)
    # Sending: store the message and start the turn, then follow it, then refresh titles.
    start = dict(fn=actions.start, inputs=[profile, chats, text, editing],
                 outputs=[text, chatbot, chats, remembered, editing, started], api_visibility="private")
    # Following only waits on a turn, so any number may run at once. After Send or Regenerate it follows
    # the turn they started (never a newer one); on opening a chat, whatever that chat is writing.
    follow_started = dict(fn=actions.follow, inputs=[chats, started], outputs=[chatbot], api_visibility="private",
                          concurrency_limit=None)
    follow = dict(fn=actions.follow, inputs=[chats], outputs=[chatbot], api_visibility="private",
                  concurrency_limit=None)
    # Refreshing the list (titles, marks) never selects, and shows no spinner over it: a chat picked while it
    # runs stays picked and clickable (a turn's end queues it, so it often runs as the user moves on).
    relist = dict(fn=actions.chat_list, inputs=[profile, chat_filter, kind_filter], outputs=[chats],
                  api_visibility="private", show_progress="hidden")
    following = [
        text.submit(**start).then(**follow_started),
        send.click(**start).then(**follow_started),
        regenerate.click(actions.regenerate, [chats], [chatbot, started],
                         api_visibility="private").then(**follow_started),
    ]
    for event in following:
        event.then(**relist)
    stop.click(actions.stop, [chats], None, api_visibility="private")
    edit.click(actions.begin_edit, [chats], [text, editing], api_visibility="private")
    # Opening another chat stops following the old one (its turn keeps running server-side).
    chats.input(actions.open_chat, [profile, chats], [chatbot, remembered, models], cancels=following,
                api_visibility="private").then(**follow)
    switched = profile.input(actions.open_profile, [profile], [chats, chatbot, remembered, models],
                             cancels=following, api_visibility="private")
    switched.then(**follow)
    view.profile_shown(switched)
    new_chat.click(actions.new_chat, [profile, remembered], [chats, chatbot, remembered, models], cancels=following,
                   api_visibility="private")
    chat_filter.change(**relist)
    kind_filter.change(**relist)
    return view


class _Actions:
    """The callbacks, bound to the services."""

    def __init__(self, services: Services):
        self.services = services
        self.store = services.store
        # Which chat each browser session has open: a follower stops writing into a conversation
        # pane once its session has moved on (Gradio's `cancels` alone did not stop it reliably).
        self._open_chat = SessionMemory()

    def opened(self, request: gr.Request | None, profile_id: str, chat_id: str | None) -> dict:
        """Record the chat a session now shows; returns the value the browser remembers."""
        self._open_chat.remember(request, chat_id)
        return {"profile": profile_id, "chat": chat_id or ""}

    @shown_errors
    def restore(self, remembered: dict | None, request: gr.Request = None):
        """On page load: reopen the browser's last profile and chat (or the newest), unless the user already
        opened one in this session (a New chat clicked before this ran is not taken back)."""
        profiles = self.services.profiles()
        profile_id, chat_id = self._chosen(request) or self._remembered(remembered, profiles)
        return (
            gr.update(choices=render.profile_choices(profiles), value=profile_id),
            self.chats_update(profile_id, value=chat_id),
            self._history(chat_id),
            self.opened(request, profile_id, chat_id),
            self.models_for(profile_id, chat_id),
        )

    def _chosen(self, request: gr.Request | None) -> tuple[str, str] | None:
        """The profile and chat this session opened already, if any (and the chat still exists)."""
        chat_id = self._open_chat.shown(request, "")
        try:
            return (self.store.get_chat(chat_id).profile_id, chat_id) if chat_id else None
        except NotFound:
            return None

    def _remembered(self, remembered: dict | None, profiles: list) -> tuple[str, str | None]:
        """The browser's last profile and chat when they still exist (else the first profile, its newest chat)."""
        remembered = remembered or {}
        profile_id = _profile(remembered.get("profile"), profiles)
        chat_ids = [c.id for c in self.store.list_chats(profile_id)]
        chat_id = remembered.get("chat") if remembered.get("chat") in chat_ids else (chat_ids[0] if chat_ids else None)
        return profile_id, chat_id

    @shown_errors
    def start(self, profile_id: str, chat_id: str | None, value: dict | str, editing: bool,
              request: gr.Request = None):
        text, files = _message_parts(value)
        if files and editing:
            raise gr.Error("Editing a message cannot add files: send them in a new message.")
        uploads = [_upload(path, self.services.vision.read_limit) for path in files]
        if uploads:
            self.services.vision.check(uploads)  # a bad file: nothing stored, not even a new chat
        if not chat_id:
            chat_id = self.store.create_chat(profile_id).id
        if editing:
            turn = self.services.chat.edit_last(chat_id, text)
        elif uploads:
            turn = self.services.vision.send(chat_id, text, uploads)
        else:
            turn = self.services.chat.send(chat_id, text)
        chats = self.chats_update(profile_id, value=chat_id)
        opened = self.opened(request, profile_id, chat_id)
        return EMPTY_MESSAGE, self._history(chat_id), chats, opened, False, turn.message_id

    @shown_errors
    def follow(self, chat_id: str | None, started: str = "", request: gr.Request = None):
        """Follow the answer this browser started (`started`: its message id), else whatever the chat writes."""
        turn = None
        if chat_id:
            turn = self.services.chat.turn(chat_id, started) if started else self.services.chat.running(chat_id)
        if turn is None:
            # A generator that yields nothing would blank the conversation; an answer that was replaced
            # meanwhile (another tab) shows as stored.
            yield self._history(chat_id) if started else gr.skip()
            return
        messages = self.services.chat.messages(chat_id)
        history = render.chatbot_messages(messages, chat_id)
        begun = False
        for snapshot in turn.follow():
            if snapshot.text and not begun:  # the model has begun: every note of the answer is stored
                messages, begun = self.services.chat.messages(chat_id), True
            now_open = self._open_chat.shown(request, chat_id)
            if now_open != chat_id:
                # This browser opened another chat meanwhile. Gradio may still deliver the previous
                # yield after that chat's own output, so the last word must be the open chat.
                yield self._history(now_open or None)
                return
            yield render.with_live_answer(history, snapshot.text, snapshot.status, snapshot.error, messages)
        yield self._history(chat_id)

    @shown_errors
    def regenerate(self, chat_id: str | None):
        if not chat_id:
            raise gr.Error("Open a chat first.")
        turn = self.services.chat.regenerate(chat_id)
        return self._history(chat_id), turn.message_id

    @shown_errors
    def stop(self, chat_id: str | None) -> None:
        if chat_id and not self.services.chat.stop(chat_id):
            gr.Info("Nothing is being written in this chat.")

    @shown_errors
    def begin_edit(self, chat_id: str | None):
        messages = self.services.chat.messages(chat_id) if chat_id else []
        last_user = next((m for m in reversed(messages) if m.role == "user"), None)
        if last_user is None:
            raise gr.Error("There is no message to edit.")
        gr.Info("Edit the message and send it: it replaces the last one and its answer.")
        return {"text": last_user.content, "files": []}, True

    @shown_errors
    def open_chat(self, profile_id: str, chat_id: str | None, request: gr.Request = None):
        return self._history(chat_id), self.opened(request, profile_id, chat_id), self.models_for(profile_id, chat_id)

    @shown_errors
    def open_profile(self, profile_id: str, request: gr.Request = None):
        chats = self.store.list_chats(profile_id)
        chat_id = chats[0].id if chats else None
        return (self._list(chats, value=chat_id), self._history(chat_id),
                self.opened(request, profile_id, chat_id), self.models_for(profile_id, chat_id))

    @shown_errors
    def new_chat(self, profile_id: str | None, remembered: dict | None = None, request: gr.Request = None):
        """A new chat in the profile shown; before the page restored its profile, in the browser's last one."""
        profile_id = profile_id or _profile((remembered or {}).get("profile"), self.services.profiles())
        chat = self.store.create_chat(profile_id)
        return (self.chats_update(profile_id, value=chat.id), [],
                self.opened(request, profile_id, chat.id), self.models_for(profile_id, chat.id))

    @shown_errors
    def chat_list(self, profile_id: str, query: str, kind: str = ""):
        """The list refreshed (titles, marks, a filter), the browser's selection left as it is."""
        if not profile_id:
            return gr.update()
        return self.chats_update(profile_id, query=query or "", kind=kind or None)

    def chats_update(self, profile_id: str, *, query: str = "", kind: str | None = None, **selection: Any) -> dict:
        """The chat list of a profile (of one kind: chats or study sessions), fresh; `value=` selects a chat."""
        return self._list(self.store.list_chats(profile_id, query=query, kind=kind), **selection)

    def _list(self, chats: list, **selection: Any) -> dict:
        """The sidebar list of `chats`, the ones still being answered marked."""
        answering = {chat.id for chat in chats if self.services.chat.running(chat.id)}
        return gr.update(choices=render.chat_list_choices(chats, answering), **selection)

    def _history(self, chat_id: str | None) -> list[dict[str, str]]:
        return render.chatbot_messages(self.services.chat.messages(chat_id), chat_id) if chat_id else []

    def models_for(self, profile_id: str | None, chat_id: str | None) -> str:
        """The per-role table for the open chat: what runs, and from which level it comes."""
        profile = self.store.get_profile(profile_id) if profile_id else None
        chat = self.store.get_chat(chat_id) if chat_id else None
        effective = self.services.router.all_roles(profile and profile.model_overrides, chat and chat.model_overrides)
        return render.models_table(effective)


EMPTY_MESSAGE = {"text": "", "files": []}


def _message_parts(value: dict | str | None) -> tuple[str, list[str]]:
    """The message box's value (text and uploaded file paths); plain text from API callers too."""
    if isinstance(value, dict):
        files = [f if isinstance(f, str) else f.get("path", "") for f in value.get("files") or []]
        return value.get("text") or "", [f for f in files if f]
    return value or "", []


def _upload(path: str, limit: int) -> tuple[str, bytes]:
    """One file Gradio received into its own upload folder: its name and at most `limit` of its bytes."""
    with open(path, "rb") as file:
        return path.rsplit("/", 1)[-1], file.read(limit)


def _profile(wanted: str | None, profiles: list) -> str:
    """`wanted` when it is one of `profiles`, else the first one."""
    profile_ids = [p.id for p in profiles]
    return wanted if wanted in profile_ids else profile_ids[0]
