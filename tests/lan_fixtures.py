"""A session-wide app in LAN mode (login on) served over real HTTP on loopback: uvicorn in a thread of
the test process, on the session's engine. Clients from 127.0.0.2 play a second machine."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.app_fixtures import free_port


@dataclass
class LanApp:
    url: str
    data_dir: Path
    password: str
    services: object
    gate: object

    def client(self, address: str = "127.0.0.1", token: str | None = None, **kwargs) -> httpx.Client:
        """A client from `address` (any 127.0.0.0/8 address is this machine, seen as another client)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, transport=httpx.HTTPTransport(local_address=address),
                            headers=headers, timeout=60, **kwargs)


@pytest.fixture(scope="session")
def lan_app(tmp_path_factory, engine_url, starter_model):
    import uvicorn

    from workspace.auth import Gate
    from workspace.services import build_services
    from workspace.settings import load_settings
    from workspace.ui.web import create_web_app

    data_dir = tmp_path_factory.mktemp("lan-data")
    port = free_port()
    settings = load_settings(data_dir=data_dir, ollama={"host": engine_url}, engine={"mode": "never"},
                             models={"chat": starter_model}, chat={"num_predict": 8},
                             server={"host": "127.0.0.1", "port": port, "login": True, "max_body_mb": 25})
    services = build_services(settings)
    gate, password = Gate.for_data_dir(data_dir)
    server = uvicorn.Server(uvicorn.Config(create_web_app(services, gate), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the LAN-mode app did not start"
        time.sleep(0.05)
    try:
        yield LanApp(f"http://127.0.0.1:{port}", data_dir, password, services, gate)
    finally:
        server.should_exit = True
        thread.join(15)
        services.close()
