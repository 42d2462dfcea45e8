"""The GenAI example `make demo` loads: build a prompt, answer an evaluation set with it (a
deterministic local stand-in for a model: no network), evaluate the answers, and register the
prompt as the new `@champion` only if it scores better than the current one. Trigger it with
conf {"variant": "concise"} or {"variant": "vague"} to compare. Tasks pass the variant's name,
never the template: a task's arguments are Jinja-rendered (as in Airflow), and a prompt's own
{{ variables }} would be rendered away."""

from __future__ import annotations

from datetime import datetime

import trackflow
from trackflow import Param, dag, task
from trackflow.errors import NotFound
from trackflow.evaluation import scorers

PROMPT = "support-answer"
TEMPLATES = {
    "vague": "Please respond to the customer: {{ question }}",
    "concise": "Answer in one word, naming the product feature. Question: {{ question }}",
}
QUESTIONS = [
    {"inputs": {"question": "How do I get my money back?"}, "expectations": "refund"},
    {"inputs": {"question": "Where is my parcel?"}, "expectations": "tracking"},
    {"inputs": {"question": "Can I pay later?"}, "expectations": "instalments"},
]
ANSWERS = {"money": "refund", "parcel": "tracking", "pay later": "instalments"}


@trackflow.trace(span_type="LLM")
def stand_in_model(prompt: str) -> str:
    """What a chat model might answer: one word when told to, else a polite non-answer."""
    if "one word" in prompt:
        return next((word for key, word in ANSWERS.items() if key in prompt), "sorry")
    return "Thank you for reaching out, we will get back to you soon."


def score(template: str) -> float:
    """The share of questions whose answer names the expected feature (a tracked evaluation)."""
    prompt = trackflow.PromptVersion(PROMPT, 0, template)

    def answer(question: str) -> str:
        return stand_in_model(str(prompt.format(question=question)))

    result = trackflow.evaluate(answer, QUESTIONS, [scorers.contains(case_sensitive=False), scorers.token_count()])
    return result.metrics["contains/mean"]


@dag(schedule="@daily", start_date=datetime(2025, 1, 1), catchup=False, tags=["example", "genai"],
     params={"variant": Param("concise", enum=sorted(TEMPLATES))})
def genai_prompt_pipeline():
    @task
    def choose_variant(params: dict | None = None) -> str:
        return str(params["variant"])  # type: ignore[index]

    @task(trace=True)  # each try is a trace: the model calls nest in it, linked to the task's run
    def score_candidate(variant: str) -> float:
        return score(TEMPLATES[variant])

    @task
    def score_champion() -> float | None:
        try:
            champion = trackflow.load_prompt(f"prompts:/{PROMPT}@champion")
        except NotFound:
            return None  # no champion yet: any candidate wins
        return score(str(champion.template))

    @task
    def promote(variant: str, candidate: float, champion: float | None) -> str:
        if champion is not None and candidate <= champion:
            return f"kept the champion ({champion:.2f} >= {candidate:.2f})"
        version = trackflow.register_prompt(PROMPT, TEMPLATES[variant], commit_message=f"{variant}: {candidate:.2f}")
        trackflow.set_prompt_alias(PROMPT, "champion", version.version)
        return f"{PROMPT} v{version.version} is the champion ({candidate:.2f})"

    variant = choose_variant()
    promote(variant, score_candidate(variant), score_champion())


genai_prompt_pipeline()
