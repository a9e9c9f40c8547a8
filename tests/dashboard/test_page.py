"""The dashboard page's load callback as a plain function on a real history, index and store: the status line,
the tiles and plots for the whole page, and the runs table narrowed by a stage or a confidence picked in a plot
(the plots keep the whole page's figures)."""

from __future__ import annotations

import random
from types import SimpleNamespace

import gradio as gr

from bench.history import synthetic_record, write_history
from workspace.dashboard.service import DashboardService
from workspace.store import WorkspaceStore
from workspace.ui import dashboard
from workspace.ui import dashboard_view as view

TABLE = len(view.TILES) + 10  # after the status line: the tiles, the ten plots, then the runs table

def test_the_table_narrows_to_the_runs_behind_a_picked_stage_or_confidence(tmp_path):
    write_history(tmp_path / "logs", 200, per_file=80, seed=7, spacing=600)
    rng = random.Random(7)
    records = [synthetic_record(i, rng, 600) for i in range(200)]
    service = DashboardService(tmp_path / "logs")
    store = WorkspaceStore(tmp_path / "data")
    try:
        with gr.Blocks():
            load = dashboard.build(SimpleNamespace(dashboard=service, store=store))["fn"]
        everything = ["All time", "", "", "", "", "", ""]
        offset, status, *rest = load(*everything, "", "")
        tiles, table = rest[:len(view.TILES)], rest[TABLE]
        assert [t.split("\n")[0] for t in tiles] == list(view.TILES) and tiles[0].endswith(f"{len(records):,}")
        assert offset == 0 and status.startswith(f"{len(records):,} run(s)") and len(table) == dashboard.PAGE_SIZE
        service.wait_indexed()  # whatever the first query left to the catch-up thread
        _, status, *rest = load(*everything, "judge", "40-59")
        behind = [r for r in records if r["confidence"] is not None and 40 <= r["confidence"] <= 59
                  and any(s["stage"] == "judge" for s in r["stages"])]
        assert status.startswith(f"{len(records):,} run(s)")  # the tiles and plots still cover the whole page
        assert list(rest[TABLE]["run_id"]) == [r["run_id"] for r in reversed(behind)][:dashboard.PAGE_SIZE]
        assert rest[TABLE + 1].endswith(f"of {len(behind):,}")
    finally:
        service.close()
        store.close()


def test_a_tile_opens_the_runs_behind_its_figure(tmp_path):
    write_history(tmp_path / "logs", 300, per_file=100, seed=3, spacing=600)
    rng = random.Random(3)
    records = [synthetic_record(i, rng, 600) for i in range(300)]
    behind = {
        "Errors": [r for r in records if r["outcome"] == "error"],
        "Escalation rate": [r for r in records if r["kind"] == "pipeline"
                            and any(s["stage"] == "escalation" for s in r["stages"])],
        "Checks passed": [r for r in records if r["kind"] == "pipeline" and r["outcome"] == "passed"],
        "Runs": records,
    }
    service = DashboardService(tmp_path / "logs")
    store = WorkspaceStore(tmp_path / "data")
    try:
        with gr.Blocks():
            load = dashboard.build(SimpleNamespace(dashboard=service, store=store))["fn"]
        service.history()  # starts reading the logs; the catch-up thread reads the rest
        service.wait_indexed()
        for name, runs in behind.items():
            kind, outcome, stage, confidence = view.TILE_FILTERS.get(name, view.EVERY_RUN)
            _, _, *rest = load("All time", "", "", "", kind, "", outcome, stage, confidence)
            assert runs and rest[TABLE + 1].endswith(f"of {len(runs):,}"), name
    finally:
        service.close()
        store.close()
