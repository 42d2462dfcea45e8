"""The scoring server over real HTTP: MLflow's payload formats, probes, errors, metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from trackflow.models.pyfunc import load_local
from trackflow.serving.app import ScoringConfig

COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
ROW = [5.1, 3.5, 1.4, 0.2]


@pytest.fixture
def url(scoring_server: Any, iris_model_dir: Path) -> str:
    return scoring_server(load_local(iris_model_dir), ScoringConfig(max_body_bytes=20_000))


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_split": {"columns": COLUMNS, "data": [ROW, ROW]}},
        {"dataframe_records": [dict(zip(COLUMNS, ROW, strict=True))] * 2},
        {"instances": [dict(zip(COLUMNS, ROW, strict=True))] * 2},
        {"inputs": {c: [v, v] for c, v in zip(COLUMNS, ROW, strict=True)}},
        {"inputs": [dict(zip(COLUMNS, ROW, strict=True))] * 2},
    ],
    ids=["dataframe_split", "dataframe_records", "instances", "inputs-columns", "inputs-records"],
)
def test_json_formats(url: str, body: dict[str, Any], iris: Any) -> None:
    expected = iris[2].predict(iris[0][:1]).tolist() * 2
    response = requests.post(f"{url}/invocations", json=body, timeout=10)
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": expected}


def test_csv(url: str) -> None:
    body = ",".join(COLUMNS) + "\n" + ",".join(map(str, ROW)) + "\n"
    response = requests.post(f"{url}/invocations", data=body, headers={"Content-Type": "text/csv"}, timeout=10)
    assert response.status_code == 200 and response.json() == {"predictions": [0]}


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code", "needle"),
    [
        (b"{not json", "application/json", 400, "BAD_REQUEST", "not valid JSON"),
        (b'{"rows": []}', "application/json", 400, "BAD_REQUEST", "exactly one of the keys"),
        (b'{"inputs": [], "instances": []}', "application/json", 400, "BAD_REQUEST", "exactly one of the keys"),
        (b'{"dataframe_split": {"columns": ["sepal length (cm)"], "data": [[1.0]]}}', "application/json", 400,
         "INVALID_PARAMETER_VALUE", "missing column 'sepal width (cm)'"),
        (b'{"dataframe_records": [{"sepal length (cm)": "big", "sepal width (cm)": 1, "petal length (cm)": 1, '
         b'"petal width (cm)": 1}]}', "application/json", 400, "BAD_REQUEST",
         "column 'sepal length (cm)' holds 'big'"),
        (b"a,b\n1", "text/csv", 400, "INVALID_PARAMETER_VALUE", "missing column"),
        (b"x" * 30_000, "application/json", 400, "BAD_REQUEST", "exceeds the limit"),
        (b"<xml/>", "application/xml", 415, "BAD_REQUEST", "not supported"),
    ],
    ids=["malformed", "unknown-key", "two-keys", "missing-column", "wrong-type", "csv-columns", "too-large", "xml"],
)
def test_bad_input_is_400_and_server_keeps_serving(
    url: str, body: bytes, content_type: str, status: int, code: str, needle: str
) -> None:
    response = requests.post(f"{url}/invocations", data=body, headers={"Content-Type": content_type}, timeout=10)
    assert response.status_code == status, response.text
    assert response.json()["error_code"] == code
    assert needle in response.json()["message"]
    ok = requests.post(f"{url}/invocations", json={"dataframe_split": {"columns": COLUMNS, "data": [ROW]}}, timeout=10)
    assert ok.status_code == 200


def test_probes_version_and_metrics(url: str) -> None:
    assert requests.get(f"{url}/ping", timeout=5).status_code == 200
    assert requests.get(f"{url}/health", timeout=5).status_code == 200
    assert requests.get(f"{url}/version", timeout=5).text.strip()
    requests.post(f"{url}/invocations", json={"dataframe_split": {"columns": COLUMNS, "data": [ROW]}}, timeout=10)
    requests.post(f"{url}/invocations", data=b"{", headers={"Content-Type": "application/json"}, timeout=10)
    text = requests.get(f"{url}/metrics", timeout=5).text
    assert 'trackflow_scoring_requests_total{endpoint="invocations",status="200"} 1.0' in text
    assert 'trackflow_scoring_errors_total{kind="bad_json"} 1.0' in text
    assert "trackflow_scoring_request_seconds_bucket" in text


def test_model_failure_is_400_not_500(scoring_server: Any, tmp_path: Path) -> None:
    import trackflow.pyfunc

    class Fails:
        def predict(self, model_input: Any) -> Any:
            raise ValueError("boom")

    trackflow.pyfunc.save_model(tmp_path / "m", Fails())
    url = scoring_server(load_local(tmp_path / "m"))
    response = requests.post(f"{url}/invocations", json={"inputs": [1]}, timeout=10)
    assert response.status_code == 400 and "ValueError: boom" in response.json()["message"]


def test_params_are_passed(scoring_server: Any, tmp_path: Path) -> None:
    import pandas as pd

    import trackflow.pyfunc

    class Scale(trackflow.pyfunc.PythonModel):
        def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
            return (model_input["x"] * (params or {}).get("k", 1)).tolist()

    signature = trackflow.pyfunc.infer_signature(pd.DataFrame({"x": [1.0]}), params={"k": 2})
    trackflow.pyfunc.save_model(tmp_path / "m", Scale(), signature=signature)
    url = scoring_server(load_local(tmp_path / "m"))
    body = {"dataframe_records": [{"x": 1.5}], "params": {"k": 4}}
    assert requests.post(f"{url}/invocations", json=body, timeout=10).json() == {"predictions": [6.0]}
    assert requests.post(f"{url}/invocations", json={"inputs": {"x": [1.0]}}, timeout=10).json() == {
        "predictions": [2.0]}
    bad = requests.post(f"{url}/invocations", json={"inputs": {"x": [1.0]}, "params": {"z": 1}}, timeout=10)
    assert bad.status_code == 400 and "unknown params ['z']" in bad.json()["message"]


def test_numeric_text_becomes_the_signature_type(scoring_server: Any, tmp_path: Path) -> None:
    import pandas as pd

    import trackflow.pyfunc

    class Echo(trackflow.pyfunc.PythonModel):
        def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
            return [f"{type(n).__name__}:{n!r} {type(x).__name__}:{x!r}" for n, x in
                    zip(model_input["n"].tolist(), model_input["x"].tolist(), strict=True)]

    signature = trackflow.pyfunc.infer_signature(pd.DataFrame({"n": [1], "x": [1.0]}), params={"k": 2.0})
    trackflow.pyfunc.save_model(tmp_path / "m", Echo(), signature=signature)
    url = scoring_server(load_local(tmp_path / "m"))
    for body in (
        {"dataframe_records": [{"n": "3", "x": "1.5"}]},
        {"dataframe_split": {"columns": ["n", "x"], "data": [["3", "1.5"]]}},
        {"inputs": {"n": ["3"], "x": ["1.5"]}},
    ):
        response = requests.post(f"{url}/invocations", json=body, timeout=10)
        assert response.json() == {"predictions": ["int:3 float:1.5"]}, body
    csv = requests.post(f"{url}/invocations", data=b"n,x\n3,1.5\n", headers={"Content-Type": "text/csv"}, timeout=10)
    assert csv.json() == {"predictions": ["int:3 float:1.5"]}
    fraction = requests.post(f"{url}/invocations", json={"dataframe_records": [{"n": "3.5", "x": 1}]}, timeout=10)
    assert fraction.status_code == 400 and fraction.json()["error_code"] == "BAD_REQUEST"
    assert "column 'n' holds '3.5'" in fraction.json()["message"]
    rows = requests.post(f"{url}/invocations", json={"inputs": [[3, 1.5]]}, timeout=10)
    assert rows.status_code == 400 and rows.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "without column names" in rows.json()["message"] and "['n', 'x']" in rows.json()["message"]
    bad_param = requests.post(f"{url}/invocations", json={"inputs": {"n": [3], "x": [1.5]}, "params": {"k": "x"}},
                              timeout=10)
    assert bad_param.status_code == 400 and "param 'k' must be of type double" in bad_param.json()["message"]


def test_content_type_is_required_and_only_charset_is_a_parameter(url: str) -> None:
    body = b'{"dataframe_split": {"columns": [], "data": []}}'
    for headers in ({}, {"Content-Type": "application/json; format=pandas-split"}):
        response = requests.post(f"{url}/invocations", data=body, headers=headers, timeout=10)
        assert response.status_code == 415 and response.json()["error_code"] == "BAD_REQUEST", headers
    missing = requests.post(f"{url}/invocations", data=body, timeout=10).json()["message"]
    assert "no Content-Type" in missing and "application/json" in missing
