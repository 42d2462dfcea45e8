"""Scorers of ``trackflow.evaluate``: a scorer looks at one row — its ``inputs``, the
``outputs`` the model gave, the ``expectations`` and the call's ``latency`` in seconds, any of
them by parameter name — and returns a number, a bool (pass/fail) or a dict of named numbers.

Built-ins are deterministic: exact match, contains, regex, latency, token count, and ROUGE
(Google's ``rouge-score``) and BLEU (``sacrebleu``) against the expected text. Any function
with those parameter names is a scorer too; ``@scorer(name=...)`` names it.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

from trackflow.errors import InvalidInput

ARGUMENTS = ("inputs", "outputs", "expectations", "latency")
# What token_count counts: words and single punctuation marks (no model's tokenizer, so the
# count is the same everywhere and needs no download).
TOKEN = re.compile(r"\w+|[^\w\s]")


class Scorer:
    """A named function of (some of) inputs, outputs, expectations, latency."""

    def __init__(self, function: Callable[..., Any], name: str | None = None) -> None:
        if not callable(function):
            raise InvalidInput(f"a scorer must be callable, got {function!r}")
        self.function = function
        self.name: str = str(name or getattr(function, "__name__", type(function).__name__))
        parameters = inspect.signature(function).parameters
        unknown = [p for p in parameters if p not in ARGUMENTS and parameters[p].default is inspect.Parameter.empty
                   and parameters[p].kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)]
        if unknown:
            raise InvalidInput(f"scorer {self.name!r} takes {unknown}; a scorer's parameters are among "
                               f"{', '.join(ARGUMENTS)}")
        takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        self.wanted = ARGUMENTS if takes_all else tuple(p for p in parameters if p in ARGUMENTS)

    def __call__(self, **row: Any) -> Any:
        return self.function(**{k: row.get(k) for k in self.wanted})

    def __repr__(self) -> str:
        return f"Scorer({self.name!r})"


def scorer(function: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
    """``@scorer`` or ``@scorer(name="polite")`` over a function: a custom scorer."""
    if function is None:
        return lambda f: Scorer(f, name)
    return Scorer(function, name)


def as_scorer(value: Any) -> Scorer:
    return value if isinstance(value, Scorer) else Scorer(value)


def expected_text(expectations: Any) -> str | None:
    """The expected answer: the expectations themselves, or their ``expected_response`` /
    ``expected`` entry (MLflow's names)."""
    if isinstance(expectations, dict):
        for key in ("expected_response", "expected", "answer"):
            if key in expectations:
                return None if expectations[key] is None else str(expectations[key])
        return None
    return None if expectations is None else str(expectations)


def _require_expected(expectations: Any, what: str) -> str:
    text = expected_text(expectations)
    if text is None:
        raise InvalidInput(f"{what} needs the expected answer: give each row expectations "
                           "(a value, or a dict with expected_response)")
    return text


def exact_match() -> Scorer:
    """1 when the output, stripped, equals the expected answer."""
    def exact_match(outputs: Any, expectations: Any) -> bool:
        return str(outputs).strip() == _require_expected(expectations, "exact_match").strip()
    return Scorer(exact_match)


def contains(substring: str | None = None, *, case_sensitive: bool = True) -> Scorer:
    """1 when the output contains ``substring`` (default: the expected answer)."""
    def contains(outputs: Any, expectations: Any) -> bool:
        needle = substring if substring is not None else _require_expected(expectations, "contains")
        text = str(outputs)
        return needle in text if case_sensitive else needle.lower() in text.lower()
    return Scorer(contains)


def regex(pattern: str, *, name: str = "regex") -> Scorer:
    """1 when ``pattern`` matches somewhere in the output."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise InvalidInput(f"invalid regex {pattern!r}: {exc}") from None

    def matches(outputs: Any) -> bool:
        return compiled.search(str(outputs)) is not None
    return Scorer(matches, name)


def latency() -> Scorer:
    """Seconds the model took for the row."""
    def latency(latency: float | None) -> float | None:  # noqa: F811 - the scorer's own name
        return latency
    return Scorer(latency)


def token_count() -> Scorer:
    """Words and punctuation marks in the output."""
    def token_count(outputs: Any) -> int:
        return len(TOKEN.findall(str(outputs)))
    return Scorer(token_count)


def rouge(kind: str = "rougeL") -> Scorer:
    """ROUGE F-measure of the output against the expected answer (``rouge1``, ``rouge2``,
    ``rougeL``, ``rougeLsum``)."""
    from rouge_score import rouge_scorer  # optional: the genai extra

    if kind not in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
        raise InvalidInput(f"unknown ROUGE kind {kind!r}: use rouge1, rouge2, rougeL or rougeLsum")
    measure = rouge_scorer.RougeScorer([kind])

    def score(outputs: Any, expectations: Any) -> float:
        return float(measure.score(_require_expected(expectations, kind), str(outputs))[kind].fmeasure)
    return Scorer(score, kind)


def bleu() -> Scorer:
    """Sentence BLEU (sacrebleu) of the output against the expected answer, from 0 to 1."""
    import sacrebleu  # optional: the genai extra

    def bleu(outputs: Any, expectations: Any) -> float:
        return float(sacrebleu.sentence_bleu(str(outputs), [_require_expected(expectations, "bleu")]).score) / 100
    return Scorer(bleu)
