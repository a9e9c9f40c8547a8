"""A session-wide running app: `python app.py` on a free port, with no Ollama, so it starts the
embedded engine (reusing the session's verified starter model)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests import netguard

ROOT = Path(__file__).resolve().parent.parent
APP_ANSWER_TOKENS = "160"  # long enough that a browser can switch chats mid-answer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, timeout_s: float = 120, path: str = "/api/health",
                       name: str = "app") -> None:
    """Until `url + path` answers 200 (the server is up); fails when the process exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{name} exited early with {process.returncode}")
        try:
            if httpx.get(url + path, timeout=1, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError(f"{name} did not start in time")


def stop_process(process: subprocess.Popen) -> None:
    """Terminate a server process, killing it when it does not end."""
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def running_app(tmp_path_factory, engine_models_dir):
    data_dir = tmp_path_factory.mktemp("app-data")
    port = free_port()
    dead_ollama = f"http://127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "WORKSPACE_DATA_DIR": str(data_dir),
        "WORKSPACE_SERVER__HOST": "127.0.0.1",  # loopback without a login (what `--local` does)
        "WORKSPACE_SERVER__PORT": str(port),
        "WORKSPACE_OLLAMA__HOST": dead_ollama,  # no Ollama: the app must start its embedded engine
        "WORKSPACE_ENGINE__MODELS_DIR": str(engine_models_dir),
        "WORKSPACE_ENGINE__THREADS": "2",
        "WORKSPACE_CHAT__NUM_PREDICT": APP_ANSWER_TOKENS,
        # A small code pipeline: the end-to-end tests go through every stage, not through many tokens.
        "WORKSPACE_PIPELINE__DRAFTS": "2",
        "WORKSPACE_PIPELINE__MAX_ROUNDS": "1",
        "WORKSPACE_PIPELINE__NUM_PREDICT": "300",
    }
    for key in ("GRADIO_ANALYTICS_ENABLED", "HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY", "GRADIO_TEMP_DIR"):
        env.pop(key, None)  # the app must set its own privacy switches
    guard_log = data_dir / "outbound-attempts.log"
    env["NETGUARD_LOG"] = str(guard_log)
    log = open(data_dir / "stdout.log", "wb")
    process = subprocess.Popen([sys.executable, "-c", netguard.GUARDED_APP], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process)
        yield url, data_dir
    finally:
        stop_process(process)
        log.close()
    attempts = guard_log.read_text() if guard_log.exists() else ""
    assert not attempts, f"The app process tried to reach beyond loopback:\n{attempts}"


