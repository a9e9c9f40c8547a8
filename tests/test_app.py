"""The real app: `python app.py` on a free port, falling back to the embedded engine, answering
through `gradio_client` (streaming) with a real model; plus its privacy switches."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from tests.app_fixtures import ROOT


def client_for(url):
    from gradio_client import Client

    return Client(url + "/", verbose=False, analytics_enabled=False, download_files=False)


def test_health_reports_the_embedded_engine(running_app):
    url, _ = running_app
    health = httpx.get(url + "/api/health").json()
    assert health["backend"] == "embedded" and health["backend_up"] is True
    assert "qwen2.5-coder:0.5b" in health["models"]


def test_gradio_client_chat_streams_a_real_answer(running_app):
    url, _ = running_app
    client = client_for(url)
    profile = client.predict("Work", "", "", api_name="/create_profile")
    chat = client.predict(profile["id"], "First", api_name="/create_chat")
    job = client.submit(chat["id"], "Write a Python function that adds two numbers.", api_name="/chat")
    partials = [text for text in job]
    final = job.result()
    assert final.strip() and len(partials) >= 2  # streamed: several growing updates
    assert all(final.startswith(p) for p in partials if p)
    stored = client.predict(chat["id"], api_name="/messages")
    assert [m["role"] for m in stored] == ["user", "assistant"]
    assert stored[1]["status"] == "ok" and stored[1]["content"] == final


def test_gradio_temp_folder_is_inside_the_data_folder(running_app):
    url, data_dir = running_app
    assert (data_dir / "tmp").is_dir()
    assert (data_dir / "logs" / "app.log").exists()


def test_page_references_no_outside_assets(running_app):
    url, _ = running_app
    page = httpx.get(url + "/").text
    for outside in ("fonts.googleapis", "cdn.jsdelivr", "unpkg.com", "cdnjs", "googletagmanager"):
        assert outside not in page
    assert httpx.get(url + "/docs").status_code == 404  # FastAPI's CDN-loaded docs are off


def test_a_bad_setting_stops_the_start_with_a_message_naming_the_key(tmp_path):
    env = {**os.environ, "WORKSPACE_DATA_DIR": str(tmp_path), "WORKSPACE_ENGINE__MODE": "sometimes"}
    result = subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "engine.mode" in result.stderr


def test_gradio_client_stop_regenerate_search_export_import(running_app):
    url, _ = running_app
    client = client_for(url)
    profile = client.predict("Gradio", "", "", api_name="/create_profile")
    chat = client.predict(profile["id"], "Stop me", api_name="/create_chat")
    job = client.submit(chat["id"], "List twenty fruits with a sentence about each.", api_name="/chat")
    for partial in job:
        if len(partial) > 10:
            assert client.predict(chat["id"], api_name="/stop") is True
            break
    job.result()
    stopped = client.predict(chat["id"], api_name="/messages")[-1]
    assert stopped["status"] == "stopped" and len(stopped["content"]) > 10

    regenerated = client.predict(chat["id"], api_name="/regenerate")
    messages = client.predict(chat["id"], api_name="/messages")
    assert len(messages) == 2 and messages[1]["status"] == "ok" and messages[1]["content"] == regenerated

    hits = client.predict("twenty FRUITS", profile["id"], api_name="/search")
    assert {hit["chat_id"] for hit in hits} == {chat["id"]}
    exported = client.predict(chat["id"], "json", api_name="/export_chat")
    assert "twenty fruits" in client.predict(chat["id"], "md", api_name="/export_chat")
    copy = client.predict(profile["id"], exported, api_name="/import_chat")
    copied = client.predict(copy["id"], api_name="/messages")
    assert [m["content"] for m in copied] == [m["content"] for m in messages]
