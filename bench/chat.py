"""Chat-turn overhead: time to first token and tokens/s through the whole chat path (store the user's
message durably, fit history, background turn, follower) vs. the LLM gateway alone, same engine,
same model, same prompt, in one process. Prints each figure and the ratio.

    python bench/chat.py [--runs 5] [--tokens 64]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workspace.engine import STARTER_MODEL, EngineServer  # noqa: E402
from workspace.llm import Delta, LLMGateway  # noqa: E402
from workspace.services import build_services  # noqa: E402
from workspace.settings import load_settings  # noqa: E402

PROMPT = "Write a Python function that checks whether a number is prime."


def gateway_run(gateway: LLMGateway, tokens: int) -> tuple[float, float]:
    start = time.perf_counter()
    first = None
    final = None
    for item in gateway.chat_stream(STARTER_MODEL, [{"role": "user", "content": PROMPT}],
                                    options={"num_predict": tokens, "temperature": 0, "seed": 1, "num_ctx": 4096}):
        if isinstance(item, Delta):
            first = first or time.perf_counter() - start
        else:
            final = item
    return first, final.tokens_per_second


def chat_run(services, profile_id: str, tokens: int) -> tuple[float, float]:
    chat_id = services.store.create_chat(profile_id).id
    start = time.perf_counter()
    services.chat.send(chat_id, PROMPT)
    first = None
    for snapshot in services.chat.follow(chat_id):
        if snapshot.text and first is None:
            first = time.perf_counter() - start
    answer = services.store.list_messages(chat_id)[-1]
    stats = answer.stats
    return first, stats["eval_count"] / stats["eval_duration"] * 1e9


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--models-dir", default=str(Path(__file__).resolve().parent.parent / "data" / "models"))
    args = parser.parse_args()

    engine = EngineServer(Path(args.models_dir), threads=2)
    url = engine.start()
    with tempfile.TemporaryDirectory() as data_dir:
        settings = load_settings(data_dir=data_dir, ollama={"host": url}, engine={"mode": "never"},
                                 models={"chat": STARTER_MODEL},
                                 chat={"num_predict": args.tokens, "num_ctx": 4096})
        services = build_services(settings)
        profile_id = services.store.list_profiles()[0].id
        gateway_run(services.gateway, 8)  # warm-up: load the model
        direct, through_chat = [], []
        for _ in range(args.runs):  # interleaved, so machine noise hits both alike
            direct.append(gateway_run(services.gateway, args.tokens))
            through_chat.append(chat_run(services, profile_id, args.tokens))
        services.close()
    engine.stop()

    def med(rows, i):
        return statistics.median(row[i] for row in rows)

    print(f"runs={args.runs} tokens={args.tokens} model={STARTER_MODEL}")
    ttft_direct, ttft_chat = med(direct, 0) * 1000, med(through_chat, 0) * 1000
    print(f"first token   gateway alone {ttft_direct:7.1f} ms   whole chat path {ttft_chat:7.1f} ms"
          f"   overhead {ttft_chat - ttft_direct:+.1f} ms")
    print(f"tokens/s      gateway alone {med(direct, 1):7.1f}      whole chat path {med(through_chat, 1):7.1f}"
          f"      ratio {med(through_chat, 1) / med(direct, 1):.3f}")


if __name__ == "__main__":
    main()
