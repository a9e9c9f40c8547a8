"""Gradio named endpoints for scripts (`gradio_client.Client(...).predict(..., api_name="/chat")`).

Each endpoint is a thin call into the same services the UI uses; records go out as plain dicts.
Streaming endpoints yield the whole answer so far, so a client can print partial results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import gradio as gr
from gradio.utils import get_upload_folder

from workspace.services import Services
from workspace.turns import Turn
from workspace.ui.errors import shown_errors
from workspace.vision.images import AttachmentRejected


def register(services: Services) -> None:
    store, chat = services.store, services.chat

    def _follow(turn: Turn) -> Iterator[str]:
        for snapshot in turn.follow():
            if snapshot.status == "failed":
                raise gr.Error(snapshot.error or "The answer failed.")
            yield snapshot.text

    @shown_errors
    def send_message(chat_id: str, message: str, files: list[dict] | None = None) -> Iterator[str]:
        """Send `message` in chat `chat_id` and stream the answer (the text so far, growing). `files`: images
        and text files, each `gradio_client.handle_file(path)` (the client uploads them first)."""
        uploads = [_uploaded(file, services.vision.read_limit) for file in files or []]
        turn = services.vision.send(chat_id, message, uploads) if uploads else chat.send(chat_id, message)
        yield from _follow(turn)

    @shown_errors
    def regenerate(chat_id: str) -> Iterator[str]:
        """Answer the last user message of the chat again, streaming."""
        yield from _follow(chat.regenerate(chat_id))

    @shown_errors
    def stop(chat_id: str) -> bool:
        """Stop the answer being written in the chat; False when none was."""
        return chat.stop(chat_id)

    @shown_errors
    def list_profiles() -> list[dict]:
        return [p.model_dump() for p in store.list_profiles()]

    @shown_errors
    def create_profile(name: str, description: str = "", system_prompt: str = "") -> dict:
        return store.create_profile(name, description=description, system_prompt=system_prompt).model_dump()

    @shown_errors
    def list_chats(profile_id: str) -> list[dict]:
        return [c.model_dump() for c in store.list_chats(profile_id)]

    @shown_errors
    def create_chat(profile_id: str, title: str = "New chat") -> dict:
        return store.create_chat(profile_id, title=title).model_dump()

    @shown_errors
    def messages(chat_id: str) -> list[dict]:
        return [m.model_dump() for m in chat.messages(chat_id)]

    @shown_errors
    def search(query: str, profile_id: str = "") -> list[dict]:
        return [hit.model_dump() for hit in store.search(query, profile_id=profile_id or None)]

    @shown_errors
    def export_chat(chat_id: str, format: str = "json") -> dict | str:
        """The chat as a JSON document (format "json") or as Markdown (format "md")."""
        return store.export_chat_markdown(chat_id) if format == "md" else store.export_chat_json(chat_id)

    @shown_errors
    def import_chat(profile_id: str, export: dict) -> dict:
        """Import a chat exported as JSON into a profile; returns the new chat."""
        return store.import_chat_json(profile_id, export, services.settings.server.max_import_mb * 2**20).model_dump()

    @shown_errors
    def code(task: str, language: str = "python", profile_id: str = "", chat_id: str = "") -> Iterator[dict]:
        """Run the code pipeline on `task`; streams {"run_id", "done": false, "event"} items, then
        {"run_id", "done": true, "result"} (the same result object as REST `POST /api/code`)."""
        run = services.pipeline.start(task, language or "python", profile_id or None, chat_id or None)
        for event in run.follow():
            if event["event"] == "done":
                yield {"run_id": run.run_id, "done": True, "result": event["result"]}
            elif event["event"] == "stage":
                yield {"run_id": run.run_id, "done": False, "event": event}

    @shown_errors
    def study(topic: str, level: str = "intermediate", profile_id: str = "", chat_id: str = "") -> Iterator[dict]:
        """Ask the study tutor (a new session, or a follow-up in `chat_id`); streams {"chat_id", "text",
        "status"} with the explanation so far."""
        session, turn = services.study.ask(topic, level, profile_id or None, chat_id or None)
        for snapshot in turn.follow():
            if snapshot.status == "failed":
                raise gr.Error(snapshot.error or "The answer failed.")
            yield {"chat_id": session, "text": snapshot.text, "status": snapshot.status}

    @shown_errors
    def dashboard_history(limit: int = 50, offset: int = 0, profile_id: str = "", kind: str = "", model: str = "",
                          outcome: str = "", since: str = "", until: str = "", stage: str = "",
                          confidence_min: str = "", confidence_max: str = "") -> dict:
        """The run history newest first, as REST `GET /api/dashboard/history`: {"runs", "total", "skipped_lines"}."""
        return services.dashboard.history(int(limit), int(offset), profile_id=profile_id, kind=kind, model=model,
                                          outcome=outcome, since=since, until=until, stage=stage,
                                          confidence_min=confidence_min, confidence_max=confidence_max)

    for fn, name in [
        (send_message, "chat"), (regenerate, "regenerate"), (stop, "stop"), (list_profiles, "profiles"),
        (create_profile, "create_profile"), (list_chats, "chats"), (create_chat, "create_chat"),
        (messages, "messages"), (search, "search"), (export_chat, "export_chat"), (import_chat, "import_chat"),
        (code, "code"), (study, "study"), (dashboard_history, "dashboard_history"),
    ]:
        gr.api(fn, api_name=name, concurrency_limit=None)


def _uploaded(file: object, limit: int) -> tuple[str, bytes]:
    """A file the client uploaded (a FileData dict): only a path inside Gradio's upload folder is read, so an
    API caller cannot name any other file on this machine."""
    path = file.get("path") if isinstance(file, dict) else None
    if not isinstance(path, str) or not path:
        raise AttachmentRejected("Each file must be sent with gradio_client.handle_file(path).")
    resolved = Path(path).resolve()
    if "\x00" in path or not resolved.is_relative_to(Path(get_upload_folder()).resolve()) or not resolved.is_file():
        raise AttachmentRejected("That file was not uploaded to this app: "
                                 "send it with gradio_client.handle_file(path).")
    with open(resolved, "rb") as handle:
        return str(file.get("orig_name") or resolved.name), handle.read(limit)
