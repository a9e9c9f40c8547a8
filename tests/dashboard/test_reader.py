"""The history reader and the dashboard index over real files: rotation, a half-written last line, a corrupt
line, a lost index, a deleted file, and 100,000 records; the aggregates checked against a count of the records."""

from __future__ import annotations

import json
import random
import time

import pytest

from bench.history import START, synthetic_record, write_history
from workspace.dashboard.index import INDEX_FILE
from workspace.dashboard.queries import DashboardError, UnknownRun
from workspace.dashboard.reader import read_page
from workspace.dashboard.service import DashboardService
from workspace.history import RunHistory


def record(i: int, **extra) -> dict:
    return {"run_id": f"r{i}", "kind": "chat", "profile_id": "p", "started_at": START + i, "ended_at": START + i + 1,
            "stages": [{"stage": "chat", "model_used": "m", "seconds": 1.0, "tokens_out": 3}], "outcome": "unverified",
            **extra}


def lines(records) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def test_reads_rotated_files_newest_first(tmp_path):
    history = RunHistory(tmp_path, rotation="2 KB")
    try:
        for i in range(40):
            history.write(record(i))
    finally:
        history.close()
    assert len(list(tmp_path.glob("runs*.jsonl"))) > 2  # the sink really rotated
    page = read_page(tmp_path, 0, 100)
    assert [r["run_id"] for r in page.records] == [f"r{i}" for i in reversed(range(40))]
    assert [r["run_id"] for r in read_page(tmp_path, 5, 3).records] == ["r34", "r33", "r32"]
    service = DashboardService(tmp_path)
    got = service.history(limit=10, offset=35)
    assert got["total"] == 40 and [r["run_id"] for r in got["runs"]] == ["r4", "r3", "r2", "r1", "r0"]
    service.close()


def test_half_written_last_line_is_left_out_until_complete(tmp_path):
    full = json.dumps(record(2))
    (tmp_path / "runs.jsonl").write_text(lines([record(0), record(1)]) + full[:25])
    assert [r["run_id"] for r in read_page(tmp_path).records] == ["r1", "r0"]
    service = DashboardService(tmp_path)
    got = service.history()
    assert (got["total"], got["skipped_lines"]) == (2, 0)  # not a corrupt line: a record still being written
    with open(tmp_path / "runs.jsonl", "a") as f:
        f.write(full[25:] + "\n")
    got = service.history()
    assert [r["run_id"] for r in got["runs"]] == ["r2", "r1", "r0"] and got["skipped_lines"] == 0
    service.close()


def test_corrupt_line_in_the_middle_is_skipped_and_counted(tmp_path):
    (tmp_path / "runs.2026-01-01_00-00-00_000000.jsonl").write_text(
        lines([record(0)]) + "{not json\n" + lines([record(1)]) + "[1, 2]\n" + lines([record(2)]))
    (tmp_path / "runs.jsonl").write_text(lines([record(3)]))
    page = read_page(tmp_path, 0, 10)
    assert [r["run_id"] for r in page.records] == ["r3", "r2", "r1", "r0"] and page.skipped == 2
    service = DashboardService(tmp_path)
    got = service.history()
    assert got["total"] == 4 and got["skipped_lines"] == 2
    assert service.run("r1")["run_id"] == "r1"
    service.close()


def test_rotation_deletion_and_a_lost_index(tmp_path):
    (tmp_path / "runs.jsonl").write_text(lines(record(i) for i in range(5)))
    service = DashboardService(tmp_path)
    assert service.history()["total"] == 5
    (tmp_path / "runs.jsonl").rename(tmp_path / "runs.2026-01-01_00-00-00_000000.jsonl")  # what loguru does
    (tmp_path / "runs.jsonl").write_text(lines(record(i) for i in range(5, 8)))
    got = service.history(limit=3, offset=4)
    assert got["total"] == 8 and [r["run_id"] for r in got["runs"]] == ["r3", "r2", "r1"]
    assert service.stats()["tiles"]["runs"] == 8
    (tmp_path / "runs.2026-01-01_00-00-00_000000.jsonl").unlink()  # the retention's doing
    assert service.history()["total"] == 3 and service.stats()["tiles"]["runs"] == 3
    with pytest.raises(UnknownRun):
        service.run("r1")
    service.close()
    (tmp_path / INDEX_FILE).write_bytes(b"this is not a database")
    service = DashboardService(tmp_path)
    assert service.history()["total"] == 3 and service.stats()["tiles"]["tokens_out"] == 9
    service.close()


