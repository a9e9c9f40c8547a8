"""The dashboard page's data: plot frames from real aggregates, the table, and a run's detail as Markdown."""

from __future__ import annotations

from bench.history import write_history
from workspace.dashboard.service import DashboardService
from workspace.ui import dashboard_view as view


def test_plots_table_and_detail_from_a_history(tmp_path):
    write_history(tmp_path, 300, per_file=120, spacing=3_000)
    service = DashboardService(tmp_path)
    service.history(limit=1)
    service.wait_indexed()  # 300 records are more than a query reads itself
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
    assert "#### Stage tree" in detail and detail.index("#### Stage tree") < detail.index("#### Stages")
    assert [t.split("\n")[0] for t in view.tiles(stats)] == list(view.TILES)
    service.close()


def test_time_range_presets_and_custom():
    assert view.time_range("Last 24 hours", "", "", now=100_000.0) == (13_600.0, None)
    assert view.time_range("All time", "x", "y") == (None, None)
    assert view.time_range("Custom", " 2026-01-01 ", "") == ("2026-01-01", None)


def test_stage_tree_groups_stages_in_the_order_they_ran_with_bars_and_first_tokens():
    stage = {"status": "done", "model_used": "m1", "tokens_in": 1, "tokens_out": 1}
    record = {"run_id": "r1", "kind": "pipeline", "outcome": "passed", "started_at": 100.0, "ended_at": 110.0,
              "stages": [{**stage, "stage": "coder", "label": "coder #1", "started": 0.0, "seconds": 5.0,
                          "ttft_s": 0.5},
                         {**stage, "stage": "coder", "label": "coder #2", "started": 5.0, "seconds": 2.0,
                          "ttft_s": 0.25},
                         {**stage, "stage": "judge", "label": "judge", "started": 7.0, "seconds": 3.0,
                          "model_used": "m2"},
                         {"stage": "reviewer", "label": "reviewer", "status": "skipped", "started": 10.0,
                          "seconds": 0.0}]}
    lines = view.stage_tree(record).splitlines()
    assert lines[0].startswith("pipeline r1 — passed, 10.0 s")
    assert lines[1] == "├─ coder" and lines[4] == "├─ judge" and lines[6] == "└─ reviewer"
    assert lines[2].startswith("│  ├─ coder #1") and lines[3].startswith("│  └─ coder #2")
    bars = [line[line.index("[") + 1:line.index("]")] for line in lines if "[" in line]
    assert [len(b) for b in bars] == [view.TREE_BAR] * 4
    assert bars[0].startswith("█" * 12) and bars[2].endswith("█" * 7)  # the first half, the last 30 %
    assert "first token 0.50 s" in lines[2] and "first token" not in lines[5] and "skipped" in lines[7]


def test_picked_confidence_bars_and_the_boxes_bounds():
    assert view.picked_confidence(["40–49", "50–59"]) == "40-59"
    assert view.picked_confidence(["90–100"]) == "90-100"  # the top bar holds 100
    assert view.picked_confidence(["passed"]) == ""
    assert view.confidence_bounds("40-59") == ("40", "59") and view.confidence_bounds(" 70 ") == ("70", "70")
    assert view.confidence_bounds("") == ("", "")


def test_the_status_says_while_the_index_is_still_reading():
    assert view.index_note({"complete": True, "indexed_bytes": 5, "behind_bytes": 0}) == ""
    note = view.index_note({"complete": False, "indexed_bytes": 25, "behind_bytes": 75})
    assert "25%" in note and "still reading" in note
