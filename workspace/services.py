"""Services: the one object that holds the store, the LLM gateway, the backend, routing and chat.

The UI and the REST API receive a `Services` and call only what it holds. Building one starts the
backend (probe Ollama, else the embedded engine), so it happens in `app.py` or a test fixture only.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from workspace.backend import Backend, choose_backend
from workspace.chat import ChatService
from workspace.housekeeping import DOWNLOAD_KEEP_S, Housekeeping, download_folder, remove_stale_files
from workspace.llm import LLMGateway
from workspace.routing import ModelRouter
from workspace.settings import Settings
from workspace.store import WorkspaceStore


@dataclass
class Services:
    settings: Settings
    gateway: LLMGateway
    backend: Backend
    router: ModelRouter
    store: WorkspaceStore
    chat: ChatService
    housekeeping: Housekeeping | None = field(default=None)

    def profiles(self) -> list:
        """All profiles; when there are none (first start, or the API deleted the last), a fresh one."""
        profiles = self.store.list_profiles()
        if not profiles:
            profiles = [self.store.create_profile("Personal", description="Rename it, or add a profile per project.")]
        return profiles

    def make_backup(self) -> Path:
        """A fresh zip of the whole workspace under a name of its own, so concurrent backups never touch
        each other's; the caller removes it once sent (stale ones are removed by housekeeping)."""
        folder = download_folder(self.settings.data_dir, "backups")
        remove_stale_files(folder, DOWNLOAD_KEEP_S)
        name = time.strftime("workspace-%Y%m%d-%H%M%S-") + secrets.token_hex(4) + ".zip"
        return self.store.backup_zip(folder / name)

    def close(self) -> None:
        if self.housekeeping is not None:
            self.housekeeping.stop()
        self.chat.stop_all()
        self.gateway.close()
        self.backend.close()
        self.store.close()


def build_services(settings: Settings) -> Services:
    gateway = LLMGateway(
        settings.ollama.host,
        connect_timeout_s=settings.ollama.connect_timeout_s,
        read_timeout_s=settings.ollama.read_timeout_s,
    )
    backend = choose_backend(settings, gateway)
    router = ModelRouter(settings, backend)
    store = WorkspaceStore(settings.data_dir)
    chat = ChatService(store, gateway, router, settings.chat)
    services = Services(settings, gateway, backend, router, store, chat)
    services.profiles()  # first start: somewhere to chat right away
    services.housekeeping = Housekeeping(store, settings.data_dir, settings.trash.retention_days)
    services.housekeeping.start()
    return services
