"""Saving changes to the settings file: what the Models tab or the REST API changes at run time (a role's
global default model, a role's backend) is written to the file the app reads, so it holds after a restart.

The file keeps its comments and layout (tomlkit), what is written must read back as TOML, and it replaces the
old file atomically (a temp file, fsync, rename): a crash leaves the old file or the new one, never half.
"""

from __future__ import annotations

import os
import threading
import tomllib
from pathlib import Path
from typing import Any, Mapping

import tomlkit

from workspace.durable import fsync_dir

_lock = threading.Lock()  # one read-modify-write at a time


def update(path: Path, changes: Mapping[tuple[str, ...], Any]) -> None:
    """Set each key path (`("models", "coder")`) to its value in the TOML file at `path`; None removes it."""
    with _lock:
        document = tomlkit.parse(path.read_text(encoding="utf-8") if path.exists() else "")
        for keys, value in changes.items():
            table = document
            for key in keys[:-1]:
                if key not in table:
                    if value is None:
                        break
                    table[key] = tomlkit.table()
                table = table[key]
            else:
                if value is None:
                    table.pop(keys[-1], None)
                else:
                    table[keys[-1]] = value
        text = tomlkit.dumps(document)
        tomllib.loads(text)  # never write a file the next start could not read
        write_atomically(path, text)


def write_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    fsync_dir(path.parent)
