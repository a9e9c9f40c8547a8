"""Services: the one object that holds the store, the LLM gateway, the backend, routing, chat and the dashboard.

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
from workspace.dashboard.service import DashboardService
from workspace.history import RunHistory
from workspace.housekeeping import DOWNLOAD_KEEP_S, Housekeeping, download_folder, remove_stale_files
from workspace.llm import LLMGateway
from workspace.models_service import ModelsService
from workspace.pipeline.sandbox import Sandbox, SandboxLimits
from workspace.pipeline.service import PipelineService
from workspace.routing import ModelRouter
from workspace.settings import PipelineSettings, Settings
from workspace.store import WorkspaceStore
from workspace.study import StudyService
from workspace.vision.service import VisionService


@dataclass
class Services:
    settings: Settings
    gateway: LLMGateway
    backend: Backend
    router: ModelRouter
    store: WorkspaceStore
    chat: ChatService
    history: RunHistory
    pipeline: PipelineService
    study: StudyService
    dashboard: DashboardService
    housekeeping: Housekeeping | None = field(default=None)
    vision: VisionService | None = field(default=None)
    models: ModelsService | None = field(default=None)

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
        self.pipeline.stop_all()
        if self.housekeeping is not None:
            self.housekeeping.stop()
        self.chat.stop_all()
        self.gateway.close()
        self.backend.close()
        self.store.close()
        self.history.close()
        self.dashboard.close()


def build_services(settings: Settings) -> Services:
    gateway = LLMGateway(
        settings.ollama.host,
        connect_timeout_s=settings.ollama.connect_timeout_s,
        read_timeout_s=settings.ollama.read_timeout_s,
        keep_alive=settings.ollama.keep_alive_value(),
    )
    for base_url in settings.openai.role_urls.values():
        gateway.add_openai(base_url, settings.data_dir)
    backend = choose_backend(settings, gateway)
    router = ModelRouter(settings, backend)
    store = WorkspaceStore(settings.data_dir)
    history = RunHistory(settings.data_dir / "logs", rotation=settings.history.rotation,
                         retention=settings.history.retention)
    history.recover()  # runs a previous process stopped in the middle of are recorded as such
    chat = ChatService(store, gateway, router, settings.chat, history)
    sandbox = make_sandbox(settings.pipeline, settings.data_dir)
    pipeline = PipelineService(store, gateway, router, chat, history, settings.pipeline, sandbox)
    dashboard = DashboardService(history.logs_dir, backend, gateway, router)
    services = Services(settings, gateway, backend, router, store, chat, history, pipeline, StudyService(store, chat),
                        dashboard)
    services.models = ModelsService(settings, gateway, backend, router)
    services.vision = VisionService(store, chat, gateway, router, settings.vision)
    services.profiles()  # first start: somewhere to chat right away
    services.housekeeping = Housekeeping(store, settings.data_dir, settings.trash.retention_days)
    services.housekeeping.start()
    return services


def make_sandbox(settings: PipelineSettings, data_dir: Path) -> Sandbox:
    """The sandbox generated code runs in; it knows the data folder so its guarantees can speak of it."""
    limits = SandboxLimits(wall_s=settings.sandbox_wall_s, cpu_s=settings.sandbox_cpu_s,
                           memory_mb=settings.sandbox_memory_mb)
    return Sandbox(limits, use_bwrap={"auto": None, "bubblewrap": True, "rlimits": False}[settings.sandbox],
                   private_folders=[data_dir])
