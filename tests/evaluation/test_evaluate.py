"""trackflow.evaluate: built-in deterministic scorers (expected values worked out by hand),
custom scorers, per-row errors, the tracked run it records (aggregate metrics and the per-row
table) on every tracking backend, gates, and evaluation as a pipeline task whose failed gate
fails the task."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

import trackflow
from trackflow.errors import InvalidInput
from trackflow.evaluation import EvaluationGateFailed, scorer, scorers

DAGS = Path(__file__).resolve().parents[1] / "dags"
ROWS = [
    {"inputs": {"question": "What is 2+2?"}, "expectations": "4"},
    {"inputs": {"question": "Capital of France?"}, "expectations": {"expected_response": "Paris"}},
    {"inputs": {"question": "Colour of the sky?"}, "expectations": "blue"},
    {"inputs": {"question": "explode"}, "expectations": "-"},
]


def stand_in(question: str) -> str:
    """A deterministic local stand-in for a model."""
    if question == "explode":
        raise RuntimeError("model failed on this row")
    return {"What is 2+2?": "4", "Capital of France?": "The capital is Paris."}.get(question, "grey, mostly")


def test_builtin_scorers() -> None:
    row = {"inputs": {}, "latency": 0.25}
    assert scorers.exact_match()(outputs=" 4 ", expectations="4", **row) is True
    assert scorers.exact_match()(outputs="4", expectations={"expected_response": "5"}, **row) is False
    assert scorers.contains()(outputs="The capital is Paris.", expectations="Paris", **row) is True
    assert scorers.contains("paris", case_sensitive=False)(outputs="PARIS", expectations=None, **row) is True
    assert scorers.regex(r"^\d+$")(outputs="42", expectations=None, **row) is True
    assert scorers.token_count()(outputs="Hello, world!", expectations=None, **row) == 4
    assert scorers.latency()(outputs="", expectations=None, **row) == 0.25
    # LCS 3 of 3 predicted and 6 reference words: P = 1, R = 1/2, F = 2/3
    assert scorers.rouge()(outputs="the cat sat", expectations="the cat sat on the mat", **row) == \
        pytest.approx(2 / 3)
    assert scorers.bleu()(outputs="the cat sat on the mat", expectations="the cat sat on the mat", **row) == \
        pytest.approx(1.0)
    assert scorers.bleu()(outputs="dogs run", expectations="the cat sat on the mat", **row) == pytest.approx(0.0)
    with pytest.raises(InvalidInput, match="expected answer"):
        scorers.exact_match()(outputs="4", expectations=None, **row)
    with pytest.raises(InvalidInput, match="invalid regex"):
        scorers.regex("(")
    with pytest.raises(InvalidInput, match="unknown ROUGE kind"):
        scorers.rouge("rouge9")


def test_evaluate_records_a_run_with_aggregates_and_the_row_table(fluent: Any, client: Any) -> None:
    @scorer(name="polite")
    def polite(outputs: str) -> dict[str, float]:
        return {"has_period": float(outputs.endswith(".")), "length": float(len(outputs))}

    result = trackflow.evaluate(stand_in, ROWS, [scorers.exact_match(), scorers.contains(), scorers.latency(), polite],
                                experiment_name=f"eval-{uuid.uuid4().hex[:8]}")
    metrics = result.metrics
    assert metrics["rows"] == 4 and metrics["error_count"] == 1  # the row the model failed on
    assert metrics["exact_match/mean"] == pytest.approx(1 / 3)  # "4" only; "The capital is Paris." is not exact
    assert metrics["contains/mean"] == pytest.approx(2 / 3)
    assert metrics["polite/has_period/mean"] == pytest.approx(1 / 3)
    assert metrics["polite/length/max"] == len("The capital is Paris.")
    assert 0 <= metrics["latency/min"] <= metrics["latency/max"]
    assert [r["error"] for r in result.rows][3] == "RuntimeError: model failed on this row"
    assert list(result.table["exact_match"][:3]) == [True, False, False]

    stored = client.get_run(result.run_id)
    assert stored.info.status.value == "FINISHED"
    assert stored.data.metrics["exact_match/mean"] == pytest.approx(1 / 3)
    assert stored.data.params["scorers"] == "exact_match,contains,latency,polite"
    assert json.loads(stored.data.tags["mlflow.loggedArtifacts"]) == [{"path": "eval_results_table.json",
                                                                      "type": "table"}]
    local = client.download_artifacts(result.run_id, "eval_results_table.json")
    table = json.loads(Path(local).read_text())
    assert table["columns"][:4] == ["inputs", "outputs", "expectations", "error"]
    assert [row[1] for row in table["data"]] == ["4", "The capital is Paris.", "grey, mostly", None]

    # inside an active run it logs there; outputs given in the data need no model
    with fluent.start_run() as run:
        inner = trackflow.evaluate(None, [{"inputs": "q", "outputs": "blue sky", "expectations": "blue"}],
                                   [scorers.contains(), scorers.token_count()])
    assert inner.run_id == run.info.run_id
    assert client.get_run(run.info.run_id).data.metrics["token_count/mean"] == 2


def test_thresholds_make_a_gate_and_bad_input_is_refused(fluent: Any) -> None:
    with pytest.raises(EvaluationGateFailed, match=r"exact_match/mean = 0\.333333 < 0\.9.*error_count = 1 > 0"):
        trackflow.evaluate(stand_in, ROWS, [scorers.exact_match()],
                           thresholds={"exact_match/mean": 0.9, "error_count": 0})
    passed = trackflow.evaluate(stand_in, ROWS[:1], [scorers.exact_match()], thresholds={"exact_match/mean": 1.0})
    assert passed.metrics["exact_match/mean"] == 1.0
    with pytest.raises(EvaluationGateFailed, match="no such metric"):
        trackflow.evaluate(stand_in, ROWS[:1], [scorers.exact_match()], thresholds={"accuracy/mean": 1.0})
    for args, message in [
        ((stand_in, ROWS, []), "at least one scorer"),
        ((stand_in, [], [scorers.exact_match()]), "at least one row"),
        ((stand_in, "not rows", [scorers.exact_match()]), "list of rows"),
        ((stand_in, [1, 2], [scorers.exact_match()]), "not a dict"),
        ((None, ROWS, [scorers.exact_match()]), "needs its outputs"),
        ((42, ROWS, [scorers.exact_match()]), "takes a function"),
        ((stand_in, ROWS, [scorers.exact_match(), scorers.exact_match()]), "share a name"),
        ((stand_in, ROWS, [lambda outputs, reference: 1]), "parameters are among"),
        ((stand_in, [{"inputs": {"question": "What is 2+2?"}}], [scorers.exact_match()]), "expected answer"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            trackflow.evaluate(*args)


def test_a_failed_gate_fails_its_pipeline_task(tmp_path: Path) -> None:
    from trackflow.config import Settings
    from trackflow.pipelines.operations import Pipelines
    from trackflow.tracking.client import Client

    home = tmp_path / "home"
    env = {"TRACKFLOW_HOME": str(home), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "trackflow", "dags", "test", "evaluation_gate", "--dags-folder",
                           str(DAGS / "evaluation_gate.py")], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    settings = Settings(home=str(home))
    pipelines = Pipelines(settings)
    [run] = pipelines.store.list_dag_runs("evaluation_gate")
    tis = {t.task_id: t for t in pipelines.run_detail("evaluation_gate", run.run_id).task_instances}
    assert {k: t.state for k, t in tis.items()} == {"good_enough": "success", "too_strict": "failed",
                                                   "deploy": "upstream_failed"}
    assert "evaluation gate failed" in proc.stdout + proc.stderr
    tracked = Client(settings=settings).get_run(tis["good_enough"].tracking_run_id)
    assert tracked.data.metrics["exact_match/mean"] == 1.0  # recorded in the task's own tracked run


def test_the_example_genai_pipeline_promotes_only_a_better_prompt(tmp_path: Path) -> None:
    """examples/dags/genai_prompt_pipeline.py, as `make demo` loads it: the first prompt becomes
    the champion, a better one replaces it, a worse one does not."""
    from trackflow.config import Settings
    from trackflow.pipelines.operations import Pipelines
    from trackflow.registry.client import Client
    from trackflow.registry.prompts import Prompts

    example = Path(__file__).resolve().parents[2] / "examples" / "dags" / "genai_prompt_pipeline.py"
    home = tmp_path / "home"
    env = {"TRACKFLOW_HOME": str(home), "PATH": "/usr/bin:/bin"}
    for variant in ("vague", "concise", "vague"):
        proc = subprocess.run([sys.executable, "-m", "trackflow", "dags", "test", "genai_prompt_pipeline",
                               "--dags-folder", str(example), "--conf", json.dumps({"variant": variant})],
                              capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    settings = Settings(home=str(home))
    pipelines = Pipelines(settings)
    runs = sorted(pipelines.store.list_dag_runs("genai_prompt_pipeline"), key=lambda r: r.queued_at)
    said = [json.loads(pipelines.store.get_outputs("genai_prompt_pipeline", r.run_id, "promote")[0].data or b"")
            for r in runs]
    assert said == ["support-answer v1 is the champion (0.00)", "support-answer v2 is the champion (1.00)",
                    "kept the champion (1.00 >= 0.00)"]
    client = Client(settings=settings)
    first = pipelines.run_detail("genai_prompt_pipeline", runs[0].run_id)
    scored = next(t for t in first.task_instances if t.task_id == "score_candidate")
    [traced] = client.trace_store().search_traces(
        [runs[0].experiment_id or "0"], f"metadata.`trackflow.dag_run_id` = '{runs[0].run_id}'").items
    assert traced.trace_metadata["mlflow.sourceRun"] == scored.tracking_run_id  # the task's tracked run
    assert traced.trace_metadata["trackflow.task_id"] == "score_candidate"
    spans = client.trace_store().get_spans(traced.trace_id)
    assert spans[0].name == "score_candidate" and {s.name for s in spans[1:]} == {"stand_in_model"}
    assert len(spans) == 1 + 3  # the example asks three questions
    champion = Prompts(client).load("prompts:/support-answer@champion", link_to_run=False)
    assert champion.version == 2 and champion.variables == {"question"}
