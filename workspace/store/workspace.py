"""WorkspaceStore: profiles, chats and messages under one data folder; the store's public face.

Layout of `data_dir` (everything else in it belongs to other components):
    index.json            profiles and chat metadata (IndexFile) — rewritten on profile/chat actions only;
                          rebuilt from the chat files' copies of those records when lost (recovery.py)
    chats/<chat_id>/      chat.json with that chat's messages (ChatFile), and later its images
    pending/              chat folders between creation/deletion and the index write (ChatFolders)
    search.sqlite         derived search index + per-chat activity (SearchIndex), rebuilt when lost
    store.lock            held while a store is open, so two running apps never write the same folder

Every public method takes one re-entrant lock: a turn worker thread writes while UI threads read.
Reads come from memory (profiles and chat metadata at start, a chat's messages when first opened).
A write goes to disk first and reaches the memory caches only once it is durable, so a failed write
(full disk) leaves both exactly as they were.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, BinaryIO, Callable, Self, Sequence

from loguru import logger

from workspace.store import portable, recovery, transfer
from workspace.store.chatfile import CHAT_FILE, Activity, ChatFile, file_signature, row_of
from workspace.store.chattable import ChatTable, settle
from workspace.store.errors import InvalidInput, NotFound, StoreBusy, StoreError
from workspace.store.folders import ChatFolders
from workspace.store.ids import check_id, new_id
from workspace.store.indexfile import IndexFile
from workspace.store.indexing import SearchKeeper
from workspace.store.locking import FolderLock
from workspace.store.records import (
    MESSAGE_FIELDS,
    ChatMeta,
    Message,
    Profile,
    SearchHit,
    check_fields,
    clean_text,
    given_fields,
    validated,
    with_activity,
)
from workspace.store.search import ChatState, query_words, snippet

SEARCH_WAIT_S = 60.0  # how long a search waits for a background rebuild of the index


class WorkspaceStore:
    """Thread-safe store of profiles → chats → messages in `data_dir` (see the module docstring)."""

    def __init__(self, data_dir: Path | str, *, durable: bool = True, max_open_chats: int = 128) -> None:
        self.data_dir = Path(data_dir)
        self._durable, self._max_open = durable, max_open_chats
        self._lock = threading.RLock()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _make_private(self.data_dir)
        self._folder_lock = FolderLock(self.data_dir)
        try:
            self._index = IndexFile(self.data_dir, durable=durable)
            if not self._index.path.exists() and recovery.chat_folders(self.data_dir):
                self._rebuild_index()
            self._profiles, chats = self._index.load()
            self._chats = ChatTable(chats)
            self._folders = ChatFolders(self.data_dir, durable=durable)
            self._folders.settle(self._chats)
            self._open: OrderedDict[str, ChatFile] = OrderedDict()
            self._dirty: set[str] = set()  # chats whose activity index.json does not have yet
            self._search = SearchKeeper(self.data_dir, self._folders.root, self._chats, self._lock,
                                        self._apply_activity)
            with self._lock:  # a background rebuild may call back into the store
                self._apply_activity(self._search.start())
        except BaseException:
            self._folder_lock.release()
            raise

    def close(self) -> None:
        """Checkpoint chat activity into index.json, close files, release the folder. Idempotent."""
        self._search.stop()
        with self._lock:
            if self._folder_lock.released:
                return
            try:
                if self._dirty:
                    self._save_index()
            except StoreError as exc:  # the chat files still hold it; only the checkpoint is skipped
                logger.warning("Could not checkpoint the chat index on close: {}", exc)
            self._search.close()
            for chat in self._open.values():
                chat.close()
            self._open.clear()
            self._index.close()
            self._folder_lock.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- profiles -------------------------------------------------------------------------------
    def create_profile(self, name: str, description: str = "", system_prompt: str = "", *,
                       model_overrides: dict[str, str] | None = None) -> Profile:
        with self._lock:
            now = time.time()
            profile = validated(Profile, {
                "id": self._fresh_id(self._profiles), "name": clean_text(name, "A profile needs a name."),
                "description": description, "system_prompt": system_prompt,
                "model_overrides": model_overrides or {}, "created_at": now, "updated_at": now})
            self._save_index(profiles=[profile])
            self._profiles[profile.id] = profile
            return profile

    def get_profile(self, profile_id: str) -> Profile:
        with self._lock:
            profile = self._profiles.get(check_id(profile_id, "profile id"))
            if profile is None:
                raise NotFound("This profile does not exist (it may have been deleted); reload the list.")
            return profile

    def list_profiles(self) -> list[Profile]:
        with self._lock:
            return sorted(self._profiles.values(), key=lambda p: (p.created_at, p.id))

    def update_profile(self, profile_id: str, *, name: str | None = None, description: str | None = None,
                       system_prompt: str | None = None, model_overrides: dict[str, str] | None = None,
                       confidence_threshold: int | None | object = ...) -> Profile:
        """Change the given fields; `confidence_threshold=None` clears the profile's threshold (… leaves it)."""
        with self._lock:
            changes = given_fields(name=None if name is None else clean_text(name, "A profile needs a name."),
                             description=description, system_prompt=system_prompt, model_overrides=model_overrides)
            if confidence_threshold is not ...:
                changes["confidence_threshold"] = confidence_threshold
            old = self.get_profile(profile_id)
            profile = validated(Profile, {**old.model_dump(), **changes, "updated_at": time.time()})
            self._save_index(profiles=[profile])
            self._profiles[profile.id] = profile
            return profile

    def delete_profile(self, profile_id: str) -> None:
        """Delete a profile and, for good, all its chats (trash included)."""
        with self._lock:
            self.get_profile(profile_id)
            doomed = [c.id for c in self._chats.of_profile(profile_id)]
            self._remove_chats(doomed, drop_profiles=[profile_id])
            del self._profiles[profile_id]

    # -- chats ----------------------------------------------------------------------------------
    def create_chat(self, profile_id: str, title: str = "New chat", *,
                    model_overrides: dict[str, str] | None = None, kind: str = "chat") -> ChatMeta:
        with self._lock:
            self.get_profile(profile_id)
            chat_id, now = self._fresh_id(self._chats), time.time()
            meta = validated(ChatMeta, {"id": chat_id, "profile_id": profile_id,
                                        "title": clean_text(title, "A chat title cannot be empty."),
                                        "kind": kind, "model_overrides": model_overrides or {},
                                        "created_at": now, "updated_at": now})
            return self._add_chat(meta, [])

    def get_chat(self, chat_id: str) -> ChatMeta:
        with self._lock:
            meta = self._chats.get(check_id(chat_id, "chat id"))
            if meta is None:
                raise NotFound("This chat does not exist (it may have been deleted); reload the list.")
            return meta

    def list_chats(self, profile_id: str, *, query: str = "", include_deleted: bool = False,
                   kind: str | None = None) -> list[ChatMeta]:
        """A profile's chats, pinned first then newest first; `query` keeps titles holding every word;
        `kind` keeps one kind ("chat" or "study")."""
        words = query.casefold().split()
        with self._lock:
            check_id(profile_id, "profile id")
            chats = [c for c in self._chats.of_profile(profile_id)
                     if (include_deleted or c.deleted_at is None) and (kind is None or c.kind == kind)
                     and all(word in c.title.casefold() for word in words)]
        chats.sort(key=lambda c: (not c.pinned, -c.updated_at, c.id))
        return chats

    def update_chat(self, chat_id: str, *, title: str | None = None, pinned: bool | None = None,
                    model_overrides: dict[str, str] | None = None) -> ChatMeta:
        with self._lock:
            changes = given_fields(title=None if title is None else clean_text(title, "A chat title cannot be empty."),
                             pinned=pinned, model_overrides=model_overrides)
            if "title" in changes or "model_overrides" in changes:  # pinning alone does not reorder
                changes["updated_at"] = time.time()
            return self._change_chat(chat_id, **changes)

    def move_chat(self, chat_id: str, profile_id: str) -> ChatMeta:
        with self._lock:
            self.get_profile(profile_id)
            meta = self._change_chat(chat_id, profile_id=profile_id)
            self._search.write(lambda index: index.move_chat(chat_id, profile_id))
            return meta

    def delete_chat(self, chat_id: str) -> ChatMeta:
        """Move a chat to the trash (recoverable with restore_chat until purged)."""
        with self._lock:
            meta = self.get_chat(chat_id)
            return meta if meta.deleted_at is not None else self._change_chat(chat_id, deleted_at=time.time())

    def restore_chat(self, chat_id: str) -> ChatMeta:
        with self._lock:
            return self._change_chat(chat_id, deleted_at=None)

    def purge_deleted(self, older_than_s: float = 0.0) -> int:
        """Remove for good the chats in the trash for at least `older_than_s` seconds; returns how many."""
        with self._lock:
            cutoff = time.time() - older_than_s
            doomed = [c.id for c in self._chats.values() if c.deleted_at is not None and c.deleted_at <= cutoff]
            if doomed:
                self._remove_chats(doomed)
            return len(doomed)

    def chat_dir(self, chat_id: str) -> Path:
        """The chat's own folder (for its images); the id is checked before it touches a path."""
        return self._folders.path(self.get_chat(chat_id).id)

    # -- messages -------------------------------------------------------------------------------
    def append_message(self, chat_id: str, role: str, content: str, **fields: Any) -> Message:
        """Add a message at the end of a chat; it is on disk (fsynced) when this returns."""
        check_fields(fields, MESSAGE_FIELDS)
        with self._lock:
            if self.get_chat(chat_id).deleted_at is not None:
                raise InvalidInput("This chat is in the trash; restore it before adding messages.")
            chat, now = self._chat_file(chat_id), time.time()
            message = validated(Message, {**fields, "id": self._fresh_id(chat), "role": role, "content": content,
                                          "created_at": now, "updated_at": now})
            chat.put(message, now)
            self._chat_written(chat_id, chat, message)
            return message

    def update_message(self, chat_id: str, message_id: str, **fields: Any) -> Message:
        """Change a stored message (a streaming answer as it grows, then its final status and stats)."""
        check_fields(fields, MESSAGE_FIELDS | {"content"})
        with self._lock:
            chat, now = self._chat_file(chat_id), time.time()
            old = self._message(chat, message_id)
            message = validated(Message, {**old.model_dump(), **fields, "updated_at": now})
            chat.put(message, now)
            self._chat_written(chat_id, chat, message)
            return message

    def list_messages(self, chat_id: str) -> list[Message]:
        with self._lock:
            return self._chat_file(chat_id).messages()

    def get_message(self, chat_id: str, message_id: str) -> Message:
        with self._lock:
            return self._message(self._chat_file(chat_id), message_id)

    def truncate_after(self, chat_id: str, message_id: str, inclusive: bool = False) -> int:
        """Drop the messages after `message_id` (and it too if `inclusive`); returns how many were dropped."""
        with self._lock:
            chat = self._chat_file(chat_id)
            self._message(chat, message_id)
            before = [m.id for m in chat.messages()]
            dropped = chat.truncate(message_id, inclusive, time.time())
            if dropped:
                self._chat_written(chat_id, chat, removed=before[len(before) - dropped:])
            return dropped

    def replace_from(self, chat_id: str, message_id: str, role: str, content: str, **fields: Any) -> Message:
        """Replace `message_id` and every message after it with one new message, in a single write."""
        check_fields(fields, MESSAGE_FIELDS)
        with self._lock:
            chat, now = self._chat_file(chat_id), time.time()
            self._message(chat, message_id)
            message = validated(Message, {**fields, "id": self._fresh_id(chat), "role": role, "content": content,
                                          "created_at": now, "updated_at": now})
            chat.replace_from(message_id, message, now)
            self._chat_written(chat_id, chat)
            return message

    # -- search ---------------------------------------------------------------------------------
    def search(self, query: str, profile_id: str | None = None, limit: int = 50) -> list[SearchHit]:
        """Messages holding every word of `query` (word prefixes, any case), newest first; trash excluded."""
        words = query_words(query)
        if profile_id is not None:
            check_id(profile_id, "profile id")
        if not words:
            return []
        limit = max(1, min(int(limit), 500))

        def accept(chat_id: str) -> bool:
            meta = self._chats.get(chat_id)
            in_scope = profile_id is None or (meta is not None and meta.profile_id == profile_id)
            return meta is not None and meta.deleted_at is None and in_scope

        for attempt in (1, 2):
            with self._lock:
                found = self._search.query(lambda index: index.search(words, profile_id, accept, limit))
                if found is not None:
                    return [SearchHit(chat_id=chat_id, message_id=message_id, chat_title=self._chats[chat_id].title,
                                      profile_id=self._chats[chat_id].profile_id, role=role, created_at=created_at,
                                      snippet=snippet(content, words), source=source, attachment=name)
                            for _, chat_id, message_id, role, created_at, content, source, name in found]
            if attempt == 1:
                self._search.wait(SEARCH_WAIT_S)  # the index is being rebuilt; not holding the lock
        raise StoreBusy("Search is not ready: its index is being rebuilt from your chats (this takes up to a "
                         "minute for a large history). Try again shortly; if it persists, check free disk space.")

    # -- export, import, backup -------------------------------------------------------------------
    def export_chat_json(self, chat_id: str) -> dict[str, Any]:
        """The chat as JSON, its images' files inside as base64."""
        with self._lock:
            return transfer.chat_to_json(self.get_chat(chat_id), self.list_messages(chat_id), self.chat_dir(chat_id))

    def export_chat_markdown(self, chat_id: str) -> str:
        with self._lock:
            meta = self.get_chat(chat_id)
            return transfer.chat_to_markdown(meta, self._profiles.get(meta.profile_id), self.list_messages(chat_id))

    def import_chat_json(self, profile_id: str, data: Any, max_bytes: int = portable.DEFAULT_MAX_BYTES) -> ChatMeta:
        """Add an exported chat (a parsed JSON value) to a profile, with new ids and its image files;
        invalid input raises and adds nothing."""
        def read(writer: portable.FileWriter) -> Any:
            if isinstance(data, dict):
                writer.write_all(data.get(portable.FILES_KEY))
            return data

        return self._import(profile_id, read, max_bytes)

    def import_chat_stream(self, profile_id: str, stream: BinaryIO,
                           max_bytes: int = portable.DEFAULT_MAX_BYTES) -> ChatMeta:
        """As import_chat_json, reading the export from a binary stream: image files are written as they are
        read, so the export is never whole in memory."""
        return self._import(profile_id, lambda writer: portable.read_export(stream, writer), max_bytes)

    def _import(self, profile_id: str, read: Callable[[portable.FileWriter], Any], max_bytes: int) -> ChatMeta:
        self.get_profile(profile_id)
        incoming = self._folders.pending / f".import-{new_id()}"  # settled (deleted) at start if left over
        try:
            writer = portable.FileWriter(incoming, max_bytes)
            data = read(writer)
            if isinstance(data, dict):
                data = {key: value for key, value in data.items() if key != portable.FILES_KEY}
            meta_fields, messages = transfer.parse_chat_json(data, writer.written)
            with self._lock:
                chat_id = self._fresh_id(self._chats)
                meta = validated(ChatMeta, {**meta_fields, "id": chat_id, "profile_id": profile_id,
                                            "message_count": len(messages)})
                used = {n for m in messages for name in m.images for n in (name, portable.original_of(name))}
                return self._add_chat(meta, messages, files=[incoming / n for n in sorted(used & writer.written)])
        finally:
            shutil.rmtree(incoming, ignore_errors=True)

    def backup_zip(self, dest_path: Path | str) -> Path:
        """Write the whole store (index and chat folders) into one zip: a consistent snapshot."""
        with self._lock:  # a hard-link snapshot: files are only ever replaced, never changed in place
            snapshot = transfer.snapshot(self.data_dir, [self._folders.path(cid) for cid in self._chats])
        try:
            return transfer.write_zip(snapshot, Path(dest_path))
        finally:
            shutil.rmtree(snapshot, ignore_errors=True)

    @staticmethod
    def restore_zip(src_path: Path | str, *, target_dir: Path | str) -> Path:
        """Unpack a backup into an EMPTY or new folder, checked; never over existing data."""
        return transfer.restore_zip(Path(src_path), Path(target_dir), verify=_verify_restored)

    # -- internals: chats ------------------------------------------------------------------------
    def _apply_activity(self, states: dict[str, ChatState]) -> None:
        """Bring chat metadata up to the activity the search index holds (at start, after a rebuild)."""
        for chat_id, state in states.items():
            if chat_id in self._chats:
                self._chats[chat_id] = with_activity(self._chats[chat_id], *state.activity)
        settle(self._chats)  # the records are loaded (at start) or refreshed (after a rebuild): long-lived now

    def _rebuild_index(self) -> None:
        profiles, chats = recovery.rebuild(self.data_dir)
        logger.warning("index.json was missing: rebuilt it from {} chat folders ({} profiles).",
                       len(chats), len(profiles))
        self._index.save(profiles=profiles, chats=chats)

    def _record_of(self, meta: ChatMeta) -> dict[str, Any]:
        return recovery.record_of(meta, self._profiles.get(meta.profile_id))

    def _add_chat(self, meta: ChatMeta, messages: list[Message], files: Sequence[Path] = ()) -> ChatMeta:
        self._folders.stage(meta.id, messages, meta.updated_at, self._record_of(meta), files)
        try:
            self._save_index(chats=[meta])
        except BaseException:
            self._folders.unstage(meta.id)  # not in the index: nobody ever saw it
            raise
        self._chats[meta.id] = meta
        self._folders.publish(meta.id)
        activity = Activity(meta.updated_at, len(messages), meta.preview)
        rows = [row_of(m) for m in messages]
        sig = file_signature(self._folders.path(meta.id) / CHAT_FILE)
        self._search.write(lambda index: index.put_chat(meta.id, meta.profile_id, rows, activity, sig))
        return meta

    def _change_chat(self, chat_id: str, **changes: Any) -> ChatMeta:
        meta = validated(ChatMeta, {**self.get_chat(chat_id).model_dump(), **changes})
        self._save_index(chats=[meta])
        self._chats[chat_id] = meta
        try:  # the chat file's copy of the record (for rebuilding a lost index); the index is the truth
            self._chat_file(chat_id).write_record()
        except StoreError as exc:
            logger.warning("Chat {}'s copy of its record lags until its next write: {}", chat_id, exc)
        return meta

    def _chat_file(self, chat_id: str) -> ChatFile:
        """The open chat (loaded from disk once, then kept; least recently used ones are let go)."""
        self.get_chat(chat_id)
        chat = self._open.get(chat_id)
        record = self._record_of(self._chats[chat_id])
        if chat is None:
            chat = ChatFile(self._folders.path(chat_id), durable=self._durable, record=record)
            self._open[chat_id] = chat
            if chat.upgraded:
                self._chat_written(chat_id, chat)
            else:  # the file is the truth, even while the search index is still being rebuilt
                meta = self._chats[chat_id]
                self._chats[chat_id] = with_activity(meta, *chat.activity())
                if self._chats[chat_id] is not meta:
                    self._dirty.add(chat_id)
            while len(self._open) > self._max_open:
                self._open.popitem(last=False)[1].close()
        chat.record = record  # every write refreshes the copy (a renamed profile, a moved chat)
        self._open.move_to_end(chat_id)
        return chat

    @staticmethod
    def _message(chat: ChatFile, message_id: str) -> Message:
        message = chat.get(check_id(message_id, "message id"))
        if message is None:
            raise NotFound("This message does not exist in the chat (it may have been removed).")
        return message

    def _chat_written(self, chat_id: str, chat: ChatFile, message: Message | None = None, *,
                      removed: list[str] | None = None) -> None:
        """After a durable chat-file write: refresh the chat's activity in memory and in the search index."""
        activity, meta = chat.activity(), self._chats[chat_id]
        profile_id = meta.profile_id
        self._chats[chat_id] = with_activity(meta, *activity)
        self._dirty.add(chat_id)
        sig = chat.signature()
        if message is not None:
            row = row_of(message)
            self._search.write(lambda index: index.put_message(chat_id, profile_id, row, activity, sig))
        elif removed is not None:
            self._search.write(lambda index: index.drop_messages(chat_id, profile_id, removed, activity, sig))
        else:
            self._search.write(lambda index: index.put_chat(chat_id, profile_id, chat.rows(), activity, sig))

    def _remove_chats(self, chat_ids: list[str], **index_changes: Any) -> None:
        """Delete chats for good: park their folders, write the index without them, then delete."""
        parked = self._folders.park(chat_ids)
        try:
            self._save_index(drop_chats=chat_ids, **index_changes)
        except BaseException:
            self._folders.unpark(parked)
            raise
        for chat_id in chat_ids:
            self._chats.pop(chat_id, None)
            self._dirty.discard(chat_id)
            opened = self._open.pop(chat_id, None)
            if opened is not None:
                opened.close()
        self._folders.discard(parked)
        self._search.write(lambda index: index.drop_chats(chat_ids))

    def _save_index(self, **changes: Any) -> None:
        """Write index.json with `changes`, refreshing every chat whose activity it lags behind."""
        fresh = [self._chats[cid] for cid in self._dirty if cid in self._chats]
        self._index.save(**{**changes, "chats": fresh + list(changes.get("chats", []))})
        self._dirty.clear()

    def _fresh_id(self, taken: Any) -> str:
        while True:
            candidate = new_id()
            if candidate not in taken and not self._folders.path(candidate).exists():
                return candidate


def _verify_restored(folder: Path) -> None:
    """Open a restored store and read every chat, so a bad backup fails before it replaces anything."""
    with WorkspaceStore(folder) as store:
        for profile in store.list_profiles():
            for chat in store.list_chats(profile.id, include_deleted=True):
                store.list_messages(chat.id)


def _make_private(folder: Path) -> None:
    """Chats are private: the data folder is readable by its owner only (0700), as `~/.ssh` is. Other users on
    the machine — and the code pipeline's sandbox user — cannot read it."""
    try:
        if folder.stat().st_mode & 0o077:
            folder.chmod(0o700)
    except OSError as exc:  # not ours to change (a shared mount): say so, keep working
        logger.warning("Could not make {} private (mode 0700): {}", folder, exc)
