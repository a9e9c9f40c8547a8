"""Benchmark: the code pipeline against one greedy shot, on tasks written for this bench with hidden tests.

    python bench/pipeline.py [--tasks 40] [--configs coder,pipeline,big,pipeline_big,pipeline-no-S…] [--threads 2]

Configurations (in one run, one engine, the same tasks):
  coder         the starter model alone, one greedy shot (the baseline)
  pipeline      the whole pipeline, every role on the starter model
  big           the 1.5B alone, one greedy shot (only when it is installed)
  pipeline_big  the pipeline with the starter model as coder and test writer, the 1.5B as reviewer, judge
                and escalation (only when it is installed)
  pipeline-no-S the pipeline on the starter model with signal S turned off and the cascade run again
                (S: examples, agreement, tests, reviewer, judge, escalation, early_stop): what S earns
For each: pass rate on the hidden tests (which the pipeline never sees), wall time and tokens (the embedded
engine decodes concurrent requests in one batch, so the wall time is the time; there is no engine queueing
to take out). Each pipeline task's line also shows its confidence and verdict, to calibrate the formula
against the hidden tests. Then, from the same pipeline
runs, which signals earned the gain: each candidate's code is run on the hidden tests, and the choice
is made again with one signal left out (examples, agreement, own tests, the reviewer's candidate, the
escalation's candidates), plus the oracle (any candidate right).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pipeline_tasks import TASKS  # noqa: E402
from workspace.engine import STARTER_MODEL, EngineServer  # noqa: E402
from workspace.llm import LLMGateway  # noqa: E402
from workspace.pipeline.code import SIGNALS, CodePipeline, PipelineConfig, RoleModels  # noqa: E402
from workspace.pipeline.context import RunContext  # noqa: E402
from workspace.pipeline.sandbox import Sandbox  # noqa: E402
from workspace.pipeline.stages import Budget, Coder  # noqa: E402
from workspace.routing import EffectiveModel  # noqa: E402
from workspace.settings import Role  # noqa: E402

BIG_MODEL = "qwen2.5-coder:1.5b"
TARGET_GAIN, TARGET_TIME = 10.0, 3.0  # points over the coder alone, at most this many times its time
TARGET_BIG_TIME = 1.5


@dataclass
class TaskRun:
    passed: bool
    wall_s: float
    tokens: int
    result: dict = field(default_factory=dict)


def effective(role: Role, model: str, host: str) -> EffectiveModel:
    return EffectiveModel(role, model, model, "global", host, False)


def hidden_pass(sandbox: Sandbox, code: str, tests: str) -> bool:
    return sandbox.run_python(code + "\n\n" + tests).ok


def run_coder(gateway, sandbox, model, task, budget) -> TaskRun:
    ctx = RunContext(gateway, lambda event: None)
    started = time.monotonic()
    candidate = Coder().draft(ctx, effective(Role.CODER, model, gateway.default_host), task["prompt"], "python", 1,
                              budget)
    wall = time.monotonic() - started
    record = ctx.records[0]
    return TaskRun(hidden_pass(sandbox, candidate.code, task["tests"]), wall, record.tokens_in + record.tokens_out)


def run_pipeline(gateway, sandbox, models: RoleModels, task, config) -> TaskRun:
    ctx = RunContext(gateway, lambda event: None)
    started = time.monotonic()
    outcome = CodePipeline(sandbox, config).run(ctx, task["prompt"], "python", models)
    wall = time.monotonic() - started
    for candidate in outcome.candidates:
        candidate["hidden"] = hidden_pass(sandbox, candidate["code"], task["tests"])
    tokens = sum(r.tokens_in + r.tokens_out for r in ctx.records)
    result = {"final": outcome.final.label, "outcome": outcome.outcome, "confidence": outcome.verdict.confidence,
              "candidates": outcome.candidates, "escalated": len(outcome.escalations),
              "time": time_split(ctx.records, wall)}
    return TaskRun(hidden_pass(sandbox, outcome.final.code, task["tests"]), wall, tokens, result)


def _covered(spans: list[tuple[float, float]]) -> float:
    """Seconds covered by the union of (start, end) spans."""
    total, reach = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def time_split(records, wall: float) -> dict:
    """Where a run's wall time went: per stage kind (spans of concurrent stages overlap) and outside any model
    call (the sandbox checks and the orchestration)."""
    spans = {}
    for r in records:
        if r.status != "skipped":
            spans.setdefault(r.stage, []).append((r.started, r.started + r.seconds))
    split = {stage: _covered(s) for stage, s in spans.items()}
    split["outside models"] = wall - _covered([span for s in spans.values() for span in s])
    return split


def reselect(candidates: list[dict], leave_out: str) -> bool:
    """Would the run have ended right with one signal left out? Re-ranks the same candidates."""
    pool = [c for c in candidates if not (leave_out == "reviewer" and c["label"] == "reviewer")
            and not (leave_out == "escalation" and c["label"].startswith("escalation"))]

    def key(c: dict) -> tuple:
        examples = c["examples"][0] if leave_out != "examples" else 0
        agreement = c["agreement"][0] if leave_out != "agreement" else 0
        tests = c["tests"][0] if leave_out != "tests" else 0
        return (c["parses"], c["error"] is None, examples, agreement, tests, -candidates.index(c))
    return max(pool, key=key)["hidden"]


def summarise(name: str, runs: list[TaskRun]) -> dict:
    return {"name": name, "pass": 100 * sum(r.passed for r in runs) / len(runs),
            "wall": sum(r.wall_s for r in runs),
            "tokens": sum(r.tokens for r in runs), "p50": statistics.median(r.wall_s for r in runs)}


def print_table(rows: list[dict], base: dict) -> None:
    print(f"\n{'configuration':<22} {'pass %':>7} {'Δ pts':>7} {'wall s':>8} {'×coder':>7} {'tokens':>8} {'p50 s':>7}")
    for row in rows:
        print(f"{row['name']:<22} {row['pass']:>7.1f} {row['pass'] - base['pass']:>+7.1f} {row['wall']:>8.1f} "
              f"{row['wall'] / base['wall']:>7.2f} {row['tokens']:>8} {row['p50']:>7.2f}")


def print_signals(name: str, runs: list[TaskRun]) -> None:
    n = len(runs)
    oracle = sum(any(c["hidden"] for c in r.result["candidates"]) for r in runs)
    print(f"\nSignals in '{name}' (same runs, re-ranked; {n} tasks): final {sum(r.passed for r in runs)}/{n}, "
          f"any candidate right (oracle) {oracle}/{n}, greedy draft "
          f"{sum(r.result['candidates'][0]['hidden'] for r in runs)}/{n}")
    for signal in ("examples", "agreement", "tests", "reviewer", "escalation"):
        print(f"  without {signal:<11} {sum(reselect(r.result['candidates'], signal) for r in runs)}/{n}")
    split: dict[str, float] = {}
    for r in runs:
        for stage, seconds in r.result["time"].items():
            split[stage] = split.get(stage, 0.0) + seconds
    print("  time by stage (s; concurrent stages overlap): "
          + ", ".join(f"{stage} {seconds:.1f}" for stage, seconds in split.items()))
    escalated = [r for r in runs if r.result["escalated"]]
    print(f"  escalated on {len(escalated)} tasks; right after escalation on {sum(r.passed for r in escalated)}")
    settled = [r for r in runs if len(r.result["candidates"]) == 1]
    print(f"  settled by the first draft on {len(settled)} tasks; right on {sum(r.passed for r in settled)}")
    for outcome in ("passed", "failed"):
        group = [r for r in runs if r.result["outcome"] == outcome]
        if group:
            print(f"  verdict '{outcome}' on {len(group)} tasks: right on {sum(r.passed for r in group)} "
                  f"(mean confidence {statistics.mean(r.result['confidence'] for r in group):.0f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models-dir", type=Path, default=ROOT / "data" / "models")
    parser.add_argument("--tasks", type=int, default=len(TASKS))
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--configs", default="coder,pipeline,big,pipeline_big")
    parser.add_argument("--report-every", type=int, default=5, help="print the tables every N tasks too")
    args = parser.parse_args()
    tasks = TASKS[:args.tasks]
    engine = EngineServer(args.models_dir, threads=args.threads, max_queue=16)
    host = engine.start()
    try:
        engine.prepare_model(STARTER_MODEL)
        has_big = _prepare_big(engine)
        gateway, sandbox = LLMGateway(host), Sandbox()
        print(f"{len(tasks)} tasks; sandbox: {sandbox.isolation}; 1.5B installed: {has_big}")
        _run_all(engine, gateway, sandbox, host, tasks, args.configs.split(","), has_big, args.report_every)
    finally:
        engine.stop()


def report(results: dict[str, list[TaskRun]]) -> None:
    done = min(len(runs) for runs in results.values())
    results = {name: runs[:done] for name, runs in results.items()}
    print(f"\n===== after {done} tasks =====")
    rows = [summarise(name, runs) for name, runs in results.items()]
    base = next((r for r in rows if r["name"] == "coder"), rows[0])  # ratios against the first without a coder run
    print_table(rows, base)
    _print_targets(rows, base)
    for name, runs in results.items():
        if name.startswith("pipeline"):
            print_signals(name, runs)


def forget_prompts(engine: EngineServer) -> None:
    """Empty the engine's cached prompts before each configuration's run of a task: the pipeline's greedy draft
    has the coder's exact prompt, and must not find it cached by the baseline's run just before."""
    for loaded in engine.runner.ps():
        if loaded.batcher is not None:
            loaded.batcher.forget()


def _prepare_big(engine: EngineServer) -> bool:
    try:
        engine.prepare_model(BIG_MODEL)
        return True
    except Exception as exc:  # the optional model is not installed
        print(f"(the 1.5B is not available: {exc})")
        return False


def _run_all(engine, gateway, sandbox, host, tasks, configs, has_big, report_every) -> None:
    budget, config = Budget(), PipelineConfig()
    small = effective(Role.CODER, STARTER_MODEL, host)

    def on_small(c: PipelineConfig):  # every role on the starter model
        return lambda t: run_pipeline(gateway, sandbox, RoleModels(small, small, small, small), t, c)
    plans = {"coder": lambda t: run_coder(gateway, sandbox, STARTER_MODEL, t, budget), "pipeline": on_small(config)}
    if has_big:
        big = effective(Role.REVIEWER, BIG_MODEL, host)
        plans["big"] = lambda t: run_coder(gateway, sandbox, BIG_MODEL, t, budget)
        plans["pipeline_big"] = lambda t: run_pipeline(gateway, sandbox, RoleModels(small, big, big, big), t, config)
    for name in configs:
        if name.startswith("pipeline-no-"):
            off = name.removeprefix("pipeline-no-")
            if off not in SIGNALS:
                raise SystemExit(f"unknown signal {off!r}: one of {', '.join(sorted(SIGNALS))}")
            plans[name] = on_small(replace(config, signals=SIGNALS - {off}))
    results: dict[str, list[TaskRun]] = {name: [] for name in configs if name in plans}
    for index, task in enumerate(tasks, 1):  # interleaved, so load swings hit every configuration alike
        for name in results:
            forget_prompts(engine)
            run = plans[name](task)
            results[name].append(run)
            verdict = (f"  confidence {run.result['confidence']:>3} {run.result['outcome']:<8} "
                       f"{len(run.result['candidates'])} candidates, final {run.result['final']}" if run.result else "")
            print(f"[{index}/{len(tasks)}] {task['name']:<22} {name:<22} {'PASS' if run.passed else 'fail'} "
                  f"{run.wall_s:6.1f} s{verdict}", flush=True)
        if index == len(tasks) or index % report_every == 0:  # a long run still leaves figures if stopped
            report(results)


def _print_targets(rows: list[dict], base: dict) -> None:
    by_name = {r["name"]: r for r in rows}
    if "pipeline" in by_name and "coder" in by_name:
        p = by_name["pipeline"]
        print(f"\npipeline vs coder: {p['pass'] - base['pass']:+.1f} points (target ≥ +{TARGET_GAIN:.0f}), "
              f"time ×{p['wall'] / base['wall']:.2f} (target ≤ ×{TARGET_TIME:.0f})")
    if "pipeline_big" in by_name and "big" in by_name:
        p, b = by_name["pipeline_big"], by_name["big"]
        print(f"pipeline_big vs big: {p['pass'] - b['pass']:+.1f} points (target > 0), time "
              f"×{p['wall'] / b['wall']:.2f} (target ≤ ×{TARGET_BIG_TIME})")


if __name__ == "__main__":
    main()
