"""How the app is reached: printed URLs from the interfaces, `--set-password`, `--local`, and HTTPS with the
self-signed pair (httpx trusting exactly that certificate)."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import threading
import time

import httpx
import pytest

from tests.app_fixtures import ROOT, free_port
from workspace import auth, serving


@pytest.mark.skipif(shutil.which("hostname") is None, reason="no `hostname` tool to compare with")
def test_one_url_per_lan_address_read_from_the_interfaces():
    listed = subprocess.run(["hostname", "-I"], capture_output=True, text=True, check=True).stdout.split()
    ipv4 = [a for a in listed if ":" not in a and not a.startswith("127.")]
    expected = [f"http://{a}:8100/" for a in ipv4] or ["http://127.0.0.1:8100/"]
    assert serving.urls("0.0.0.0", 8100, tls=False) == expected
    assert serving.urls("127.0.0.1", 8200, tls=True) == ["https://127.0.0.1:8200/"]


def test_the_app_prints_where_to_open_it(running_app):
    url, data_dir = running_app
    printed = (data_dir / "stdout.log").read_text()
    assert f"    {url}/\n" in printed and "Login" not in printed  # loopback: its one URL, no login


def run_app(args, data_dir, stdin=""):
    env = {**os.environ, "WORKSPACE_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "app.py", *args], cwd=ROOT, env=env, input=stdin, capture_output=True,
                          text=True, timeout=120)


def test_set_password_reads_stdin_and_refuses_a_weak_one(tmp_path):
    assert run_app(["--set-password"], tmp_path, "short\n").returncode == 2
    assert not (tmp_path / auth.AUTH_FILE).exists()
    done = run_app(["--set-password"], tmp_path, "a-long-enough-secret\n")
    assert done.returncode == 0, done.stderr
    assert auth.read_credentials(tmp_path / auth.AUTH_FILE).matches("a-long-enough-secret")


def test_local_binds_loopback_without_a_login():
    import app

    assert app.parse_args(["--local"]).local and not app.parse_args([]).local
    from workspace.settings import load_settings

    defaults = load_settings().server
    assert defaults.host == "0.0.0.0" and auth.needs_login(defaults.host, defaults.login)


def test_https_with_the_self_signed_pair(lan_app, tmp_path):
    import uvicorn

    from workspace.ui.web import create_web_app

    cert, key, fingerprint = serving.self_signed_pair(tmp_path)
    assert serving.self_signed_pair(tmp_path)[2] == fingerprint  # made once, then reused
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_web_app(lan_app.services), host="127.0.0.1", port=port,
                                           log_level="warning", ssl_certfile=str(cert), ssl_keyfile=str(key)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline
        time.sleep(0.05)
    try:
        url = f"https://127.0.0.1:{port}"
        assert httpx.get(url + "/api/health", verify=ssl.create_default_context(cafile=str(cert))).status_code == 200
        with pytest.raises(httpx.ConnectError):
            httpx.get(url + "/api/health")  # not trusted without the certificate
        served = ssl.get_server_certificate(("127.0.0.1", port))
        (tmp_path / "served.pem").write_text(served)
        assert serving.fingerprint(tmp_path / "served.pem") == fingerprint
    finally:
        server.should_exit = True
        thread.join(15)
