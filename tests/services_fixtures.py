"""Fixtures that build the real Services on a temp data folder, pointed at the session's engine."""

from __future__ import annotations

import pytest

from workspace.services import Services, build_services
from workspace.settings import load_settings

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
