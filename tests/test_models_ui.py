"""The Models tab's callbacks as plain functions: on real services over the engine, and pull progress with
Cancel over the stub replaying Ollama's pull stream."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import gradio as gr
import pytest

from tests.stub_ollama_pull import GOOD, StubOllama
from workspace.backend import Backend
from workspace.llm import LLMGateway
from workspace.models_service import ModelsService
from workspace.routing import ModelRouter
from workspace.settings import Role, load_settings
from workspace.ui import models as models_ui


@pytest.fixture
def tab(services):
    with gr.Blocks():
        return models_ui.build(services)


def test_progress_shows_each_layers_share_bytes_and_speed():
    progress = models_ui.PullProgress("good:1b")
    for at, line in enumerate(GOOD):
        progress.update(line, now=float(at))
        if line.get("completed") == 400:
            assert "40%" in progress.markdown() and "400 B of 1000 B" in progress.markdown()
    progress.update({"done": True, "status": "success"}, now=10.0)
    shown = progress.markdown()
    assert "**good:1b** — success" in shown and "100%" in shown and "B/s" in shown


def test_refresh_shows_backends_models_and_roles(tab, starter_model, engine_url):
    backends, installed, roles, delete_choices, warm_choices, default_choices = tab.refresh()
    assert engine_url in backends and "up" in backends
    assert f"`{starter_model}`" in installed and "completion" in installed
    assert "| chat |" in roles and starter_model in roles
    assert starter_model in delete_choices["choices"] and starter_model in warm_choices["choices"]
    assert starter_model in default_choices["choices"]


def test_warm_up_from_the_tab_loads_the_model(tab, starter_model):
    assert "is loaded (load)" in tab.load(starter_model)
    installed = tab.refresh()[1]
    assert "| yes, " in next(row for row in installed.splitlines() if f"`{starter_model}`" in row)


def test_delete_needs_the_confirmation(tab, starter_model):
    with pytest.raises(gr.Error, match="confirmation"):
        tab.delete(starter_model, False)


def test_pull_on_the_engine_ends_with_the_offline_message(tab, engine_models_dir):
    shown = list(tab.pull("llama3.1:8b"))
    assert "failed" in shown[-1] and str(engine_models_dir) in shown[-1]


def test_a_bad_name_is_a_readable_error(tab):
    with pytest.raises(gr.Error, match="not a model name"):
        list(tab.pull("../x"))


def test_every_models_tab_callback_goes_through_the_error_edge(tab):
    wiring = ("wire_page_load", "follow_chat")  # they connect events; the callbacks they connect are checked
    names = [n for n in dir(tab) if not n.startswith("_") and callable(getattr(tab, n)) and n not in wiring]
    assert names and all(hasattr(getattr(tab, n), "__wrapped__") for n in names)


def test_cancel_from_the_tab_stops_a_running_pull(tmp_path):
    with StubOllama() as stub:
        settings = load_settings(data_dir=tmp_path, ollama={"host": stub.url}, engine={"mode": "never"})
        gateway = LLMGateway(stub.url)
        backend = Backend("ollama", stub.url, preferred_model=None)
        service = ModelsService(settings, gateway, backend, ModelRouter(settings, backend))
        tab = models_ui.ModelsTab(SimpleNamespace(models=service))
        shown: list[str] = []
        worker = threading.Thread(target=lambda: shown.extend(tab.pull("slow:1b")))
        worker.start()
        assert stub.stalled.wait(30)
        tab.cancel("slow:1b")
        worker.join(30)
        gateway.close()
    assert "40%" in shown[-2] and "cancelled" in shown[-1]


def test_a_remote_backend_is_said_to_receive_the_prompts():
    shown = models_ui.backends_table([{"host": "https://api.example.com/v1", "kind": "openai", "healthy": True,
                                       "version": None, "latency_ms": 12.0, "remote": True}])
    assert "prompts sent to it leave the machine" in shown


def test_a_roles_default_model_saved_in_the_tab_is_in_the_settings_file_and_runs(tab, services, settings_path,
                                                                                 starter_model):
    said = tab.save_default("reviewer", starter_model)
    assert f"`{starter_model}`" in said and f'reviewer = "{starter_model}"' in settings_path.read_text()
    assert load_settings().models.reviewer == starter_model
    reviewer = services.router.effective(Role.REVIEWER)
    assert reviewer.requested == starter_model and not reviewer.substituted
    assert tab.role_form("reviewer")[0] == starter_model
    with pytest.raises(gr.Error, match="not a model name"):
        tab.save_default("reviewer", "bad name")


def test_a_roles_backend_saved_in_the_tab_runs_there_and_the_key_is_not_shown_back(tab, services, settings_path,
                                                                                   engine_url):
    said, key_box = tab.save_backend("judge", "openai", engine_url + "/v1", "sk-kept-in-data")
    assert key_box == "" and "sk-kept-in-data" not in said and engine_url + "/v1" in said
    assert tab.role_form("judge")[1:] == ("openai", engine_url + "/v1")
    assert services.router.effective(Role.JUDGE).host == engine_url + "/v1"
    assert "sk-kept-in-data" not in settings_path.read_text()
    tab.save_backend("judge", "default", "", "")
    assert tab.role_form("judge")[1:] == ("default", "") and services.router.effective(Role.JUDGE).host == engine_url


def test_a_remote_backend_is_refused_in_the_tab_unless_allowed_and_then_said_to_leave(tab, services, settings_path):
    with pytest.raises(gr.Error, match="prompts would leave"):
        tab.save_backend("reviewer", "ollama", "gpu.example.com:11434", "")
    services.settings.openai.allow_remote = True
    said, _ = tab.save_backend("reviewer", "ollama", "gpu.example.com:11434", "")
    assert "prompts sent to it leave the machine" in said
    shown = models_ui.roles_table(services.models.roles())  # (the overview would call the remote host)
    assert "leave the machine" in next(line for line in shown.splitlines() if "| reviewer |" in line)


def test_levels_show_each_roles_model_at_every_level_for_the_open_chat(tab, services, starter_model):
    profile = services.store.create_profile("Levels", model_overrides={"reviewer": "p-reviewer:1b",
                                                                       "judge": "p-judge:1b"})
    chat = services.store.create_chat(profile.id, title="Bug 42", model_overrides={"judge": "c-judge:1b"})
    shown = tab.levels_for(profile.id, chat.id)
    assert "profile **Levels**, chat **Bug 42**" in shown
    rows = {line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]]
            for line in shown.splitlines() if line.startswith("| ") and not line.startswith("| role")}
    assert set(rows) == {role.value for role in Role}
    assert rows["judge"][1:3] == ["`p-judge:1b`", "`c-judge:1b`"] and rows["judge"][3].endswith(
        "from chat (fallback: asked model not installed)")  # the chat wins; the engine lacks it
    assert rows["reviewer"][1:3] == ["`p-reviewer:1b`", "—"] and "from profile" in rows["reviewer"][3]
    assert rows["coder"][1:3] == ["—", "—"] and "from global" in rows["coder"][3]
    assert "chat **—**" in tab.levels_for(profile.id, None)
