"""Bad input sent with raw HTTP to a real server, on /api/v1 and MLflow's /api/2.0/mlflow.

Every case must answer 400 or 404 with ``{"error_code", "message"}``, the message naming what
is wrong, and leave the run's stored data exactly as it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from trackflow.entities import Metric, Param, RunTag
from trackflow.tracking.client import Client, now_ms

MLFLOW = "/api/2.0/mlflow"
V1 = "/api/v1"


@pytest.fixture(scope="module")
def seeded(running_server: str) -> Iterator[tuple[str, str, str]]:
    """(server URL, experiment id, run id) of a run holding param p=1, metric m=1.0, tag t=v."""
    client = Client(running_server)
    experiment_id = client.create_experiment(f"bad-input-{uuid.uuid4().hex[:8]}")
    run_id = client.create_run(experiment_id).info.run_id
    client.log_batch(run_id, [Metric("m", 1.0, now_ms(), 0)], [Param("p", "1")], [RunTag("t", "v")])
    yield running_server, experiment_id, run_id


def snapshot(url: str, run_id: str) -> tuple[Any, ...]:
    client = Client(url)
    run = client.get_run(run_id)
    history = [(m.value, m.step) for m in client.get_metric_history(run_id, "m")]
    return run.data.params, run.data.metrics, run.data.tags, history, run.info.status, run.info.run_name


def expect_error(response: requests.Response, status: int, code: str, *fragments: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error_code", "message"}, body
    assert body["error_code"] == code, body
    for fragment in fragments:
        assert fragment in body["message"], body


def mlflow_cases(experiment_id: str, run_id: str) -> list[tuple[str, str, Any, int, str, tuple[str, ...]]]:
    """(method, path, body: dict/bytes/None, status, error code, fragments in the message)."""
    missing = uuid.uuid4().hex
    bad = "INVALID_PARAMETER_VALUE"
    return [
        ("POST", "runs/log-batch", b'{"run_id": "' + run_id.encode() + b'", "metrics": [', 400, bad, ("JSON",)),
        ("POST", "runs/log-metric", b"[1, 2, 3]", 400, bad, ("JSON object",)),
        ("POST", "runs/create", {"experiment_id": experiment_id, "start_time": 2**70}, 400, bad, ("start_time",)),
        ("POST", "runs/log-metric", {"run_id": run_id, "key": "m", "value": 1, "timestamp": 2**64}, 400, bad,
         ("timestamp",)),
        ("POST", "runs/log-metric", b"\xff\xfe garbage", 400, bad, ("JSON",)),
        ("POST", "runs/log-metric", {"run_id": run_id, "key": "m", "timestamp": 1}, 400, bad, ("value",)),
        (
            "POST",
            "runs/log-metric",
            {"run_id": run_id, "key": "m", "value": "high", "timestamp": 1},
            400,
            bad,
            ("value", "high"),
        ),
        (
            "POST",
            "runs/log-metric",
            {"run_id": run_id, "key": "m", "value": 1, "timestamp": "soon"},
            400,
            bad,
            ("timestamp", "soon"),
        ),
        (
            "POST",
            "runs/log-metric",
            {"run_id": run_id, "key": "bad!key", "value": 1, "timestamp": 1},
            400,
            bad,
            ("bad!key",),
        ),
        (
            "POST",
            "runs/log-metric",
            {"run_id": missing, "key": "m", "value": 1, "timestamp": 1},
            404,
            "RESOURCE_DOES_NOT_EXIST",
            (missing,),
        ),
        ("POST", "runs/log-metric", {"key": "m", "value": 1, "timestamp": 1}, 400, bad, ("run_id",)),
        ("POST", "runs/log-parameter", {"run_id": run_id, "key": "p", "value": "2"}, 400, bad, ("'p'",)),
        (
            "POST",
            "runs/log-parameter",
            {"run_id": run_id, "key": "long", "value": "x" * 6001},
            400,
            bad,
            ("long", "6001"),
        ),
        ("POST", "runs/log-parameter", {"run_id": run_id, "key": ["p"], "value": "1"}, 400, bad, ("key",)),
        ("POST", "runs/set-tag", {"run_id": run_id, "key": "../t", "value": "x"}, 400, bad, ("../t",)),
        ("POST", "runs/log-batch", {"run_id": run_id, "metrics": "m=2"}, 400, bad, ("metrics",)),
        ("POST", "runs/log-batch", {"run_id": run_id, "params": [{"value": "1"}]}, 400, bad, ("key",)),
        (
            "POST",
            "runs/log-batch",
            {
                "run_id": run_id,
                "metrics": [{"key": "m", "value": 2, "timestamp": 1}],
                "params": [{"key": "p", "value": "9"}],
            },
            400,
            bad,
            ("'p'",),
        ),
        ("POST", "runs/delete-tag", {"run_id": run_id, "key": "nope"}, 404, "RESOURCE_DOES_NOT_EXIST", ("nope",)),
        ("POST", "runs/update", {"run_id": run_id, "status": "DONE"}, 400, bad, ("DONE",)),
        ("GET", f"runs/get?run_id={missing}", None, 404, "RESOURCE_DOES_NOT_EXIST", (missing,)),
        ("GET", "runs/get?run_id=has%20space", None, 400, bad, ("has space",)),
        ("POST", "runs/search", {"experiment_ids": [experiment_id], "filter": "metrics.m >>> 1"}, 400, bad, (">>>",)),
        ("POST", "runs/search", {"experiment_ids": [experiment_id], "filter": "params.p = 1 OR x"}, 400, bad, ("OR",)),
        ("POST", "runs/search", {"experiment_ids": [experiment_id], "max_results": "many"}, 400, bad, ("max_results",)),
        ("POST", "runs/search", {"experiment_ids": [experiment_id], "page_token": "forged"}, 400, bad, ("page token",)),
        ("GET", f"metrics/get-history?run_id={run_id}", None, 400, bad, ("metric_key",)),
        ("GET", "experiments/get?experiment_id=abc", None, 400, bad, ("abc",)),
        ("GET", "experiments/get?experiment_id=99999999", None, 404, "RESOURCE_DOES_NOT_EXIST", ("99999999",)),
        (
            "GET",
            "experiments/get-by-name?experiment_name=no-such-exp-x",
            None,
            404,
            "RESOURCE_DOES_NOT_EXIST",
            ("no-such-exp-x",),
        ),
        ("POST", "experiments/create", {}, 400, bad, ("name",)),
        ("POST", "experiments/create", {"name": "x" * 300}, 400, bad, ("300",)),
        ("POST", "experiments/search", {"view_type": "SOMETIMES"}, 400, bad, ("SOMETIMES",)),
        ("POST", "runs/log-inputs", {"run_id": run_id, "datasets": [{"nodataset": 1}]}, 400, bad, ("dataset",)),
        (
            "POST",
            "runs/log-inputs",
            {"run_id": run_id, "datasets": [{"dataset": {"name": "d", "digest": "x", "schema": {"a": 1}}}]},
            400,
            bad,
            ("dataset.schema",),
        ),
        (
            "POST",
            "runs/search",
            {"experiment_ids": [experiment_id], "filter": "attribute.experiment_id = 'x'"},
            400,
            bad,
            ("'x'",),
        ),
        ("POST", "experiments/search", {"filter": "experiment_id = 'x'"}, 400, bad, ("'x'",)),
        # str.isdigit takes "³", int() does not; 20 digits overflow a 64-bit column (both were 500s)
        ("GET", "model-versions/get?name=a&version=%C2%B3", None, 400, bad, ("positive integer",)),
        ("GET", "model-versions/get?name=a&version=99999999999999999999", None, 400, bad, ("positive integer",)),
        ("GET", "no/such/endpoint", None, 404, "ENDPOINT_NOT_FOUND", ()),
    ]


def v1_cases(experiment_id: str, run_id: str) -> list[tuple[str, str, Any, int, str, tuple[str, ...]]]:
    missing = uuid.uuid4().hex
    bad = "INVALID_PARAMETER_VALUE"
    metric = {"key": "m", "value": 2.0, "timestamp": 1, "step": 1}
    return [
        ("POST", f"runs/{run_id}/batch", b'{"metrics": [}', 400, bad, ("JSON",)),
        ("POST", f"runs/{run_id}/batch", b"[]", 400, bad, ()),
        ("POST", f"runs/{run_id}/batch", {"metrics": [metric], "surprise": 1}, 400, bad, ("surprise",)),
        ("POST", f"runs/{run_id}/batch", {"metrics": [{**metric, "value": "high"}]}, 400, bad, ("high",)),
        ("POST", f"runs/{run_id}/batch", {"metrics": [{**metric, "timestamp": "soon"}]}, 400, bad, ("timestamp",)),
        ("POST", f"runs/{run_id}/batch", {"metrics": [{**metric, "key": "a;b"}]}, 400, bad, ("a;b",)),
        (
            "POST",
            f"runs/{run_id}/batch",
            {"metrics": [metric], "params": [{"key": "p", "value": "2"}]},
            400,
            bad,
            ("'p'",),
        ),
        ("POST", f"runs/{run_id}/batch", {"params": [{"key": "p", "value": 1}]}, 400, bad, ("value",)),
        ("POST", f"runs/{run_id}/batch", {"tags": [{"key": "t" * 251, "value": "x"}]}, 400, bad, ("251",)),
        ("POST", f"runs/{missing}/batch", {"metrics": [metric]}, 404, "RESOURCE_DOES_NOT_EXIST", (missing,)),
        ("PATCH", f"runs/{run_id}", {"status": "DONE"}, 400, bad, ("status",)),
        ("GET", f"runs/{missing}", None, 404, "RESOURCE_DOES_NOT_EXIST", (missing,)),
        ("GET", f"runs/{run_id}/metric-history", None, 400, bad, ("key",)),
        ("POST", f"runs/{run_id}/tags/delete", {"key": "nope"}, 404, "RESOURCE_DOES_NOT_EXIST", ("nope",)),
        ("POST", "runs/search", {"experiment_ids": [experiment_id], "filter": "params.p = "}, 400, bad, ("=",)),
        ("POST", "runs/search", {"experiment_ids": [experiment_id], "order_by": ["metrics.m UP"]}, 400, bad, ("UP",)),
        ("POST", "runs/search", {"experiment_ids": "1"}, 400, bad, ("experiment_ids",)),
        ("POST", "experiments", {"name": 42}, 400, bad, ("name",)),
        ("POST", "experiments", {"name": ""}, 400, bad, ("name",)),
        ("GET", "experiments/abc", None, 400, bad, ("abc",)),
        ("POST", f"runs/{run_id}/inputs", {"datasets": [{"name": "d"}]}, 400, bad, ("digest",)),
        (
            "POST",
            f"runs/{run_id}/inputs",
            {"datasets": [{"name": "d", "digest": "x", "schema": {}}]},
            400,
            bad,
            ("schema",),
        ),
        ("DELETE", "experiments/99999999", None, 404, "RESOURCE_DOES_NOT_EXIST", ("99999999",)),
    ]


def _send(url: str, prefix: str, method: str, path: str, body: Any) -> requests.Response:
    target = f"{url}{prefix}/{path}"
    if isinstance(body, bytes):
        return requests.request(method, target, data=body, headers={"Content-Type": "application/json"}, timeout=30)
    return requests.request(method, target, json=body, timeout=30)


def _ids(cases: list[tuple[Any, ...]]) -> list[str]:
    return [f"{i}-{method}-{path.split('?')[0].replace('RUN/', '')}" for i, (method, path, *_) in enumerate(cases)]


@pytest.mark.parametrize("index", range(len(mlflow_cases("0", "RUN"))), ids=_ids(mlflow_cases("0", "RUN")))
def test_mlflow_api_rejects_bad_input(seeded: tuple[str, str, str], index: int) -> None:
    url, experiment_id, run_id = seeded
    method, path, body, status, code, fragments = mlflow_cases(experiment_id, run_id)[index]
    before = snapshot(url, run_id)
    expect_error(_send(url, MLFLOW, method, path, body), status, code, *fragments)
    assert snapshot(url, run_id) == before


@pytest.mark.parametrize("index", range(len(v1_cases("0", "RUN"))), ids=_ids(v1_cases("0", "RUN")))
def test_v1_api_rejects_bad_input(seeded: tuple[str, str, str], index: int) -> None:
    url, experiment_id, run_id = seeded
    method, path, body, status, code, fragments = v1_cases(experiment_id, run_id)[index]
    before = snapshot(url, run_id)
    expect_error(_send(url, V1, method, path, body), status, code, *fragments)
    assert snapshot(url, run_id) == before


def test_duplicate_experiment_is_resource_already_exists(seeded: tuple[str, str, str]) -> None:
    url, _, _ = seeded
    name = f"dup-{uuid.uuid4().hex[:8]}"
    assert requests.post(f"{url}{MLFLOW}/experiments/create", json={"name": name}, timeout=30).ok
    response = requests.post(f"{url}{MLFLOW}/experiments/create", json={"name": name}, timeout=30)
    expect_error(response, 400, "RESOURCE_ALREADY_EXISTS", name)
    response = requests.post(f"{url}{V1}/experiments", json={"name": name}, timeout=30)
    expect_error(response, 400, "RESOURCE_ALREADY_EXISTS", name)


def test_artifact_proxy_rejects_escaping_paths(seeded: tuple[str, str, str]) -> None:
    url, _, _ = seeded
    base = f"{url}/api/2.0/mlflow-artifacts/artifacts"
    response = requests.get(base, params={"path": "../../etc"}, timeout=30)
    expect_error(response, 400, "INVALID_PARAMETER_VALUE", "escapes")
    response = requests.put(f"{base}/a/%2E%2E/%2E%2E/escape.txt", data=b"x", timeout=30)
    assert response.status_code in (400, 404), response.text
    response = requests.get(f"{base}/no/such/file.txt", timeout=30)
    expect_error(response, 404, "RESOURCE_DOES_NOT_EXIST", "no/such/file.txt")


def test_valid_mlflow_json_with_non_finite_literals_is_accepted(seeded: tuple[str, str, str]) -> None:
    """Python's json module writes NaN/Infinity literals; the MLflow endpoints accept them."""
    url, experiment_id, _ = seeded
    run_id = Client(url).create_run(experiment_id).info.run_id
    body = b'{"run_id": "%s", "key": "inf", "value": Infinity, "timestamp": 1, "step": 0}' % run_id.encode()
    response = requests.post(
        f"{url}{MLFLOW}/runs/log-metric", data=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert response.status_code == 200, response.text
    assert Client(url).get_run(run_id).data.metrics["inf"] == float("inf")