def test_100000_records(tmp_path):
    rng = random.Random(3)
    per_file, count = 25_000, 100_000
    for n, start in enumerate(range(0, count, per_file)):
        name = "runs.jsonl" if start + per_file >= count else f"runs.2026-01-0{n + 1}_00-00-00_000000.jsonl"
        (tmp_path / name).write_text(lines(record(i, outcome=rng.choice(["unverified", "error"]))
                                           for i in range(start, start + per_file)))
    assert [r["run_id"] for r in read_page(tmp_path, 0, 3).records] == ["r99999", "r99998", "r99997"]
    service = DashboardService(tmp_path)
    first = service.history(limit=50, offset=0)  # the index is new: this query read only its share, newest file first
    assert first["index"]["complete"] is False and first["index"]["behind_bytes"] > 0
    assert 0 < first["total"] < count and all(int(r["run_id"][1:]) >= 75_000 for r in first["runs"])
    service.wait_indexed()  # the catch-up thread read the rest
    last = service.history(limit=50, offset=99_990)
    assert last["index"] == {"complete": True, "behind_bytes": 0, "indexed_bytes": sum(
        p.stat().st_size for p in tmp_path.glob("runs*.jsonl"))}
    assert last["total"] == count and [r["run_id"] for r in last["runs"]] == [f"r{i}" for i in range(9, -1, -1)]
    tiles = service.stats()["tiles"]
    assert tiles["runs"] == count and tiles["tokens_out"] == 3 * count
    errors = service.history(outcome="error", limit=1)["total"]
    assert tiles["errors"] == errors and 0 < errors < count
    service.close()


def test_a_long_backlog_is_read_in_the_background_and_queries_say_how_far(tmp_path):
    """A query reads at most `inline_bytes` itself and answers from what is indexed, saying so; the rest is read
    by the catch-up thread; once caught up, a new record is indexed by the next query itself."""
    (tmp_path / "runs.2026-01-01_00-00-00_000000.jsonl").write_text(lines(record(i) for i in range(300)))
    (tmp_path / "runs.jsonl").write_text(lines(record(i) for i in range(300, 400)))
    one_line = len(json.dumps(record(300))) + 1  # the current file's lines, read first, are all this long
    service = DashboardService(tmp_path, inline_bytes=20 * one_line)
    first = service.stats()
    assert first["index"]["complete"] is False and first["tiles"]["runs"] == 20  # the current file's first lines
    service.wait_indexed()
    assert service.stats()["tiles"]["runs"] == 400 and service.history()["index"]["complete"] is True
    with open(tmp_path / "runs.jsonl", "a") as f:
        f.write(lines([record(400)]))
    got = service.history(limit=1)
    assert got["index"]["complete"] is True and got["runs"][0]["run_id"] == "r400" and got["total"] == 401
    service.close()
    (tmp_path / INDEX_FILE).unlink()  # lost: rebuilt the same way, and close() stops a catch-up mid-way
    service = DashboardService(tmp_path, inline_bytes=one_line)
    assert service.history()["total"] == 1
    service.close()
    service = DashboardService(tmp_path)  # what a closed catch-up left is a consistent index to go on from
    assert service.history()["total"] == 401 and service.stats()["tiles"]["runs"] == 401
    service.close()


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """2,000 varied records 10 minutes apart (14 days) over 3 files, the records, and a service over them."""
    logs = tmp_path_factory.mktemp("logs")
    write_history(logs, 2_000, per_file=700, seed=5, spacing=600)
    rng = random.Random(5)
    records = [synthetic_record(i, rng, 600) for i in range(2_000)]
    service = DashboardService(logs)
    service.history(limit=1)  # about 2 MB: more than a query reads itself, the rest is read in the background
    service.wait_indexed()
    yield records, service
    service.close()


