"""Concurrent requests on one model, and a chat's next turn reusing what the model already evaluated.

Order, not time, proves what runs together: a stream is known to be under way when its first chunk has
arrived, and another is known to be unfinished while its final chunk has not. Model words are never
asserted; batched arithmetic may change a greedy token now and then, so differences are reported.
"""

from __future__ import annotations

import ollama

GREEDY = {"temperature": 0, "seed": 7}


def _prompt_tokens(engine_server, model: str, messages: list[dict]) -> list[int]:
    loaded = engine_server.runner.loaded_model(model)
    return loaded.prompter.chat_tokens(messages, loaded.num_ctx)


def test_the_second_turn_of_a_chat_evaluates_only_the_new_tokens(engine_server, engine_url, starter_model):
    client = ollama.Client(host=engine_url, timeout=300)
    first_turn = [{"role": "user", "content": "Name one colour of the rainbow in one word."}]
    first = client.chat(starter_model, first_turn, options={**GREEDY, "num_predict": 6})
    first_tokens = _prompt_tokens(engine_server, starter_model, first_turn)
    second_turn = [*first_turn, {"role": "assistant", "content": first.message.content},
                   {"role": "user", "content": "And another one?"}]
    second = client.chat(starter_model, second_turn, options={**GREEDY, "num_predict": 6})
    second_tokens = _prompt_tokens(engine_server, starter_model, second_turn)
    assert second_tokens[:len(first_tokens)] == first_tokens  # the first prompt is a prefix of the second
    new_tokens = len(second_tokens) - len(first_tokens)
    # Only the tail after the cached prompt (and the cached answer) was evaluated, never the whole prompt.
    assert 0 < second.prompt_eval_count <= new_tokens < len(second_tokens)
    # The same turn again: all of it is cached, one token is replayed for fresh logits at most.
    again = client.chat(starter_model, second_turn, options={**GREEDY, "num_predict": 6})
    assert again.prompt_eval_count <= 1
