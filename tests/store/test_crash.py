"""Crash safety: a writer process SIGKILLed at random moments never loses an acknowledged write
and never leaves a file that does not parse."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workspace.store import WorkspaceStore

CHILD = Path(__file__).with_name("crash_child.py")
KILLS = 25


def run_and_kill(data_dir: Path, rng: random.Random) -> list[str]:
    """Start the writer, kill it with SIGKILL at a random moment, return the lines it completed."""
    child = subprocess.Popen([sys.executable, str(CHILD), str(data_dir)], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    try:
        if rng.random() < 0.2:  # sometimes while it is still opening the store (migrations, index sync)
            time.sleep(rng.uniform(0.0, 0.6))
        else:
            assert child.stdout.readline() == "ready\n"
            time.sleep(rng.uniform(0.0, 0.25))
        child.send_signal(signal.SIGKILL)
    finally:
        out, _ = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    return [line for line in out.split("\n")[:-1] if line != "ready"]  # a cut-off last line is dropped


def check_every_json_file_parses(data_dir: Path) -> None:
    for path in data_dir.rglob("*.json"):
        json.loads(path.read_bytes())


def check_acknowledged_writes(store: WorkspaceStore, appended: dict, lengths: dict) -> None:
    for (chat_id, message_id), token in appended.items():
        message = store.get_message(chat_id, message_id)
        if token != "-":
            assert message.content.startswith(token)
    for (chat_id, message_id), length in lengths.items():
        assert len(store.get_message(chat_id, message_id).content) >= length


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_sigkill_never_loses_an_acknowledged_write(tmp_path):
    rng = random.Random(20240501)
    data_dir = tmp_path / "data"
    appended: dict[tuple[str, str], str] = {}
    lengths: dict[tuple[str, str], int] = {}
    for _ in range(KILLS):
        for line in run_and_kill(data_dir, rng):
            kind, chat_id, message_id, value = line.split()
            if kind == "A":
                appended[(chat_id, message_id)] = value
            else:
                lengths[(chat_id, message_id)] = int(value)
        check_every_json_file_parses(data_dir)
        with WorkspaceStore(data_dir) as store:
            check_acknowledged_writes(store, appended, lengths)
            probes = [token for token in appended.values() if token != "-"]
            for token in probes[-3:]:  # the newest writes, the ones a kill may have cut from the index
                assert len(store.search(token)) == 1, token
            profile = store.list_profiles()[0]
            total = sum(len(store.list_messages(c.id)) for c in store.list_chats(profile.id))
            assert total >= len(appended)
            assert sum(c.message_count for c in store.list_chats(profile.id)) == total
    assert len(appended) > KILLS  # the kills really landed in the middle of work
