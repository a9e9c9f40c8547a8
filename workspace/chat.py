"""Chat turns: send, follow, stop, regenerate, edit-and-resend; fitting history into the context window.

The user's message is stored before any model is called; the answer is produced by a `Turn` in a
worker thread and stored as it grows, so a closed tab, a switched chat or a crashed browser loses
nothing. One running turn per chat.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from loguru import logger

from workspace.history import RunHistory, turn_record
from workspace.llm import LLMError, LLMGateway
from workspace.pipeline.prompts import STUDY_LEVELS, STUDY_SYSTEM
from workspace.routing import ModelRouter
from workspace.settings import ChatSettings, Role
from workspace.turns import Turn, TurnResult, run_turn

TITLE_CHARS = 60
INTERRUPTED = "Interrupted: the app stopped while this answer was being written."


class ChatError(Exception):
    """A chat request that cannot be served as asked; the message says why."""


class ChatBusy(ChatError):
    """The chat is still answering; one turn at a time."""


@dataclass(frozen=True)
class FittedHistory:
    messages: list[dict[str, str]]
    dropped: int  # older messages left out to fit the context window


def estimate_tokens(text: str) -> int:
    """A deliberately pessimistic estimate (code runs about 3 characters a token), plus framing."""
    return len(text) // 3 + 4


def system_prompt_for(kind: str, profile_prompt: str, history: Sequence[Any]) -> str:
    """A study session adds the tutor's prompt at the level of its latest question to the profile's own."""
    if kind != "study":
        return profile_prompt
    asked = next((m.meta.get("level") for m in reversed(history) if m.role == "user" and m.meta.get("level")), None)
    level = asked if asked in STUDY_LEVELS else "intermediate"
    tutor = STUDY_SYSTEM.format(level=level, level_hint=STUDY_LEVELS[level])
    return "\n\n".join(part for part in (profile_prompt, tutor) if part)


def fenced(name: str, text: str) -> str:
    """A named fenced block whose fence is longer than any run of backticks inside the text."""
    fence = "`" * max(3, max(map(len, re.findall("`+", text)), default=0) + 1)
    return f"[Attached file: {name}]\n{fence}\n{text.rstrip(chr(10))}\n{fence}"


def model_text(message: Any) -> str:
    """What the model reads of a message: its text, its text files as named fenced blocks, and the
    analysis of its images when it has any."""
    parts = [message.content]
    parts += [fenced(file.name, file.text) for file in getattr(message, "attachments", ())]
    analysis = getattr(message, "analysis", "")
    if analysis:
        parts.append(f"[Analysis of the attached image(s)]\n{analysis}")
    return "\n\n".join(part for part in parts if part)


def fit_history(system_prompt: str, history: Sequence[Any], budget_tokens: int) -> FittedHistory:
    """Keep the system prompt and the newest messages that fit `budget_tokens`; the last one always."""
    kept: list[dict[str, str]] = []
    used = estimate_tokens(system_prompt) if system_prompt else 0
    usable = [m for m in history if m.role in ("user", "assistant") and (m.content or m.role == "user")]
    for index, message in enumerate(reversed(usable)):
        text = model_text(message)
        cost = estimate_tokens(text)
        if index > 0 and used + cost > budget_tokens:
            break
        kept.append({"role": message.role, "content": text})
        used += cost
    kept.reverse()
    if system_prompt:
        kept.insert(0, {"role": "system", "content": system_prompt})
    return FittedHistory(kept, len(usable) - (len(kept) - bool(system_prompt)))


class ChatService:
    def __init__(self, store: Any, gateway: LLMGateway, router: ModelRouter, settings: ChatSettings,
                 history: RunHistory | None = None):
        self.store, self.gateway, self.router, self.settings = store, gateway, router, settings
        self.history = history
        self._turns: dict[str, Turn] = {}
        self._locks: dict[str, threading.Lock] = {}  # one per chat: a slow chat never holds up another
        self._locks_guard = threading.Lock()

    # -- starting turns ------------------------------------------------------------------------
    def send(self, chat_id: str, text: str, meta: dict | None = None, images: Sequence[str] = (),
             analyse: Callable[[Turn], str] | None = None, attachments: Sequence[dict] = ()) -> Turn:
        """Store the user's message (durably), then start the answer. `meta`: small facts kept with it.

        `images`: file names already in the chat's folder; `analyse(turn)` reads them, in the turn's worker
        before the model is asked, and its text is stored with the message as its `analysis`.
        `attachments`: text files ({"name", "text"}) stored with the message and read by the model."""
        text = self._checked_text(text, allow_empty=bool(images or attachments))
        with self._lock_for(chat_id):
            self._ensure_idle(chat_id)
            message = self.store.append_message(chat_id, "user", text, meta=meta or {}, images=list(images),
                                                attachments=list(attachments))
            first_file = attachments[0]["name"] if attachments else "Image"
            self._auto_title(chat_id, text or (first_file if not images else "Image"))
            return self._start_turn(chat_id, (message.id, analyse) if analyse else None)

    def regenerate(self, chat_id: str) -> Turn:
        """Drop the last answer (whatever its status) and answer the last user message again."""
        with self._lock_for(chat_id):
            self._ensure_idle(chat_id)
            messages = self.store.list_messages(chat_id)
            if not messages or not any(m.role == "user" for m in messages):
                raise ChatError("There is no message to answer again.")
            if messages[-1].role == "assistant":
                self.store.truncate_after(chat_id, messages[-1].id, inclusive=True)
            return self._start_turn(chat_id)

    def edit_last(self, chat_id: str, text: str) -> Turn:
        """Replace the last user message's text (and the answer after it) and send again. Only the text is
        edited: the message keeps its images (their files stay in the chat's folder), their analysis, its
        text files and its meta."""
        with self._lock_for(chat_id):
            self._ensure_idle(chat_id)
            last_user = next((m for m in reversed(self.store.list_messages(chat_id)) if m.role == "user"), None)
            if last_user is None:
                raise ChatError("There is no message to edit.")
            text = self._checked_text(text, allow_empty=bool(last_user.images or last_user.attachments))
            kept = last_user.model_dump(include={"images", "analysis", "attachments", "meta"})
            self.store.replace_from(chat_id, last_user.id, "user", text, **kept)  # one write: a failure loses nothing
            return self._start_turn(chat_id)

    # -- following and stopping -----------------------------------------------------------------
    def running(self, chat_id: str) -> Turn | None:
        turn = self._turns.get(chat_id)
        return turn if turn and not turn.finished.is_set() else None

    def stop_all(self, wait_s: float = 10.0) -> None:
        """Stop every running answer and let each store what it has (at shutdown)."""
        running = [turn for turn in list(self._turns.values()) if not turn.finished.is_set()]
        for turn in running:
            turn.stop()
        for turn in running:
            turn.finished.wait(wait_s)

    def follow(self, chat_id: str) -> Iterator[TurnResult]:
        """Snapshots of the chat's latest answer until it ends (a page opening the chat); nothing when none ran.

        Whoever started a turn follows the `Turn` it got back instead, so it never follows a newer one."""
        turn = self._turns.get(chat_id)
        if turn is not None:
            yield from turn.follow()

    def turn(self, chat_id: str, message_id: str) -> Turn | None:
        """The chat's latest turn if it is the one writing `message_id` (running or just ended)."""
        turn = self._turns.get(chat_id)
        return turn if turn is not None and turn.message_id == message_id else None

    def stop(self, chat_id: str) -> bool:
        turn = self.running(chat_id)
        if turn is None:
            return False
        turn.stop()
        return True

    def messages(self, chat_id: str) -> list[Any]:
        """The chat's messages; an answer left 'streaming' by a previous run is marked stopped."""
        with self._lock_for(chat_id):  # a turn being started holds it between storing its answer and registering
            messages = self.store.list_messages(chat_id)
            if messages and messages[-1].status == "streaming" and self.running(chat_id) is None:
                last = messages[-1]
                messages[-1] = self.store.update_message(chat_id, last.id, status="stopped", error=INTERRUPTED)
        return messages

    # -- internals ----------------------------------------------------------------------------------
    def _checked_text(self, text: str, allow_empty: bool = False) -> str:
        if allow_empty and isinstance(text, str) and not text.strip():
            return ""  # images alone are a message
        if not isinstance(text, str) or not text.strip():
            raise ChatError("The message is empty.")
        if len(text) > self.settings.max_message_chars:
            raise ChatError(f"The message is too long ({len(text):,} characters; the limit is "
                            f"{self.settings.max_message_chars:,}).")
        return text

    def ensure_idle(self, chat_id: str) -> None:
        """Raise ChatBusy while the chat is answering (a pipeline run saving into it checks too)."""
        self._ensure_idle(chat_id)

    def _lock_for(self, chat_id: str) -> threading.Lock:
        self.store.get_chat(chat_id)  # an unknown chat gets an error, not a lock
        with self._locks_guard:
            return self._locks.setdefault(chat_id, threading.Lock())

    def _ensure_idle(self, chat_id: str) -> None:
        if self.running(chat_id):
            raise ChatBusy("This chat is still answering: wait for it or press Stop.")

    def _start_turn(self, chat_id: str, analysis: tuple[str, Callable[[Turn], str]] | None = None) -> Turn:
        chat = self.store.get_chat(chat_id)
        profile = self.store.get_profile(chat.profile_id)
        role = Role.STUDY if chat.kind == "study" else Role.CHAT
        chosen = self.router.effective(role, profile.model_overrides, chat.model_overrides)
        # What was asked for and from where, so a fallback is said under the answer itself.
        asked = {"model_asked": chosen.requested, "model_level": chosen.source}
        answer = self.store.append_message(chat_id, "assistant", "", model=chosen.model,
                                           backend=self.router.backend.kind, status="streaming", meta=asked)
        turn = Turn(chat_id, answer.id, chosen.model)
        self._turns[chat_id] = turn

        def stream():  # in the turn's worker: the model_info call holds no lock and blocks no caller
            if analysis is not None:  # the images are read first: the answer is made from what they show
                self.store.update_message(chat_id, analysis[0], analysis=analysis[1](turn))
            num_ctx = self._num_ctx(chosen.model, chosen.host)
            # The empty answer being written is left out by fit_history.
            history = self.store.list_messages(chat_id)
            fitted = fit_history(system_prompt_for(chat.kind, profile.system_prompt, history), history,
                                 num_ctx - self.settings.reply_reserve)
            self.store.update_message(chat_id, answer.id,
                                      meta={**asked, "dropped_messages": fitted.dropped, "num_ctx": num_ctx})
            options = {"num_ctx": num_ctx, "num_predict": self.settings.num_predict}
            return self.gateway.chat_stream(chosen.model, fitted.messages, options=options,
                                            host=chosen.host, closer=turn.closer)

        started_at = time.time()

        def save(result: TurnResult) -> None:
            self._save(chat_id, answer.id, result)
            if result.status != "streaming" and self.history is not None:
                self.history.write(turn_record(chat, answer.id, chosen, started_at, result))

        threading.Thread(target=run_turn, args=(turn, stream, save), name=f"turn-{chat_id}", daemon=True).start()
        return turn

    def _num_ctx(self, model: str, host: str) -> int:
        try:
            trained = self.gateway.model_info(model, host).context_length
        except LLMError:
            trained = None  # the turn itself will report the real problem
        return min(self.settings.num_ctx, trained or self.settings.num_ctx)

    def _save(self, chat_id: str, message_id: str, result: TurnResult) -> None:
        self.store.update_message(chat_id, message_id, content=result.text, status=result.status,
                                  error=result.error, stats=result.stats)
        if result.status != "streaming":
            logger.info("Turn in chat {} ended: {} ({} chars)", chat_id, result.status, len(result.text))

    def _auto_title(self, chat_id: str, first_message: str) -> None:
        """A chat still called "New chat" is named after its first message, so the list shows it at once."""
        if self.store.get_chat(chat_id).title not in ("", "New chat"):
            return
        title = " ".join(first_message.split())
        if title:
            self.store.update_chat(chat_id, title=title[:TITLE_CHARS] + ("…" if len(title) > TITLE_CHARS else ""))
