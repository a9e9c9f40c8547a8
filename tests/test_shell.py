"""The header's words: which backend answers, said plainly, and the addresses other devices open (never loopback)."""

from __future__ import annotations

from types import SimpleNamespace

from workspace.backend import Backend
from workspace.engine.models import STARTER_MODEL
from workspace.security import lan_addresses
from workspace.settings import load_settings
from workspace.ui import shell


def services(tmp_path, backend: Backend, host: str = "0.0.0.0"):
    settings = load_settings(data_dir=tmp_path, server={"host": host, "port": 8100})
    return SimpleNamespace(backend=backend, settings=settings)  # the two parts the header reads


def test_the_backend_in_plain_words(tmp_path):
    local = Backend("ollama", "http://127.0.0.1:11434", None, _models=["a", "b", "c", "d"])
    assert shell.backend_words(services(tmp_path, local)) == "Ollama on this PC, 4 models"
    remote = Backend("ollama", "http://192.168.1.9:11434", None, _models=["a"])
    assert shell.backend_words(services(tmp_path, remote)) == "Ollama at http://192.168.1.9:11434, 1 model"
    starter = Backend("embedded", "http://127.0.0.1:5000", None, _models=[STARTER_MODEL])
    assert shell.backend_words(services(tmp_path, starter)) == "built-in engine, starter model"
    more = Backend("embedded", "http://127.0.0.1:5000", None, _models=[STARTER_MODEL, "x"])
    assert shell.backend_words(services(tmp_path, more)) == "built-in engine, 2 models"


def test_the_header_shows_lan_addresses_and_never_a_loopback_one(tmp_path):
    backend = Backend("embedded", "http://127.0.0.1:5000", None, _models=[STARTER_MODEL])
    lan = shell.header_html(services(tmp_path, backend), "chat", "https")
    assert "127.0.0.1" not in lan and "localhost" not in lan
    expected = [a for a in lan_addresses() if ":" not in a and not a.startswith("127.")]
    for address in expected:
        assert f"https://{address}:8100/" in lan
    if not expected:
        assert "This PC only" in lan
    local = shell.header_html(services(tmp_path, backend, host="127.0.0.1"), "dashboard")
    assert "This PC only" in local and "127.0.0.1" not in local
    assert 'class="ws-nav active">Dashboard' in local and "/chat" in local
