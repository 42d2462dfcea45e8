"""The official MLflow client (mlflow-skinny 3.17.2, as users run it) against MLflow's server and
trackflow's: the same calls must succeed with the same results or fail with the same error_code.
Raw HTTP is covered call by call by the other test_rest_*.py files; this checks what a user sees."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from scenarios import Difference

mlflow = pytest.importorskip("mlflow")
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

pytestmark = pytest.mark.slow  # a real MLflow server and a trackflow server

UNKNOWN_RUN = "0123456789abcdef0123456789abcdef"
Step = tuple[str, Callable[[], Any]]


@pytest.fixture(autouse=True)
def no_retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A 4xx/5xx must reach the test at once, not after MLflow's client backs off and retries."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
    yield


def outcome(step: Callable[[], Any]) -> Any:
    try:
        return ("ok", step())
    except MlflowException as exc:
        return ("error", exc.error_code)


def tracking_steps(c: MlflowClient) -> list[Step]:
    u = uuid.uuid4().hex[:10]
    exp = c.create_experiment(f"client-{u}")
    gone = c.create_experiment(f"client-gone-{u}")
    c.delete_experiment(gone)
    run = c.create_run(exp, start_time=1).info.run_id
    for step, (value, timestamp) in enumerate([(3.0, 30), (1.0, 10), (2.0, 20), (0.5, 10)]):
        c.log_metric(run, "m", value, timestamp=timestamp, step=step)
    dataset = Dataset(name="iris", digest="abc", source_type="local", source="{}")
    c.log_inputs(run, [DatasetInput(dataset, tags=[InputTag("mlflow.data.context", "training")])])
    return [
        ("get unknown experiment", lambda: c.get_experiment("987654321")),
        ("get experiment by unknown name", lambda: c.get_experiment_by_name(f"nope-{u}")),
        ("delete a deleted experiment", lambda: c.delete_experiment(gone)),
        ("restore an active experiment", lambda: c.restore_experiment(exp)),
        ("rename a deleted experiment", lambda: c.rename_experiment(gone, f"zombie-{u}")),
        ("create a run in a deleted experiment", lambda: c.create_run(gone)),
        ("get unknown run", lambda: c.get_run(UNKNOWN_RUN)),
        ("log metric to unknown run", lambda: c.log_metric(UNKNOWN_RUN, "m", 1.0)),
        ("set tag on unknown run", lambda: c.set_tag(UNKNOWN_RUN, "t", "v")),
        ("delete unknown run", lambda: c.delete_run(UNKNOWN_RUN)),
        ("list artifacts of unknown run", lambda: c.list_artifacts(UNKNOWN_RUN)),
        ("same param twice in a batch", lambda: c.log_batch(run, params=[Param("p", "1"), Param("p", "1")])),
        ("change a param", lambda: (c.log_param(run, "q", "1"), c.log_param(run, "q", "2"))),
        ("metric NaN", lambda: c.log_batch(run, metrics=[Metric("nan", float("nan"), 1, 0)])),
        ("metric history order", lambda: [(m.step, m.value) for m in c.get_metric_history(run, "m")]),
        ("search by dataset", lambda: len(c.search_runs([exp], "datasets.name = 'iris'"))),
        ("search by dataset context", lambda: len(c.search_runs([exp], "datasets.context = 'eval'"))),
        ("search experiments max_results 0", lambda: c.search_experiments(max_results=0)),
        ("search runs with a bad filter", lambda: c.search_runs([exp], "metrics.m >> 1")),
        ("delete a tag never set", lambda: c.delete_tag(run, "never")),
    ]


def registry_steps(c: MlflowClient) -> list[Step]:
    u = uuid.uuid4().hex[:10]
    name = f"client-rm-{u}"
    c.create_registered_model(name)
    exp = c.create_experiment(f"client-reg-{u}")
    run = c.create_run(exp).info.run_id
    c.create_model_version(name, f"runs:/{run}/model", run_id=run)
    c.set_registered_model_alias(name, "champion", "1")
    return [
        ("get unknown model", lambda: c.get_registered_model(f"nope-{u}")),
        ("create a duplicate model", lambda: c.create_registered_model(name)),
        ("delete a model tag never set", lambda: c.delete_registered_model_tag(name, "never")),
        ("delete a version tag never set", lambda: c.delete_model_version_tag(name, "1", "never")),
        ("get by alias", lambda: c.get_model_version_by_alias(name, "champion").version),
        ("get a missing alias", lambda: c.get_model_version_by_alias(name, "nope")),
        ("delete an alias never set", lambda: c.delete_registered_model_alias(name, "never")),
        ("get unknown version", lambda: c.get_model_version(name, "9")),
        ("version from a local path without run", lambda: c.create_model_version(name, f"/tmp/m-{u}")),
        ("version from another run's source", lambda: c.create_model_version(name, f"runs:/{UNKNOWN_RUN}/m", run)),
        ("version from s3", lambda: c.create_model_version(name, f"s3://bucket/{u}").version),
        ("transition to an unknown stage", lambda: c.transition_model_version_stage(name, "1", "Live")),
        ("latest versions", lambda: [v.version for v in c.get_latest_versions(name)]),
        ("search versions", lambda: sorted(v.version for v in c.search_model_versions(f"name = '{name}'"))),
        ("rename to a taken name", lambda: c.rename_registered_model(name, name)),
    ]


@pytest.mark.parametrize("steps", [tracking_steps, registry_steps], ids=lambda f: f.__name__)
def test_mlflow_client_sees_the_same(
    steps: Callable[[MlflowClient], list[Step]],
    mlflow_server: str,
    running_server: str,
    rest_differences: dict[tuple[str, str], Difference],
) -> None:
    expected = [(label, outcome(step)) for label, step in steps(MlflowClient(mlflow_server))]
    actual = [(label, outcome(step)) for label, step in steps(MlflowClient(running_server))]
    problems = []
    for (label, want), (_, got) in zip(expected, actual, strict=True):
        documented = (f"client:{steps.__name__}", label) in rest_differences
        if (got == want) == documented:
            what = "documented as a difference but the same" if documented else "differs"
            problems.append(f"{label}: {what}\n    mlflow:    {want!r}\n    trackflow: {got!r}")
    assert not problems, "\n".join(problems)
