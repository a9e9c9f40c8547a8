"""Benchmark: the dashboard over 100,000 history records in rotated files.

Measures the first page of the dashboard query and the aggregates behind the plots, with the index
built (as the app runs), the first request over a lost index (it answers from what it indexed in its
own small step) and the time the background rebuild takes, against a
baseline in the same process: parsing every line of every file. Targets: each query ≤ 300 ms and
memory growth ≤ 50 MB while computing them.

    python bench/history.py [--records 100000]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

TARGET_MS = 300
TARGET_MB = 50
MODELS = ["qwen2.5-coder:0.5b", "qwen2.5-coder:7b", "llama3.2:3b", "deepseek-coder-v2:16b"]
OUTCOMES = ["passed", "unverified", "failed", "error", "cancelled"]
START = 1_780_000_000.0


def synthetic_record(i: int, rng: random.Random, spacing: float = 30) -> dict:
    """A history record shaped like `history_record` / `turn_record` writes (outputs kept short)."""
    kind = rng.choice(["pipeline", "pipeline", "chat", "study"])
    ended = START + i * spacing
    stages = [{"stage": name, "label": name, "status": "done", "model_asked": model, "model_used": model,
               "level": "global", "host": "http://127.0.0.1:11434", "tokens_in": rng.randint(20, 900),
               "tokens_out": rng.randint(5, 400), "seconds": round(rng.uniform(0.2, 30), 3), "started": 0.0,
               "note": "", "output": "def f():\n    return 1\n" * 3, "ttft_s": round(rng.uniform(0.05, 2), 3)}
              for name, model in ([("coder", rng.choice(MODELS)), ("tests", MODELS[0]), ("judge", MODELS[1])]
                                  if kind == "pipeline" else [(kind, rng.choice(MODELS))])]
    escalations = ([{"round": 1, "reason": "low confidence", "model": MODELS[3], "candidate": "escalation 1",
                     "confidence_before": 40, "confidence_after": 70, "kept": rng.random() < 0.5}]
                   if kind == "pipeline" and rng.random() < 0.3 else [])
    if escalations:  # as a real run records it: the escalation's own stage
        stages.append({**stages[0], "stage": "escalation", "label": "escalation 1", "model_asked": MODELS[3],
                       "model_used": MODELS[3]})
    return {"run_id": f"run{i:07d}", "kind": kind, "profile_id": f"profile{i % 3}", "chat_id": f"chat{i % 50}",
            "started_at": ended - sum(s["seconds"] for s in stages), "ended_at": ended, "stages": stages,
            "confidence": rng.randint(0, 100) if kind == "pipeline" else None,
            "checks": [{"name": "examples", "passed": rng.randint(0, 2), "total": 2}] if kind == "pipeline" else [],
            "judge_score": None, "conflicts": [], "escalations": escalations,
            "outcome": rng.choice(OUTCOMES) if kind == "pipeline" else "unverified", "error": None,
            "task": f"Write function number {i}", "language": "python"}


def write_history(logs_dir: Path, records: int, per_file: int = 10_000, seed: int = 1, spacing: float = 30
                  ) -> list[Path]:
    """`records` records `spacing` seconds apart in files of `per_file` lines named as loguru rotates them."""
    logs_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    for start in range(0, records, per_file):
        last = start + per_file >= records
        stamp = time.strftime("%Y-%m-%d_%H-%M-%S", time.gmtime(START + start * spacing))
        path = logs_dir / ("runs.jsonl" if last else f"runs.{stamp}_000000.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for i in range(start, min(start + per_file, records)):
                f.write(json.dumps(synthetic_record(i, rng, spacing), separators=(",", ":")) + "\n")
        paths.append(path)
    return paths


def measure(label: str, fn, baseline_ms: float, repeats: int = 5) -> tuple[float, float]:
    """Median milliseconds of `repeats` calls and memory growth (Python's peak, and the process's RSS),
    printed beside the targets; the machine is shared, so the slowest call is printed too."""
    rss_before = rss_mb()
    tracemalloc.start()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    rss_growth = rss_mb() - rss_before
    ms = statistics.median(times)
    verdict = "ok" if ms <= TARGET_MS and max(peak_mb, rss_growth) <= TARGET_MB else "OVER TARGET"
    print(f"{label:<34} {ms:7.1f} ms median, {max(times):7.1f} max (target ≤ {TARGET_MS})  "
          f"+{peak_mb:5.1f} MB Python peak, {rss_growth:+5.1f} MB RSS (target ≤ {TARGET_MB})  {verdict}  "
          f"[{baseline_ms / ms:.0f}x faster than parsing every line]")
    return ms, max(peak_mb, rss_growth)


def rss_mb() -> float:
    """The process's resident memory now (SQLite's own allocations included, which tracemalloc does not see)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e6


def parse_everything(logs_dir: Path) -> int:
    from workspace.dashboard.reader import history_files
    count = 0
    for path in history_files(logs_dir):
        with open(path, "rb") as f:
            for line in f:
                json.loads(line)
                count += 1
    return count


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `python bench/history.py` from anywhere
    from workspace.dashboard.service import DashboardService

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        logs = Path(folder) / "logs"
        began = time.perf_counter()
        files = write_history(logs, args.records)
        print(f"{args.records} records in {len(files)} files, {sum(p.stat().st_size for p in files) / 1e6:.0f} MB, "
              f"written in {time.perf_counter() - began:.1f} s")
        began = time.perf_counter()
        parse_everything(logs)
        baseline = (time.perf_counter() - began) * 1000
        print(f"{'baseline: parse every line':<34} {baseline:9.1f} ms")
        service = DashboardService(logs)
        began = time.perf_counter()
        first = service.history(limit=50)
        print(f"{'first request, index lost':<34} {(time.perf_counter() - began) * 1000:9.1f} ms "
              f"(target ≤ {TARGET_MS}; answered from {first['total']} runs indexed so far, "
              f"complete: {first['index']['complete']})")
        began_during = time.perf_counter()
        during = service.stats()
        print(f"{'aggregates while it catches up':<34} {(time.perf_counter() - began_during) * 1000:9.1f} ms "
              f"(target ≤ {TARGET_MS}; {during['tiles']['runs']} runs indexed so far)")
        service.wait_indexed()
        print(f"{'index rebuilt in the background':<34} {(time.perf_counter() - began) * 1000:9.1f} ms "
              "(once, when lost; queries answer meanwhile)")
        measure("first page (50 runs)", lambda: service.history(limit=50), baseline)
        measure("first page, filtered by model", lambda: service.history(limit=50, model=MODELS[3]), baseline)
        measure("aggregates (stats), everything", lambda: service.stats(), baseline)
        measure("aggregates, one profile + since", lambda: service.stats(profile_id="profile1", since=START + 1e6),
                baseline)
        measure("aggregates, filtered by model", lambda: service.stats(model=MODELS[3]), baseline)
        measure("one run's detail", lambda: service.run("run0000042"), baseline)
        service.close()


if __name__ == "__main__":
    main()
