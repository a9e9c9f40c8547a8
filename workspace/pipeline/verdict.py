"""The verdict: one confidence number from the checks that ran, with the judge model's score beside it.

The formula lives here and only here (`confidence`), and `FORMULA` says it in words for the UI.
Executed checks predict correctness far better than a model's own statement of confidence, so they
carry most of the weight; the judge model's score counts for a little and is always shown on its own.
The judge answers JSON through Ollama's `format` schema; `read_judge` parses it with pydantic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

WEIGHTS = {"examples": 0.45, "agreement": 0.25, "tests": 0.15, "judge": 0.15}
# The prior pulls a verdict resting on few signals towards "unsure". Its weight is set from the bench
# (bench/NOTES.md): of the 78 drafts that passed every example of their task, 61 were right (78 %); resting on the
# examples alone, the verdict reads 79 (at the earlier weight 0.15 it read 88).
PRIOR, PRIOR_WEIGHT = 0.5, 0.33
FAILED_EXAMPLE_CAP = 0.4  # code that fails an example the task itself gives is never trusted
FORMULA = (
    "confidence = 100 × (0.45·examples + 0.25·agreement + 0.15·own tests + 0.15·judge + 0.33·0.5) / "
    "(sum of the weights of the signals present + 0.33), where examples and own tests are pass rates, "
    "agreement is the share of candidates giving the same outputs on the same inputs, and judge is the judge "
    "model's score / 100. Signals that did not run are left out. Code that does not parse scores 0; code that "
    "fails an example from the task is capped at 40."
)

Leaning = Literal["coder", "reviewer", "unsure"]


class JudgeAnswer(BaseModel):
    """What the judge model must answer (its JSON schema is sent as Ollama's `format`)."""

    score: int = Field(ge=0, le=100)
    issues: list[str] = Field(default_factory=list, max_length=10)
    leans: Leaning = "unsure"


JUDGE_SCHEMA = {
    "type": "object",
    "properties": {
        "score": {"type": "integer", "minimum": 0, "maximum": 100},
        "issues": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
        "leans": {"type": "string", "enum": ["coder", "reviewer", "unsure"]},
    },
    "required": ["score", "issues", "leans"],
}


def read_judge(text: str) -> JudgeAnswer:
    """The judge's answer, or ValueError saying what was wrong with it (fed back to the model)."""
    try:
        answer = JudgeAnswer.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at character {exc.pos}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValueError(f"{'.'.join(map(str, first['loc'])) or 'answer'}: {first['msg']}") from None
    return answer.model_copy(update={"issues": [i.strip()[:300] for i in answer.issues if i.strip()]})


@dataclass(frozen=True)
class Signals:
    """What is known about one candidate; None = that signal did not run."""

    parses: bool
    examples: tuple[int, int] | None = None  # passed, total
    agreement: tuple[int, int] | None = None  # size of its group, candidates compared
    tests: tuple[int, int] | None = None  # passed, total
    judge: int | None = None  # 0-100


def confidence(signals: Signals) -> int:
    """The one formula (see FORMULA): a weighted mean of the signals present, with a prior and two hard rules."""
    if not signals.parses:
        return 0
    present = {
        "examples": _rate(signals.examples),
        "agreement": _rate(signals.agreement),
        "tests": _rate(signals.tests),
        "judge": None if signals.judge is None else signals.judge / 100,
    }
    total = sum(WEIGHTS[k] * v for k, v in present.items() if v is not None) + PRIOR_WEIGHT * PRIOR
    weight = sum(WEIGHTS[k] for k, v in present.items() if v is not None) + PRIOR_WEIGHT
    score = total / weight
    if signals.examples and signals.examples[0] < signals.examples[1]:
        score = min(score, FAILED_EXAMPLE_CAP)
    return round(100 * score)


def judge_range(signals: Signals) -> tuple[int, int]:
    """The confidence with the worst and the best score the judge could give: when both fall on the same side
    of the threshold, asking the judge cannot change what happens next."""
    return confidence(replace(signals, judge=0)), confidence(replace(signals, judge=100))


def _rate(pair: tuple[int, int] | None) -> float | None:
    return None if not pair or pair[1] <= 0 else pair[0] / pair[1]


@dataclass
class Verdict:
    confidence: int
    checks: list[dict] = field(default_factory=list)  # {"name", "passed", "total", "detail"}
    conflicts: list[dict] = field(default_factory=list)  # {"input", "coder", "reviewer", "leans"}
    issues: list[str] = field(default_factory=list)
    judge_score: int | None = None
    basis: str = ""  # what the number rests on, in words
    formula: str = FORMULA

    def as_dict(self) -> dict:
        return {"confidence": self.confidence, "checks": self.checks, "conflicts": self.conflicts,
                "issues": self.issues, "judge_score": self.judge_score, "basis": self.basis,
                "formula": self.formula}
