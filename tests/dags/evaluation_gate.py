"""trackflow.evaluate inside pipeline tasks: a gate that passes and one that fails (its task
fails, so what is downstream of it does not run). The model is a deterministic stand-in."""
from datetime import datetime

import trackflow
from trackflow import dag, task
from trackflow.evaluation import scorers

ROWS = [{"inputs": {"question": "2+2"}, "expectations": "4"},
        {"inputs": {"question": "capital of France"}, "expectations": "Paris"}]


def answer(question: str) -> str:
    return {"2+2": "4", "capital of France": "Paris"}.get(question, "?")


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def evaluation_gate():
    @task
    def good_enough() -> float:
        result = trackflow.evaluate(answer, ROWS, [scorers.exact_match()], thresholds={"exact_match/mean": 1.0})
        return result.metrics["exact_match/mean"]

    @task
    def too_strict() -> None:
        trackflow.evaluate(lambda question: "no idea", ROWS, [scorers.exact_match()],
                           thresholds={"exact_match/mean": 0.5})

    @task
    def deploy() -> str:
        return "deployed"

    good_enough()
    too_strict() >> deploy()


evaluation_gate()
