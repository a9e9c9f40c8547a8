"""Pipeline fixtures: the real store, router, chat and pipeline services around a scripted model gateway."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.pipeline.scripted import ScriptedGateway, scripted_backend
from workspace.chat import ChatService
from workspace.history import RunHistory
from workspace.pipeline.sandbox import Sandbox, SandboxLimits
from workspace.pipeline.service import PipelineService
from workspace.routing import ModelRouter
from workspace.settings import load_settings
from workspace.store import WorkspaceStore

MODELS = {"coder": "s-coder", "reviewer": "s-reviewer", "judge": "s-judge", "escalation": "s-escalation"}


@dataclass
class Scripted:
    store: WorkspaceStore
    gateway: ScriptedGateway
    pipeline: PipelineService
    chat: ChatService
    history: RunHistory
    data_dir: object


@pytest.fixture
def make_scripted(tmp_path):
    opened: list[Scripted] = []

    def make(script, **pipeline_settings) -> Scripted:
        settings = load_settings(data_dir=tmp_path / f"data{len(opened)}", models=MODELS, engine={"mode": "never"},
                                 pipeline={"sandbox_wall_s": 10, **pipeline_settings})
        store = WorkspaceStore(settings.data_dir)
        gateway = ScriptedGateway(script)
        router = ModelRouter(settings, scripted_backend(*MODELS.values(), "s-other"))
        history = RunHistory(settings.data_dir / "logs")
        chat = ChatService(store, gateway, router, settings.chat, history)
        sandbox = Sandbox(SandboxLimits(wall_s=10))
        pipeline = PipelineService(store, gateway, router, chat, history, settings.pipeline, sandbox)
        built = Scripted(store, gateway, pipeline, chat, history, settings.data_dir)
        opened.append(built)
        return built

    yield make
    for built in opened:
        built.pipeline.stop_all()
        built.store.close()
        built.history.close()
