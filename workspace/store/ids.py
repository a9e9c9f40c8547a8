"""Record ids and chat-folder file names: how they are made and the strict check before any path join.

Ids are always generated here, never taken from user text, and every id or file name goes through
`check_id` / `check_file_name` before it becomes part of a path, so `../`, absolute paths, NUL or
look-alike unicode can never reach the file system.
"""

from __future__ import annotations

import re
import secrets

from workspace.store.errors import InvalidInput

# 16 lowercase ASCII hex digits: exactly what token_hex(8) makes; nothing else passes.
_ID = re.compile(r"[0-9a-f]{16}")
# Image and attachment names inside a chat folder: ASCII, no separators, no leading dot.
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def new_id() -> str:
    """A fresh random id (64 bits; callers re-draw on the astronomically rare collision)."""
    return secrets.token_hex(8)


def is_id(value: object) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def check_id(value: object, what: str = "id") -> str:
    """Return `value` if it is a well-formed id, else raise InvalidInput (never NotFound: it is not a lookup)."""
    if not is_id(value):
        shown = repr(value)[:40]
        raise InvalidInput(f"{shown} is not a valid {what}.")
    return value  # type: ignore[return-value]


def check_file_name(value: object) -> str:
    """A plain file name that stays inside its folder (letters, digits, `._-`; no `..`, no slash)."""
    if not isinstance(value, str) or _FILE_NAME.fullmatch(value) is None or ".." in value:
        raise InvalidInput(f"{repr(value)[:60]} is not a valid file name for a chat folder.")
    return value
