"""Pure formatting for the UI: stored messages and running turns → Chatbot messages, labels, headers.

No gradio import here, so these functions are tested as plain Python.
"""

from __future__ import annotations

import html
import time
from typing import Any, Collection, Iterable, Sequence
from urllib.parse import quote


def answer_text(content: str, status: str, error: str | None, meta: dict | None = None,
                model: str | None = None) -> str:
    """The answer as shown: its text, plus a visible note when it was cut short, lost context or was
    answered by another model than the one asked for."""
    notes = []
    fallback = fallback_note(model, (meta or {}).get("model_asked"))
    if fallback:
        notes.append(fallback)
    dropped = (meta or {}).get("dropped_messages", 0)
    if dropped:
        notes.append(f"Note: *{dropped} older message(s) were left out to fit the model's context window.*")
    if status == "failed":
        notes.append(f"*Failed: {error or 'unknown error'}* — press **Regenerate** to try again.")
    elif status == "stopped":
        notes.append(f"*Stopped{': ' + error if error else ''}.* Press **Regenerate** to answer again.")
    body = closed_code(content) if content or status != "streaming" else "…"
    return "\n\n".join([body, *notes]) if notes else body


def closed_code(text: str) -> str:
    """`text` with a code block left open (an answer cut short inside it) closed: else the notes and the footer
    after it would show as code. The closing fence takes the opening one's indent: a block inside a list item
    closed at the margin would end the item and open a new block there, around the notes."""
    open_indent = None
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("```"):
            open_indent = line[:len(line) - len(stripped)] if open_indent is None else None
    return text if open_indent is None else f"{text}\n{open_indent}```"


def fallback_note(model: str | None, asked: str | None) -> str:
    """"answered by X: Y is not installed" when the model that ran is not the one asked for."""
    if not model or not asked or _same_model(model, asked):
        return ""
    return (f"Note: *answered by `{model}`: `{asked}` is not installed* — [pull `{asked}`]({pull_link(asked)}) "
            "in the **Models** tab, or choose another model for this role.")


def pull_link(name: str) -> str:
    """A link that opens the app on the Models tab with `name` in its pull box (workspace/ui/models.py)."""
    return "?pull=" + quote(name, safe="")


def _same_model(a: str, b: str) -> bool:
    def norm(name: str) -> str:
        return name.lower().removesuffix(":latest")
    return norm(a) == norm(b)


def user_text(message: Any, chat_id: str = "") -> str:
    """A user bubble: its text, its text files folded, its images' thumbnails (served by the app's own route,
    behind its login) and what was read from them, folded."""
    files = [f"<details><summary>File: {html.escape(file.name)} ({file.text.count(chr(10)) + 1} lines)</summary>"
             f"<pre>{html.escape(file.text)}</pre></details>" for file in getattr(message, "attachments", None) or []]
    images = getattr(message, "images", None) or []
    if not images or not chat_id:
        return "\n\n".join(part for part in (message.content, *files) if part)
    base = f"/api/chats/{quote(chat_id)}/messages/{quote(message.id)}/images/"
    thumbs = "".join(f'<img src="{base}{quote(name)}" alt="attached image {number}" class="chat-thumb">'
                     for number, name in enumerate(images, 1))
    analysis = getattr(message, "analysis", "")
    folded = (f"<details><summary>Image analysis</summary><pre>{html.escape(analysis)}</pre></details>" if analysis
              else "<em>Reading the image…</em>")
    return "\n\n".join(part for part in (message.content, *files, thumbs, folded) if part)


def chatbot_messages(messages: Iterable[Any], chat_id: str = "") -> list[dict[str, str]]:
    """Stored messages as Chatbot bubbles; with `chat_id`, user bubbles show their images."""
    shown = []
    for message in messages:
        if message.role == "user":
            shown.append({"role": "user", "content": user_text(message, chat_id)})
        elif message.role == "assistant":
            text = answer_text(message.content, message.status, message.error, getattr(message, "meta", None),
                               getattr(message, "model", None))
            shown.append({"role": "assistant", "content": text + answer_footer(message)})
    return shown


