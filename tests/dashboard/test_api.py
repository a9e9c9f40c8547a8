"""The dashboard's REST routes over real HTTP (uvicorn on loopback) on a real history and index: the stage and
confidence filters, how complete the index is, and a bad filter as a clear 400."""

from __future__ import annotations

import random
import threading
from types import SimpleNamespace

import httpx
import uvicorn
from fastapi import FastAPI

from bench.history import synthetic_record, write_history
from tests.app_fixtures import free_port
from workspace import api, api_dashboard
from workspace.dashboard.service import DashboardService


def test_stage_and_confidence_filters_over_http(tmp_path):
    write_history(tmp_path, 150, per_file=60, seed=9, spacing=900)
    rng = random.Random(9)
    records = [synthetic_record(i, rng, 900) for i in range(150)]
    service = DashboardService(tmp_path)
    app = FastAPI()
    api.install_error_handlers(app)
    app.include_router(api_dashboard.router(SimpleNamespace(dashboard=service)))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        while not server.started:  # the server says when it listens
            thread.join(0.05)
        base = f"http://127.0.0.1:{server.config.port}/api/dashboard"
        with httpx.Client(base_url=base) as client:
            got = client.get("/history", params={"stage": "judge", "confidence_min": 50, "limit": 500}).json()
            expected = [r["run_id"] for r in reversed(records) if (r["confidence"] or -1) >= 50
                        and any(s["stage"] == "judge" for s in r["stages"])]
            assert [r["run_id"] for r in got["runs"]] == expected and got["total"] == len(expected) > 0
            assert got["index"]["complete"] is True
            stats = client.get("/stats", params={"confidence_max": 49}).json()
            assert stats["tiles"]["runs"] == sum(r["confidence"] is not None and r["confidence"] <= 49 for r in records)
            bad = ({"confidence_min": "high"}, {"confidence_max": 150}, {"confidence_min": 9, "confidence_max": 1})
            for params in bad:
                response = client.get("/history", params=params)
                assert response.status_code == 400 and "confidence" in response.json()["error"]
    finally:
        server.should_exit = True
        thread.join()
        service.close()
