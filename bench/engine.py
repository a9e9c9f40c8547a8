"""Benchmark: the embedded engine (HTTP + NDJSON through the `ollama` client) against llama-cpp-python
called directly, in one process, on the same GGUF with the same context size and threads.

    python bench/engine.py [--models-dir data/models] [--threads 2] [--tokens 128] [--reps 5]

Prints decode speed (streamed tokens/s, from the first token to the last) and time to first token for
each path, their ratio and the first-token overhead, each beside its target. Both paths keep their
prompt cache warm after the warm-up run, so time to first token is mostly the overhead plus one step.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MESSAGES = [{"role": "user", "content": "Write a Python function that checks whether a string is a "
                                        "palindrome, with a docstring and two examples."}]
NUM_CTX, SEED = 4096, 42
TARGET_RATIO, TARGET_OVERHEAD_MS = 0.90, 50.0


def timed(chunks: Iterator[str]) -> tuple[float, float, int, str]:
    """(time to first token, tokens/s after it, token chunks, text) for a stream of text deltas."""
    started = time.perf_counter()
    first = last = None
    count, parts = 0, []
    for text in chunks:
        if not text:
            continue  # role-only or empty deltas are not tokens
        last = time.perf_counter()
        first = first or last
        count += 1
        parts.append(text)
    speed = (count - 1) / (last - first) if count > 1 and last > first else float("nan")
    return first - started, speed, count, "".join(parts)


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
    import llama_cpp
    import ollama

    engine = EngineServer(args.models_dir, threads=args.threads)
    path = engine.prepare_model(STARTER_MODEL)
    llm = llama_cpp.Llama(str(path), n_ctx=NUM_CTX, n_batch=512, n_threads=args.threads,
                          n_threads_batch=args.threads, verbose=False)
    client = ollama.Client(host=engine.start())
    paths = {
        "llama-cpp-python": lambda: direct_stream(llm, args.tokens),
        "engine (ollama client)": lambda: engine_stream(client, STARTER_MODEL, args.tokens),
    }
    results: dict[str, list[tuple[float, float, int, str]]] = {name: [] for name in paths}
    try:
        for name, stream in paths.items():
            timed(stream())  # warm-up: load, prompt cache
        for _ in range(args.reps):  # interleaved, so machine noise hits both alike
            for name, stream in paths.items():
                results[name].append(timed(stream()))
    finally:
        engine.stop()
    report(results, args)


def _summary(runs: list[tuple[float, float, int, str]], pick) -> tuple[float, float]:
    return pick(r[0] for r in runs), (max if pick is min else pick)(r[1] for r in runs)


def report(results: dict, args: argparse.Namespace) -> None:
    direct, served = results.values()
    print(f"{args.reps} runs each after a warm-up, {args.tokens} tokens max, temperature 0, "
          f"seed {SEED}, num_ctx {NUM_CTX}, {args.threads} threads")
    for name, runs in results.items():
        print(f"  {name:24} runs: " + ", ".join(f"{r[1]:.1f} tok/s, first token {r[0] * 1000:.0f} ms"
                                              for r in runs) + f"  ({runs[-1][2]} tokens)")
    # Median is the typical figure; best-of is the one machine noise (which only slows) spoils least.
    for label, pick in (("median", statistics.median), ("best", min)):
        (d_ttft, d_speed), (e_ttft, e_speed) = _summary(direct, pick), _summary(served, pick)
        ratio, overhead_ms = e_speed / d_speed, (e_ttft - d_ttft) * 1000
        print(f"  {label:6}: direct {d_speed:.1f} tok/s, {d_ttft * 1000:.0f} ms | engine {e_speed:.1f} tok/s, "
              f"{e_ttft * 1000:.0f} ms | speed ratio {ratio:.3f} (target >= {TARGET_RATIO:.2f}: "
              f"{'met' if ratio >= TARGET_RATIO else 'MISSED'}) | first-token overhead "
              f"{overhead_ms:+.1f} ms (target <= {TARGET_OVERHEAD_MS:.0f} ms: "
              f"{'met' if overhead_ms <= TARGET_OVERHEAD_MS else 'MISSED'})")
    same = direct[-1][3] == served[-1][3]
    print(f"  same text from both paths: {'yes' if same else 'no (prompt-cache batch splits differ)'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models-dir", type=Path, default=ROOT / "data" / "models")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--reps", type=int, default=5)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
