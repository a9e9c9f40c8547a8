"""Housekeeping: the trash is purged past its retention at start and daily; backups never clash and
leave nothing behind; stale download files go."""

from __future__ import annotations

import os
import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.engine.helpers import wait_for
from workspace import api
from workspace.housekeeping import DOWNLOAD_KEEP_S, Housekeeping, download_folder
from workspace.services import build_services
from workspace.settings import load_settings
from workspace.store import WorkspaceStore


@pytest.fixture
def start(tmp_path, engine_url):
    opened = []

    def start_services(retention_days: float = 30):
        settings = load_settings(data_dir=tmp_path / "data", ollama={"host": engine_url}, engine={"mode": "never"},
                                 trash={"retention_days": retention_days})
        opened.append(build_services(settings))
        return opened[-1]

    yield start_services
    for services in opened:
        services.close()


def chats_with_trash(data_dir):
    with WorkspaceStore(data_dir) as store:
        profile = store.create_profile("P")
        kept, trashed = store.create_chat(profile.id, title="kept"), store.create_chat(profile.id, title="trashed")
        store.delete_chat(trashed.id)
    return profile.id, kept.id, trashed.id


def test_the_trash_is_purged_at_start_past_its_retention(start, tmp_path):
    profile_id, kept, trashed = chats_with_trash(tmp_path / "data")
    services = start(retention_days=30)  # deleted moments ago: still restorable
    assert services.store.get_chat(trashed).deleted_at is not None
    services.close()
    services = start(retention_days=0)
    assert [c.id for c in services.store.list_chats(profile_id, include_deleted=True)] == [kept]


def test_the_trash_is_purged_again_on_each_daily_run(tmp_path):
    with WorkspaceStore(tmp_path / "data") as store:
        chat = store.create_chat(store.create_profile("P").id)
        housekeeping = Housekeeping(store, tmp_path / "data", trash_retention_days=0)
        housekeeping.start()
        try:
            store.delete_chat(chat.id)
            housekeeping.wake()  # what the daily timer does
            wait_for(lambda: housekeeping.runs == 2, "the second run")
        finally:
            housekeeping.stop()
        assert store.list_chats(chat.profile_id, include_deleted=True) == []


def test_concurrent_backups_keep_their_own_zips(start):
    services = start()
    first, second = services.make_backup(), services.make_backup()
    assert first != second and first.is_file() and second.is_file()


def test_a_rest_backup_leaves_nothing_behind(start):
    services = start()
    app = FastAPI()
    app.include_router(api.router(services))
    with TestClient(app) as client:
        response = client.get("/api/backup")
    assert response.status_code == 200 and response.content[:2] == b"PK"
    assert list(download_folder(services.settings.data_dir, "backups").iterdir()) == []


def test_stale_download_files_are_removed_at_start(start, tmp_path):
    exports = download_folder(tmp_path / "data", "exports")
    exports.mkdir(parents=True, exist_ok=True)
    stale, fresh = exports / "chat-old.json", exports / "chat-new.json"
    stale.write_text("{}")
    fresh.write_text("{}")
    long_ago = time.time() - DOWNLOAD_KEEP_S - 60
    os.utime(stale, (long_ago, long_ago))
    start()
    assert not stale.exists() and fresh.exists()
