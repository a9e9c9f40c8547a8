"""Benchmark: the embedded engine (HTTP + NDJSON through the `ollama` client) against llama-cpp-python
called directly, in one process, on the same GGUF with the same context size and threads.

    python bench/engine.py [--models-dir data/models] [--threads 2] [--tokens 128] [--reps 5]
                           [--sections speed,concurrency] [--stream-tokens 48] [--parallel 4]

Prints, for each path, decode speed (streamed tokens/s from the first token to the last) and time to
first token, then the speed ratio and the first-token overhead beside their targets. Both paths keep
their prompt cache warm after the warm-up run, so time to first token is mostly overhead plus one step.

Wall-clock figures swing with whatever else runs on the machine, so the same figures are also given
in process CPU time (all threads: llama.cpp's, the HTTP server's and the client's), which measures the
work each path does and is what the engine's overhead really adds.

The concurrency section (bench/engine_concurrency.py) runs 1, 2, 4 and 8 concurrent streams on the
batched engine beside the one-at-a-time one, and a chat's tenth turn with its prefix cached and cold.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MESSAGES = [{"role": "user", "content": "Write a Python function that checks whether a string is a "
                                        "palindrome, with a docstring and two examples."}]
NUM_CTX, SEED = 4096, 42
TARGET_RATIO, TARGET_OVERHEAD_MS = 0.90, 50.0


@dataclass
class Run:
    first_s: float  # wall time to the first token
    speed: float  # tokens/s after the first, wall clock
    first_cpu_s: float  # process CPU time to the first token
    cpu_speed: float  # tokens per CPU-second after the first
    tokens: int
    text: str


def timed(chunks: Iterator[str]) -> Run:
    """Time a stream of text deltas (each non-empty delta is one token)."""
    wall, cpu = time.perf_counter, time.process_time
    started, started_cpu = wall(), cpu()
    first = first_cpu = last = last_cpu = 0.0
    parts: list[str] = []
    for text in chunks:
        if not text:
            continue  # role-only or empty deltas are not tokens
        last, last_cpu = wall(), cpu()
        if not parts:
            first, first_cpu = last, last_cpu
        parts.append(text)
    steps = len(parts) - 1
    return Run(first - started, steps / max(last - first, 1e-9), first_cpu - started_cpu,
               steps / max(last_cpu - first_cpu, 1e-9), len(parts), "".join(parts))


def direct_stream(llm, tokens: int) -> Iterator[str]:
    for chunk in llm.create_chat_completion(MESSAGES, stream=True, temperature=0, seed=SEED,
                                            max_tokens=tokens):
        yield chunk["choices"][0]["delta"].get("content") or ""


def engine_stream(client, model: str, tokens: int) -> Iterator[str]:
    options = {"temperature": 0, "seed": SEED, "num_predict": tokens, "num_ctx": NUM_CTX}
    for chunk in client.chat(model, MESSAGES, stream=True, options=options):
        yield chunk.message.content or ""


def run(args: argparse.Namespace) -> None:
    from workspace.engine import STARTER_MODEL, EngineServer
    from workspace.engine.common import prefer_passive_openmp

    prefer_passive_openmp()  # what the engine does, before llama.cpp loads: same runtime for both
    sections = set(args.sections.split(","))
    if "speed" in sections:
        run_speed(args)
    if "concurrency" in sections:
        from bench.engine_concurrency import run_section
        run_section(EngineServer, args.models_dir, args.threads, STARTER_MODEL, args.stream_tokens, args.parallel)


def run_speed(args: argparse.Namespace) -> None:
    import llama_cpp
    import ollama

    from workspace.engine import STARTER_MODEL, EngineServer

    engine = EngineServer(args.models_dir, threads=args.threads, parallel=args.parallel)
    path = engine.prepare_model(STARTER_MODEL)
    llm = llama_cpp.Llama(str(path), n_ctx=NUM_CTX, n_batch=512, n_threads=args.threads,
                          n_threads_batch=args.threads, verbose=False)
    client = ollama.Client(host=engine.start())
    paths: dict[str, Callable[[], Iterator[str]]] = {
        "llama-cpp-python": lambda: direct_stream(llm, args.tokens),
        "engine (ollama client)": lambda: engine_stream(client, STARTER_MODEL, args.tokens),
    }
    results: dict[str, list[Run]] = {name: [] for name in paths}
    try:
        for stream in paths.values():
            timed(stream())  # warm-up: load, prompt cache
        for _ in range(args.reps):  # interleaved, so machine noise hits both alike
            for name, stream in paths.items():
                results[name].append(timed(stream()))
    finally:
        engine.stop()
    report(results, args)


def _verdicts(direct: tuple[float, float], engine: tuple[float, float]) -> str:
    """(first-token seconds, speed) of each path → the two figures beside their targets."""
    ratio, overhead_ms = engine[1] / direct[1], (engine[0] - direct[0]) * 1000
    return (f"speed ratio {ratio:.3f} (target >= {TARGET_RATIO:.2f}: "
            f"{'met' if ratio >= TARGET_RATIO else 'MISSED'}), first-token overhead "
            f"{overhead_ms:+.1f} ms (target <= {TARGET_OVERHEAD_MS:.0f} ms: "
            f"{'met' if overhead_ms <= TARGET_OVERHEAD_MS else 'MISSED'})")


def report(results: dict[str, list[Run]], args: argparse.Namespace) -> None:
    print(f"{args.reps} runs each after a warm-up, {args.tokens} tokens max, temperature 0, "
          f"seed {SEED}, num_ctx {NUM_CTX}, {args.threads} threads")
    medians = {}
    for name, runs in results.items():
        med = {key: statistics.median(getattr(r, key) for r in runs)
               for key in ("first_s", "speed", "first_cpu_s", "cpu_speed")}
        medians[name] = med
        print(f"  {name:24} wall: {med['speed']:5.1f} tok/s, first token {med['first_s'] * 1000:6.1f} ms"
              f" | cpu: {med['cpu_speed']:5.1f} tok/cpu-s, first token {med['first_cpu_s'] * 1000:6.1f} "
              f"cpu-ms | {runs[-1].tokens} tokens | runs (tok/s): "
              + ", ".join(f"{r.speed:.1f}" for r in runs))
    direct, served = medians.values()
    print("  medians, wall clock: " + _verdicts((direct["first_s"], direct["speed"]),
                                                 (served["first_s"], served["speed"])))
    print("  medians, CPU time:   " + _verdicts((direct["first_cpu_s"], direct["cpu_speed"]),
                                                 (served["first_cpu_s"], served["cpu_speed"])))
    texts = [runs[-1].text for runs in results.values()]
    print(f"  same text from both paths: {'yes' if texts[0] == texts[1] else 'no'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=ROOT / "data" / "models")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--sections", default="speed,concurrency")
    parser.add_argument("--stream-tokens", type=int, default=48, help="tokens per concurrent stream")
    parser.add_argument("--parallel", type=int, default=4, help="the batched engine's slots")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
