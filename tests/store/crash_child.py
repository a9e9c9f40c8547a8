"""Child process of the crash test: appends and updates messages in a loop until it is SIGKILLed.

Prints one line per durable write, flushed only after the store call returned:
    A <chat_id> <message_id> <token>     an appended message
    U <chat_id> <message_id> <length>    an update of a streaming answer to `length` characters
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from loguru import logger

from workspace.store import WorkspaceStore


def main(data_dir: str) -> None:
    logger.remove()
    store = WorkspaceStore(data_dir)
    profile = (store.list_profiles() or [store.create_profile("Crash")])[0]
    chat = (store.list_chats(profile.id) or [store.create_chat(profile.id)])[0]
    print("ready", flush=True)
    n = 0
    while True:
        n += 1
        if n % 12 == 0:
            chat = store.create_chat(profile.id, title=f"chat {n}")
        token = "probe" + secrets.token_hex(6)
        message = store.append_message(chat.id, "user", f"{token} question {n}")
        print(f"A {chat.id} {message.id} {token}", flush=True)
        if n % 3 == 0:
            answer = store.append_message(chat.id, "assistant", "", status="streaming")
            print(f"A {chat.id} {answer.id} -", flush=True)
            for k in (1, 2, 3):
                store.update_message(chat.id, answer.id, content="x" * (50 * k), status="streaming")
                print(f"U {chat.id} {answer.id} {50 * k}", flush=True)
            store.update_message(chat.id, answer.id, status="ok")


if __name__ == "__main__":
    main(sys.argv[1])
