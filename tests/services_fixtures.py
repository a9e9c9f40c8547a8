"""Fixtures that build the real Services on a temp data folder, pointed at the session's engine."""

from __future__ import annotations

import shutil

import pytest

from workspace.services import Services, build_services
from workspace.settings import DEFAULT_SETTINGS_FILE, Role, load_settings

SHORT_ANSWERS = 48  # tokens: enough for a real answer, short enough for a quick suite


@pytest.fixture
def make_services(tmp_path, engine_url, starter_model):
    built: list[Services] = []

    def make(data_dir=None, **chat_settings) -> Services:
        settings = load_settings(
            data_dir=data_dir or tmp_path / "data",
            ollama={"host": engine_url},
            engine={"mode": "never"},
            models={"chat": starter_model},
            chat={"num_predict": SHORT_ANSWERS, **chat_settings},
        )
        services = build_services(settings)
        built.append(services)
        return services

    yield make
    for services in built:
        services.close()


@pytest.fixture
def services(make_services) -> Services:
    return make_services()


@pytest.fixture
def settings_path(tmp_path, monkeypatch):
    """A copy of the documented settings file, the one the app reads and writes during the test."""
    path = tmp_path / "settings.toml"
    shutil.copy(DEFAULT_SETTINGS_FILE, path)
    monkeypatch.setenv("WORKSPACE_SETTINGS_FILE", str(path))
    for key in [f"WORKSPACE_MODELS__{role.name}" for role in Role] + ["WORKSPACE_OLLAMA__ROLE_HOSTS",
                                                                      "WORKSPACE_OPENAI__ROLE_URLS"]:
        monkeypatch.delenv(key, raising=False)  # a variable would win over the file
    return path
