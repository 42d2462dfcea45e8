"""Every operation of the /api/v1 OpenAPI document, fuzzed by schemathesis.

Positive data (fits the documented schemas) and negative data (does not) are sent to an app
built by ``create_app`` over a seeded database. Each response must not be a 5xx, and must match
the response schema the document gives for its status: the 200 bodies clients are generated
from, and the ``{"error_code", "message"}`` shape of every 4xx.

Path and query parameters named after a seeded resource (experiment, run, registered model,
DAG...) take the seeded value about half the time, so the fuzzer also reaches the code behind
a resource that exists rather than only its 404.
"""

from __future__ import annotations

import os
import shutil
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.generation import GenerationMode

from servers import ThreadServer
from trackflow.config import Settings
from trackflow.entities import Metric, Param, RunTag
from trackflow.entities.inference import InferenceRecord
from trackflow.pipelines.operations import Pipelines
from trackflow.server.app import create_app
from trackflow.server.services import Services
from trackflow.store.sql.inference_store import SqlInferenceLogStore
from trackflow.store.sql.registry_store import SqlRegistryStore

DAGS = Path(__file__).resolve().parents[1] / "dags"
OPENAPI_PATH = "/api/v1/openapi.json"
# Fuzzed cases per operation (the coverage phase's boundary values come on top); more with
# TRACKFLOW_FUZZ_EXAMPLES when hunting.
MAX_EXAMPLES = int(os.environ.get("TRACKFLOW_FUZZ_EXAMPLES", "60"))
ENDPOINT = "models:/fuzzed/1"


def seed(services: Services, settings: Settings) -> dict[str, str]:
    """One of each resource the routes read, and the value of each parameter naming it."""
    tracking = services.tracking
    experiment_id = tracking.create_experiment("fuzzed", None, {"team": "qa"})
    run = tracking.create_run(experiment_id, "fuzzer", 1_700_000_000_000, [RunTag("t", "v")], "seeded")
    run_id = run.info.run_id
    tracking.log_batch(run_id, [Metric("m", 1.5, 1_700_000_000_000, 0)], [Param("p", "1")], [])
    deleted_run = tracking.create_run(experiment_id, "fuzzer", None, [], "deleted")
    tracking.delete_run(deleted_run.info.run_id)
    model = tracking.create_logged_model(experiment_id, "fuzzed-model", run_id, {}, {"alpha": "1"}, None)

    registry = SqlRegistryStore(services.db)
    registry.create_registered_model("a", {"owner": "qa"}, "seeded model")
    version = registry.create_model_version("a", f"runs:/{run_id}/model", run_id, {}, None, "v1", "fuzzer")
    registry.set_registered_model_alias("a", "champion", version.version)

    SqlInferenceLogStore(services.db).log_inferences(
        [InferenceRecord(ENDPOINT, 1_700_000_000_000, [{"x": 1.0}], [0.5], 3.0)]
    )

    pipelines = Pipelines(settings, services.db)
    pipelines.sync_folder()
    dag_run = pipelines.trigger("taskflow_etl", {}, None, "seeded-run")
    return {
        "experiment_id": experiment_id,
        "run_id": run_id,
        "model_id": model.model_id,
        "name": "a",
        "version": version.version,
        "alias": "champion",
        "endpoint": ENDPOINT,
        "dag_id": "taskflow_etl",
        "dag_run_id": dag_run.run_id,
        "task_id": "extract",
    }


def document_schema() -> Any:
    """The /api/v1 OpenAPI document as create_app builds it (from an in-memory database: the
    document depends on the code only), loaded for schemathesis at collection time."""
    app = create_app(Settings(home="", tracking_uri="sqlite:///:memory:", artifacts_destination="unused"))
    document = app.openapi()
    app.state.services.db.dispose()
    loaded = schemathesis.openapi.from_dict(document).include(path_regex=r"^/api/v1/")
    loaded.config.seed = 20260101
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        deterministic=True,
        database="none",
    )
    return loaded


schema = document_schema()


@dataclass(frozen=True)
class Seeded:
    url: str
    known: dict[str, str]


@pytest.fixture(scope="module")
def seeded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """A real server on a free port over a seeded database."""
    home = tmp_path_factory.mktemp("openapi-fuzz")
    dags = home / "dags"
    dags.mkdir()
    for name in ("taskflow_etl.py", "broken_import.py"):
        shutil.copy(DAGS / name, dags / name)
    settings_ = Settings(home=str(home), dags_folder=str(dags))
    app = create_app(settings_)
    known = seed(app.state.services, settings_)
    with ThreadServer(app) as server:
        yield Seeded(server.url, known)


def aim_at_seeded(case: Any, known: dict[str, str]) -> None:
    """Replace about half of the generated path and query parameters named like a seeded
    resource by that resource's value. The choice is a function of the generated value, so a
    failing case shrinks and replays the same way; it is made here rather than by a hypothesis
    strategy because schemathesis skips its coverage phase (boundary values) for tests with
    strategies of their own."""
    if "/dags/" in case.operation.path:
        known = {**known, "run_id": known["dag_run_id"]}  # there `run_id` names a DAG run
    for params in (case.path_parameters, case.query):
        if not isinstance(params, dict):
            continue
        for key in params.keys() & known.keys():
            if zlib.crc32(repr(params[key]).encode()) % 2 == 0:
                params[key] = known[key]