def _count(records, **f):
    def keep(r):
        return ((not f.get("kind") or r["kind"] == f["kind"]) and (not f.get("since") or r["ended_at"] >= f["since"])
                and (not f.get("until") or r["ended_at"] <= f["until"])
                and (not f.get("profile_id") or r["profile_id"] == f["profile_id"])
                and (not f.get("outcome") or r["outcome"] == f["outcome"])
                and (not f.get("model") or any(s["model_used"] == f["model"] for s in r["stages"]))
                and (not f.get("stage") or any(s["stage"] == f["stage"] for s in r["stages"]))
                and (f.get("confidence_min") is None or (r["confidence"] or -1) >= f["confidence_min"])
                and (f.get("confidence_max") is None or r["confidence"] is not None
                     and r["confidence"] <= f["confidence_max"]))
    return [r for r in records if keep(r)]


@pytest.mark.parametrize("filters", [
    {}, {"kind": "pipeline"}, {"since": START + 100_000}, {"since": START + 12_345, "until": START + 40_000},
    {"since": START + 123_457, "until": START + 1_000_001}, {"until": START + 733_333, "profile_id": "profile1"},
    {"model": "llama3.2:3b", "since": START + 1_000}, {"since": START + 12_345, "outcome": "failed"},
    {"model": "qwen2.5-coder:7b"}, {"model": "deepseek-coder-v2:16b", "kind": "chat", "until": START + 900_000},
    {"stage": "judge", "since": START + 5_000}, {"confidence_min": 40, "confidence_max": 59},
    {"confidence_min": 90, "model": "llama3.2:3b"},
])
def test_totals_and_aggregates_match_the_records(synthetic, filters):
    records, service = synthetic
    expected = _count(records, **filters)
    got = service.history(limit=500, **filters)
    assert got["total"] == len(expected)
    assert [r["run_id"] for r in got["runs"]] == [r["run_id"] for r in reversed(expected)][:500]
    tiles = service.stats(**filters)["tiles"]
    assert tiles["runs"] == len(expected)
    assert tiles["errors"] == sum(r["outcome"] == "error" for r in expected)
    assert tiles["tokens_out"] == sum(s["tokens_out"] for r in expected for s in r["stages"])
    assert tiles["checks_passed"] == sum(c["passed"] for r in expected for c in r["checks"])
    stats = service.stats(**filters)
    escalated = [r for r in expected if r["escalations"]]
    assert stats["escalation"]["kept"] == sum(r["escalations"][0]["kept"] for r in escalated)
    models = {m["model"]: m for m in stats["models"]}
    assert set(models) == {s["model_used"] for r in expected for s in r["stages"]}
    for name, row in models.items():  # each model's calls and mean time to first token, in the runs filtered
        used = [s for r in expected for s in r["stages"] if s["model_used"] == name]
        assert row["calls"] == len(used)
        assert row["mean_ttft_seconds"] == pytest.approx(sum(s["ttft_s"] for s in used) / len(used), abs=1e-3)


def test_iso_times_paging_and_bad_filters(synthetic):
    records, service = synthetic
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(START + 30_000))
    assert service.history(since=iso)["total"] == len(_count(records, since=START + 30_000))
    first, second = service.history(limit=7), service.history(limit=7, offset=7)
    both = service.history(limit=14)
    assert [r["run_id"] for r in first["runs"] + second["runs"]] == [r["run_id"] for r in both["runs"]]
    for bad in [{"kind": "nope"}, {"outcome": "great"}, {"since": "yesterday-ish"},
                {"since": START + 10, "until": START}, {"limit": 0}, {"offset": -1}, {"confidence_min": "high"},
                {"confidence_max": 101}, {"confidence_min": 60, "confidence_max": 50}]:
        with pytest.raises(DashboardError):
            service.history(**bad)