def answer_footer(message: Any) -> str:
    """When the answer was written and by which model, in small print under it ("" when unknown)."""
    parts = [short_time(getattr(message, "created_at", None)), getattr(message, "model", None) or ""]
    shown = " · ".join(html.escape(p) for p in parts if p)
    return f'\n\n<span class="answer-meta">{shown}</span>' if shown else ""


def short_time(timestamp: float | None, now: float | None = None) -> str:
    """"14:32" today, "3 Dec 14:32" this year, "3 Dec 2025" before (the server's local time)."""
    if not timestamp:
        return ""
    when, today = time.localtime(timestamp), time.localtime(now if now is not None else time.time())
    if when[:3] == today[:3]:
        return time.strftime("%H:%M", when)
    if when.tm_year == today.tm_year:
        return f"{when.tm_mday} {time.strftime('%b %H:%M', when)}"
    return f"{when.tm_mday} {time.strftime('%b %Y', when)}"


def row_of(messages: Sequence[Any], message_id: str) -> int:
    """The position of a message among the bubbles `chatbot_messages` shows (0 when not shown)."""
    shown = [m.id for m in messages if m.role in ("user", "assistant")]
    return shown.index(message_id) if message_id in shown else 0


def with_live_answer(history: list[dict[str, str]], text: str, status: str, error: str | None,
                     messages: Sequence[Any] = ()) -> list[dict[str, str]]:
    """Replace the last (assistant) bubble with the live state of a running turn. The answer being written, the
    last of the stored `messages`, keeps its notes while it streams (which model answers in place of the one
    asked for, stored with it; older messages left out, stored before the model is asked)."""
    answer = next((m for m in reversed(messages) if m.role == "assistant"), None)
    live = {"role": "assistant", "content": answer_text(text, status, error, getattr(answer, "meta", None),
                                                         getattr(answer, "model", None))}
    if history and history[-1]["role"] == "assistant":
        return [*history[:-1], live]
    return [*history, live]


PINNED, ANSWERING = "★ ", "● "  # text glyphs every font has: never an emoji font's


def chat_label(chat: Any) -> str:
    study = "Study · " if getattr(chat, "kind", "chat") == "study" else ""
    return (PINNED if chat.pinned else "") + study + (chat.title or "New chat")


def chat_choices(chats: Sequence[Any]) -> list[tuple[str, str]]:
    """Chats for a dropdown: their labels only."""
    return [(chat_label(chat), chat.id) for chat in chats]


def chat_entry(chat: Any, answering: bool = False, now: float | None = None) -> str:
    """A sidebar entry: label and time on the first line, the last message's start on the second (the list's
    CSS keeps each to one line); `answering` marks a chat whose answer is still being written."""
    when = short_time(getattr(chat, "updated_at", None), now)
    first = (ANSWERING if answering else "") + chat_label(chat) + (f" · {when}" if when else "")
    preview = " ".join((getattr(chat, "preview", "") or "").split())
    return f"{first}\n{preview}" if preview else first


def chat_list_choices(chats: Sequence[Any], answering: Collection[str] = ()) -> list[tuple[str, str]]:
    """The sidebar's chat list; chats whose id is in `answering` are marked."""
    return [(chat_entry(chat, chat.id in answering), chat.id) for chat in chats]


def profile_choices(profiles: Sequence[Any]) -> list[tuple[str, str]]:
    return [(profile.name, profile.id) for profile in profiles]


def models_table(effective: Sequence[Any]) -> str:
    rows = ["| role | model | from |", "|---|---|---|"]
    for item in effective:
        source = item.source + (f" — **fallback**, {item.requested!r} is not installed" if item.substituted else "")
        rows.append(f"| {item.role.value} | `{item.model}` | {source} |")
    return "\n".join(rows)
