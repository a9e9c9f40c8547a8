"""Test-wide set-up: privacy env before anything imports gradio, the network guard, shared fixtures."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests import netguard

# Before gradio / huggingface_hub are imported by any test module.
_SESSION_TMP = Path(tempfile.mkdtemp(prefix="workspace-tests-"))
os.environ.update(
    GRADIO_ANALYTICS_ENABLED="False",
    HF_HUB_OFFLINE="1",
    HF_HUB_DISABLE_TELEMETRY="1",
    DO_NOT_TRACK="1",
    GRADIO_TEMP_DIR=str(_SESSION_TMP / "gradio-tmp"),
)
os.environ.pop("OLLAMA_HOST", None)  # tests never reach a developer's own Ollama by accident
netguard.install()

pytest_plugins = ["tests.engine.fixtures", "tests.services_fixtures", "tests.app_fixtures", "tests.lan_fixtures"]


@pytest.fixture(autouse=True)
def no_outbound_connections():
    """Fail any test during which anything tried to reach beyond loopback (even if the error was swallowed)."""
    netguard.take_violations()
    yield
    violations = netguard.take_violations()
    assert not violations, f"Outbound network attempts: {violations}"


@pytest.fixture
def unused_port_url():
    """A loopback URL where nothing listens: 'Ollama is not running'."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
