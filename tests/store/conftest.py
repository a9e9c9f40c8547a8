"""Fixtures of the store tests: a fresh store in a temp folder, and a way to reopen it."""

from __future__ import annotations

from pathlib import Path

import pytest

from workspace.store import WorkspaceStore


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path):
    opened = WorkspaceStore(data_dir)
    yield opened
    opened.close()


@pytest.fixture
def profile(store: WorkspaceStore):
    return store.create_profile("Project X", description="client work", system_prompt="Be brief.")


@pytest.fixture
def chat(store: WorkspaceStore, profile):
    return store.create_chat(profile.id, title="First chat")
