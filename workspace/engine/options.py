"""Validation of Ollama request fields into engine values: options, keep_alive, format, images.

Owns the rules Ollama applies to what clients send (types, defaults, the 400s for bad values), so the
HTTP layer stays about HTTP and the runner only ever sees checked values.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from workspace.engine.common import BadRequest, prefer_passive_openmp

DEFAULT_NUM_CTX = 4096
MIN_NUM_CTX = 32
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass
class Sampling:
    """Per-request sampling options, with Ollama's defaults."""

    temperature: float = 0.8
    top_k: int = 40
    top_p: float = 0.9
    min_p: float = 0.0
    typical_p: float = 1.0
    repeat_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    seed: int = -1
    num_predict: int = -1
    stop: list[str] = field(default_factory=list)
    num_ctx: int | None = None  # load-time: a different value reloads the model


_FLOAT_OPTIONS = ("temperature", "top_p", "min_p", "typical_p", "repeat_penalty",
                  "presence_penalty", "frequency_penalty")
_INT_OPTIONS = ("top_k", "seed", "num_predict", "num_ctx")
_INT64_LIMIT = 2 ** 63


def _number(key: str, value: Any, integer: bool) -> float | int:
    kind = "int" if integer else "float32"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(f"option {key!r} must be of type {kind}, got {json.dumps(value)}")
    if not math.isfinite(value) or abs(value) >= _INT64_LIMIT:  # 1e999 parses as infinity
        raise BadRequest(f"option {key!r} must be of type {kind}, got {value!r}")
    if integer:
        if value != int(value):
            raise BadRequest(f"option {key!r} must be of type int, got {value}")
        return int(value)
    return float(value)


def parse_options(raw: Any) -> Sampling:
    """Ollama `options` → Sampling. Unknown keys are ignored, like Ollama; wrong types are a 400."""
    sampling = Sampling()
    if raw is None:
        return sampling
    if not isinstance(raw, dict):
        raise BadRequest("options must be a JSON object")
    for key in _FLOAT_OPTIONS + _INT_OPTIONS:
        if raw.get(key) is not None:
            setattr(sampling, key, _number(key, raw[key], key in _INT_OPTIONS))
    stop = raw.get("stop")
    if stop is not None:
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise BadRequest("option 'stop' must be a list of strings")
        sampling.stop = [s for s in stop if s]
    return sampling


def effective_num_ctx(requested: int | None, training_context: int | None) -> int:
    """Ollama's rule: 4096 unless asked, never more than the model was trained for."""
    num_ctx = requested if requested and requested > 0 else DEFAULT_NUM_CTX
    if training_context:
        num_ctx = min(num_ctx, training_context)
    return max(num_ctx, MIN_NUM_CTX)


def parse_duration(text: str) -> float:
    """A Go duration string ("5m", "1h30m", "-1s", "0") in seconds."""
    body = text.strip()
    sign = -1.0 if body.startswith("-") else 1.0
    body = body.lstrip("+-")
    if body == "0":
        return 0.0
    if not body:
        raise BadRequest(f'time: invalid duration "{text}"')
    position, total = 0, 0.0
    for match in _DURATION_PART.finditer(body):
        if match.start() != position:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    if position != len(body):
        reason = "missing unit in duration" if body.replace(".", "").isdigit() else "invalid duration"
        raise BadRequest(f'time: {reason} "{text}"')
    return sign * total


def parse_keep_alive(raw: Any, default: float) -> float:
    """keep_alive in seconds: a number is seconds, a string is a Go duration; negative = forever."""
    if raw is None:
        return default
    if isinstance(raw, bool):
        raise BadRequest("keep_alive must be a number or a duration string")
    if isinstance(raw, (int, float)):
        return float(raw)
    if isinstance(raw, str):
        return parse_duration(raw)
    raise BadRequest("keep_alive must be a number or a duration string")


def parse_format(raw: Any) -> Any:
    """`format`: "json" or a JSON schema object → a LlamaGrammar that constrains sampling."""
    if raw is None or raw == "":
        return None
    prefer_passive_openmp()
    from llama_cpp.llama_grammar import (  # the native library loads lazily
        JSON_GBNF,
        LlamaGrammar,
    )
    try:
        if raw == "json":
            return LlamaGrammar.from_string(JSON_GBNF, verbose=False)
        if isinstance(raw, dict):
            return LlamaGrammar.from_json_schema(json.dumps(raw), verbose=False)
    except Exception as error:  # the schema converter raises assorted types on bad schemas
        raise BadRequest(f"invalid JSON schema in format: {error}") from error
    raise BadRequest(
        f'invalid format: {json.dumps(raw)}; expected "json" or a valid JSON Schema object')


def check_images(images: Any) -> None:
    """Images must be standard base64 (a `data:` URI is a 400, as in Ollama); they are then ignored,
    as Ollama ignores images sent to a model without vision."""
    if images is None:
        return
    if not isinstance(images, list):
        raise BadRequest("images must be a list of base64 strings")
    for image in images:
        if not isinstance(image, str):
            raise BadRequest("images must be a list of base64 strings")
        try:
            base64.b64decode(image.replace("\n", "").replace("\r", ""), validate=True)
        except (binascii.Error, ValueError):
            position = next((i for i, c in enumerate(image) if not _is_base64_char(c)), 0)
            raise BadRequest(f"illegal base64 data at input byte {position}") from None


def _is_base64_char(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char in "+/=\r\n")


def check_unsupported(body: dict, model: str) -> None:
    """What the served models cannot do (no thinking, tools, insert or logprob ranges) gives a 400."""
    think = body.get("think")
    if think not in (None, False):
        if isinstance(think, str) and think not in ("low", "medium", "high", "max"):
            raise BadRequest(f"invalid think value: {json.dumps(think)}")
        raise BadRequest(f'"{model}" does not support thinking')
    if body.get("tools"):
        raise BadRequest(f"{model} does not support tools")
    if body.get("suffix"):
        raise BadRequest(f"{model} does not support insert")
    top_logprobs = body.get("top_logprobs")
    if top_logprobs is not None and not (isinstance(top_logprobs, int) and 0 <= top_logprobs <= 20):
        raise BadRequest("top_logprobs must be between 0 and 20")
