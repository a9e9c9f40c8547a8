"""Services: the one object that holds the store, the LLM gateway, the backend, routing and chat.

The UI and the REST API receive a `Services` and call only what it holds. Building one starts the
backend (probe Ollama, else the embedded engine), so it happens in `app.py` or a test fixture only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from workspace.backend import Backend, choose_backend
from workspace.chat import ChatService
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

    def profiles(self) -> list:
        """All profiles; when there are none (first start, or the API deleted the last), a fresh one."""
        profiles = self.store.list_profiles()
        if not profiles:
            profiles = [self.store.create_profile("Personal", description="Rename it, or add a profile per project.")]
        return profiles

    def make_backup(self) -> Path:
        """A fresh zip of the whole workspace (the previous one is replaced); outside every served folder,
        the REST route streams it and then deletes it."""
        folder = self.settings.data_dir / "outgoing"
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("workspace-*.zip"):
            old.unlink(missing_ok=True)
        return self.store.backup_zip(folder / time.strftime("workspace-%Y%m%d-%H%M%S.zip"))

    def close(self) -> None:
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
    return services
