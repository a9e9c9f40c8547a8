"""The dashboard page's data: plot frames from real aggregates, the table, and a run's detail as Markdown."""

from __future__ import annotations

from bench.history import write_history
from workspace.dashboard.service import DashboardService
from workspace.ui import dashboard_view as view


def test_plots_table_and_detail_from_a_history(tmp_path):
    write_history(tmp_path, 300, per_file=120, spacing=3_000)
    service = DashboardService(tmp_path)
    stats = service.stats()
    frames = view.plots(stats)
    assert frames["volume"]["runs"].sum() == 300 and str(frames["volume"]["time"].dtype).startswith("datetime64")
    assert set(frames["latency"]["percentile"]) == {"p50", "p90", "p99"}
    assert frames["tokens"]["tokens"].sum() == stats["tiles"]["tokens_in"] + stats["tiles"]["tokens_out"]
    assert frames["escalation"]["runs"].sum() == stats["tiles"]["pipeline_runs"]
    page = service.history(limit=10)
    table = view.table(page["runs"], {"profile1": "Work"})
    assert list(table.columns) == view.TABLE_COLUMNS and list(table["run_id"]) == [r["run_id"] for r in page["runs"]]
    assert "Work" in set(table["profile"])
    pipeline = next(r for r in page["runs"] if r["kind"] == "pipeline")
    detail = view.run_detail({**pipeline, "final_code": "def f():\n    return 1"})
    assert detail.count("<details>") == len(pipeline["stages"]) and "#### Verdict" in detail
    assert "\n</details>\n\n#### Final code" in detail  # a blank line ends the HTML block so the Markdown renders
    assert "Runs" in view.tiles(stats)
    service.close()


def test_time_range_presets_and_custom():
    assert view.time_range("Last 24 hours", "", "", now=100_000.0) == (13_600.0, None)
    assert view.time_range("All time", "x", "y") == (None, None)
    assert view.time_range("Custom", " 2026-01-01 ", "") == ("2026-01-01", None)