@pytest.mark.slow  # about a minute on a 2-core machine
@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_no_5xx_and_responses_match_the_document(case: Any, seeded_server: Seeded) -> None:
    aim_at_seeded(case, seeded_server.known)
    case.call_and_validate(
        base_url=seeded_server.url, checks=[not_a_server_error, response_schema_conformance], timeout=30
    )


# Requests that answered 500 before their parameters were bounded at the edge (issue 10 and
# this fuzzer's finds): (method, path, JSON body, a fragment the 400's message must hold).
BIG = 2**70
ANSWERED_500: list[tuple[str, str, Any, str]] = [
    ("GET", "/gc/deleted?older_than_ms=-14004286943589898240", None, "older_than_ms"),
    ("PUT", "/pools/x", {"slots": 4923646840244509378019852288}, "slots"),
    ("DELETE", "/registered-models/a/versions/%C2%B3", None, "version"),
    ("GET", "/registered-models/a/versions/%C2%B3", None, "version"),
    ("GET", "/registered-models/a/versions/99999999999999999999", None, "version"),
    ("PATCH", "/registered-models/a/versions/%C2%B3", {"description": "x"}, "version"),
    ("GET", "/registered-models/a/versions/%C2%B3/lineage", None, "version"),
    ("POST", "/registered-models/a/versions/%C2%B3/stage", {"stage": "Production"}, "version"),
    ("PUT", "/registered-models/a/versions/%C2%B3/tags", {"key": "k", "value": "v"}, "version"),
    ("DELETE", "/registered-models/a/versions/%C2%B3/tags?key=k", None, "version"),
    ("PUT", "/registered-models/a/aliases/x", {"version": "\u00b3"}, "version"),
    ("GET", f"/inference-log?endpoint={ENDPOINT}&start_ms=-3317957232984778491297792", None, "start_ms"),
    ("GET", f"/inference-log/summary?endpoint={ENDPOINT}&end_ms=-601521480960046661632", None, "end_ms"),
    ("GET", "/registry/events?after_event_id=-8849913645054541430784", None, "after_event_id"),
    ("GET", "/dags/taskflow_etl/dagRuns/seeded-run/taskInstances/extract/logs?map_index=-67411364245119148032",
     None, "map_index"),
    ("POST", "/dags/taskflow_etl/dagRuns", {"conf": {"n": [BIG]}}, "64-bit"),
    ("POST", "/runs", {"experiment_id": "{experiment_id}", "start_time": BIG}, "start_time"),
    ("PATCH", "/runs/{run_id}", {"end_time": BIG}, "end_time"),
    ("GET", f"/runs/{{run_id}}/metric-history?key=m&max_results={BIG}", None, "max_results"),
    ("POST", "/runs/{run_id}/outputs", {"models": [{"model_id": "{model_id}", "step": BIG}]}, "step"),
]


def with_seeded(value: Any, known: dict[str, str]) -> Any:
    """``value`` with "{run_id}"-style placeholders in its strings filled from ``known``."""
    if isinstance(value, str):
        return value.format(**known)
    if isinstance(value, list):
        return [with_seeded(v, known) for v in value]
    if isinstance(value, dict):
        return {k: with_seeded(v, known) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    ("method", "path", "body", "fragment"), ANSWERED_500, ids=[f"{m} {p}" for m, p, _, _ in ANSWERED_500]
)
def test_out_of_range_input_answers_400_naming_it(
    seeded_server: Seeded, method: str, path: str, body: Any, fragment: str
) -> None:
    url = seeded_server.url + "/api/v1" + with_seeded(path, seeded_server.known)
    response = requests.request(method, url, json=with_seeded(body, seeded_server.known), timeout=30)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["error_code"] == "INVALID_PARAMETER_VALUE", answer
    assert fragment in answer["message"], answer


def test_every_v1_operation_documents_its_responses(tmp_path: Path) -> None:
    """No operation answers 200 with an untyped body: each names a schema with properties,
    documents the error shape instead of FastAPI's unused 422, and its schemas have plain names."""
    app = create_app(Settings(home=str(tmp_path)))
    document = app.openapi()
    components = document["components"]["schemas"]
    untyped = []
    operations = 0
    for path, methods in document["paths"].items():
        if not path.startswith("/api/v1/"):
            continue  # the task API (/task-api/v1) is for task processes, not clients
        for method, operation in methods.items():
            operations += 1
            responses = operation["responses"]
            assert "422" not in responses, f"{method.upper()} {path}"
            assert "4XX" in responses, f"{method.upper()} {path}"
            schema_ = responses["200"]["content"]["application/json"]["schema"]
            ref = schema_.get("$ref", "")
            resolved = components.get(ref.rsplit("/", 1)[-1], {}) if ref else schema_
            if "properties" not in resolved:
                untyped.append(f"{method.upper()} {path}: {schema_}")
    assert operations > 70
    assert not untyped, "\n".join(untyped)
    # Two models sharing a class name get module-path names (trackflow__server__...__Run),
    # which generated clients would carry.
    assert not [name for name in components if "__" in name]
