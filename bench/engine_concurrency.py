"""Benchmark section of bench/engine.py: concurrent streams through the `ollama` client on the batched
engine (`engine.parallel` slots) beside the one-at-a-time engine (`parallel=1`) in the same run, and
the prompt evaluation of a chat's tenth turn with its prefix cached and cold.

For 1, 2, 4 and 8 concurrent streams (different prompts, greedy, the same token budget): aggregate
tokens/s (all streamed tokens over the wall time from the first request to the last final chunk), the
median per-stream tokens/s (after its first token) and the median time to first token.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass

PROMPTS = [
    "Count from 1 to 200, one number per line.", "List the months of the year, one per line, twice.",
    "Write a Python function that reverses a list, with a docstring.", "Explain what a hash map is.",
    "Write a short poem about the sea.", "Name ten programming languages and one feature of each.",
    "Describe how a bicycle works.", "Write a SQL query that counts rows per day in a table of events.",
]
STREAMS = (1, 2, 4, 8)
TARGET_SCALING, TARGET_SINGLE, TARGET_TURN = 1.4, 0.95, 0.20


@dataclass
class StreamRun:
    first_s: float
    speed: float
    tokens: int


def _stream(client, model: str, prompt: str, tokens: int, started: float, out: list) -> None:
    first = last = 0.0
    count = 0
    for chunk in client.chat(model, [{"role": "user", "content": prompt}], stream=True,
                             options={"temperature": 0, "seed": 42, "num_predict": tokens}):
        if chunk.message.content:
            last = time.perf_counter()
            count += 1
            if count == 1:
                first = last
    out.append(StreamRun(first - started, (count - 1) / max(last - first, 1e-9), count))


def concurrent(client, model: str, streams: int, tokens: int) -> tuple[float, float, float]:
    """(aggregate tok/s, median per-stream tok/s, median seconds to first token) for `streams` at once."""
    runs: list[StreamRun] = []
    started = time.perf_counter()
    threads = [threading.Thread(target=_stream, args=(client, model, PROMPTS[i % len(PROMPTS)], tokens,
                                                      started, runs)) for i in range(streams)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return (sum(r.tokens for r in runs) / wall, statistics.median(r.speed for r in runs),
            statistics.median(r.first_s for r in runs))


def tenth_turn(client, model: str, reply_tokens: int) -> tuple[float, float, int, int]:
    """A ten-turn chat: (prompt-eval ms of turn 10 with the prefix cached, ms cold, tokens each)."""
    messages: list[dict] = []
    options = {"temperature": 0, "seed": 42, "num_predict": reply_tokens}
    for turn in range(1, 11):
        messages.append({"role": "user", "content": f"Turn {turn}: give me one fact about the number {turn}."})
        answer = client.chat(model, messages, options=options)
        if turn < 10:
            messages.append({"role": "assistant", "content": answer.message.content})
    client.generate(model, keep_alive=0)  # unloaded: the same tenth turn again is evaluated cold
    cold = client.chat(model, messages, options=options)
    return (answer.prompt_eval_duration / 1e6, cold.prompt_eval_duration / 1e6,
            answer.prompt_eval_count, cold.prompt_eval_count)


def run_section(engine_cls, models_dir, threads: int, model: str, tokens: int, parallel: int) -> None:
    import ollama

    engines = {"one at a time (parallel=1)": engine_cls(models_dir, threads=threads, parallel=1),
               f"batched (parallel={parallel})": engine_cls(models_dir, threads=threads, parallel=parallel)}
    clients = {name: ollama.Client(host=engine.start(), timeout=600) for name, engine in engines.items()}
    figures: dict[str, dict[int, tuple]] = {name: {} for name in engines}
    try:
        for client in clients.values():
            client.chat(model, [{"role": "user", "content": "hi"}], options={"num_predict": 2})  # load
        for streams in STREAMS:  # interleaved, so machine noise hits both alike
            for name, client in clients.items():
                figures[name][streams] = concurrent(client, model, streams, tokens)
        turns = {name: tenth_turn(client, model, 24) for name, client in clients.items()}
    finally:
        for engine in engines.values():
            engine.stop()
    _report(figures, turns, tokens)


def _report(figures: dict, turns: dict, tokens: int) -> None:
    print(f"\nconcurrent streams, {tokens} tokens each, temperature 0 (aggregate tok/s | per-stream tok/s | "
          "first token ms, medians)")
    for name, by_streams in figures.items():
        print(f"  {name}")
        for streams, (aggregate, per_stream, first) in by_streams.items():
            print(f"    {streams} stream{'s' if streams > 1 else ' '}: {aggregate:6.1f} | {per_stream:6.1f} | "
                  f"{first * 1000:7.0f}")
    (old_name, old), (new_name, new) = figures.items()
    scaling, single = new[4][0] / new[1][0], new[1][0] / old[1][0]
    print(f"  batched, 4 streams vs 1: {scaling:.2f}x aggregate (target >= {TARGET_SCALING}: "
          f"{'met' if scaling >= TARGET_SCALING else 'MISSED'}); one-at-a-time, 4 vs 1: {old[4][0] / old[1][0]:.2f}x")
    print(f"  batched single stream vs one-at-a-time: {single:.2f}x (target >= {TARGET_SINGLE}: "
          f"{'met' if single >= TARGET_SINGLE else 'MISSED'})")
    print("chat's tenth turn, prompt evaluation with the prefix cached vs cold (after an unload)")
    for name, (warm_ms, cold_ms, warm_count, cold_count) in turns.items():
        share = warm_ms / cold_ms
        print(f"  {name:28} cached {warm_ms:7.1f} ms ({warm_count} tokens) | cold {cold_ms:7.1f} ms "
              f"({cold_count} tokens) | {share:.0%} (target <= {TARGET_TURN:.0%}: "
              f"{'met' if share <= TARGET_TURN else 'MISSED'})")
