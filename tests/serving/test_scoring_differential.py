"""Differential test of the scoring server: ``mlflow models serve`` (the pinned MLflow 3.17.2)
and ``trackflow models serve`` serve the same model, saved by MLflow itself, and get the same
table of requests: every payload format, numeric text, rows without column names, scalars,
params, CSV and Parquet, content types, bad JSON, and the probes.

For each request the two answers are compared as ``<status> <error_code>`` (or
``<status> predictions`` with the predicted values, ``<status> detail`` for FastAPI's
``{"detail": ...}``, ``<status> <media type>`` for anything else). A difference fails unless
docs/mlflow-differences.md ("Scoring server" table) lists the case with both answers and the
reason; a listed difference that no longer happens fails too. Whatever MLflow does, trackflow
never answers a request with a 5xx.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from scoring_servers import (
    mlflow_serve_command,
    mlflow_serve_env,
    serving,
    trackflow_serve_command,
    trackflow_serve_env,
)

from peers import ROOT, PeerURL, run_peer_script
from servers import free_port

pytest.importorskip("sklearn")

SCRIPT = Path(__file__).parent / "scripts" / "save_iris_model.py"
DIFFERENCES = ROOT / "docs" / "mlflow-differences.md"
SECTION = "## Scoring server"
JSON = "application/json"
COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
ROW, ROW2 = [5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]


def record(row: list[Any]) -> dict[str, Any]:
    return dict(zip(COLUMNS, row, strict=True))


def columns(*rows: list[Any]) -> dict[str, list[Any]]:
    return {c: [r[i] for r in rows] for i, c in enumerate(COLUMNS)}


def csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def parquet(rows: list[list[float]]) -> bytes:
    import pandas as pd

    buffer = io.BytesIO()
    pd.DataFrame(rows, columns=COLUMNS).to_parquet(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class Case:
    id: str
    body: Any = None  # bytes are sent as they are, anything else as JSON
    content_type: str | None = JSON
    method: str = "POST"
    path: str = "/invocations"


HEADER = ",".join(COLUMNS)
NUMERIC_TEXT = [str(v) for v in ROW]
CASES = [
    # dataframe_split
    Case("split", {"dataframe_split": {"columns": COLUMNS, "data": [ROW, ROW2]}}),
    Case("split_index", {"dataframe_split": {"columns": COLUMNS, "data": [ROW, ROW2], "index": [5, 7]}}),
    Case("split_integers", {"dataframe_split": {"columns": COLUMNS, "data": [[5, 3, 1, 0]]}}),
    Case("split_booleans", {"dataframe_split": {"columns": COLUMNS, "data": [[True, 3.5, 1.4, 0.2]]}}),
    Case("split_extra_column", {"dataframe_split": {"columns": [*COLUMNS, "x"], "data": [[*ROW, 1]]}}),
    Case("split_numeric_text", {"dataframe_split": {"columns": COLUMNS, "data": [NUMERIC_TEXT]}}),
    Case("split_integer_text", {"dataframe_split": {"columns": COLUMNS, "data": [["5", "3", "1", "0"]]}}),
    Case("split_wrong_type", {"dataframe_split": {"columns": COLUMNS, "data": [["big", 3.5, 1.4, 0.2]]}}),
    Case("split_nested_value", {"dataframe_split": {"columns": COLUMNS, "data": [[[1.0], 3.5, 1.4, 0.2]]}}),
    Case("split_null", {"dataframe_split": {"columns": COLUMNS, "data": [[None, 3.5, 1.4, 0.2]]}}),
    Case("split_no_columns", {"dataframe_split": {"data": [ROW, ROW2]}}),
    Case("split_missing_column", {"dataframe_split": {"columns": COLUMNS[:3], "data": [ROW[:3]]}}),
    Case("split_ragged", {"dataframe_split": {"columns": COLUMNS, "data": [ROW, [1.0]]}}),
    Case("split_empty", {"dataframe_split": {"columns": COLUMNS, "data": []}}),
    Case("split_unknown_key", {"dataframe_split": {"columns": COLUMNS, "data": [ROW], "foo": 1}}),
    Case("split_is_list", {"dataframe_split": [ROW]}),
    Case("split_columns_not_list", {"dataframe_split": {"columns": "abc", "data": [ROW]}}),
    Case("split_data_not_list", {"dataframe_split": {"columns": COLUMNS, "data": 5}}),
    # dataframe_records
    Case("records", {"dataframe_records": [record(ROW), record(ROW2)]}),
    Case("records_numeric_text", {"dataframe_records": [record(NUMERIC_TEXT)]}),
    Case("records_booleans", {"dataframe_records": [record([True, 3.5, 1.4, 0.2])]}),
    Case("records_wrong_type", {"dataframe_records": [record(["big", 3.5, 1.4, 0.2])]}),
    Case("records_rows_without_names", {"dataframe_records": [ROW]}),
    Case("records_scalars", {"dataframe_records": [1, 2]}),
    Case("records_empty", {"dataframe_records": []}),
    Case("records_is_object", {"dataframe_records": record(ROW)}),
    # instances
    Case("instances_records", {"instances": [record(ROW), record(ROW2)]}),
    Case("instances_columns", {"instances": columns(ROW)}),
    Case("instances_numeric_text", {"instances": [record(NUMERIC_TEXT)]}),
    Case("instances_wrong_type", {"instances": [record(["big", 3.5, 1.4, 0.2])]}),
    Case("instances_rows_without_names", {"instances": [ROW, ROW2]}),
    Case("instances_empty", {"instances": []}),
    Case("instances_scalar", {"instances": 5}),
    Case("instances_string", {"instances": "hello"}),
    # inputs
    Case("inputs_columns", {"inputs": columns(ROW, ROW2)}),
    Case("inputs_record", {"inputs": record(ROW)}),
    Case("inputs_records", {"inputs": [record(ROW), record(ROW2)]}),
    Case("inputs_numeric_text", {"inputs": columns(NUMERIC_TEXT)}),
    Case("inputs_wrong_type", {"inputs": columns(["big", 3.5, 1.4, 0.2])}),
    Case("inputs_rows_without_names", {"inputs": [ROW, ROW2]}),
    Case("inputs_flat_row", {"inputs": ROW}),
    Case("inputs_empty", {"inputs": []}),
    Case("inputs_missing_column", {"inputs": {c: [v] for c, v in list(zip(COLUMNS, ROW, strict=True))[:3]}}),
    Case("inputs_ragged_columns", {"inputs": {**columns(ROW), COLUMNS[0]: [1.0, 2.0]}}),
    Case("inputs_scalar", {"inputs": 5}),
    Case("inputs_null", {"inputs": None}),
    Case("inputs_boolean", {"inputs": True}),
    Case("inputs_numeric_text_scalar", {"inputs": "5"}),
    Case("inputs_string", {"inputs": "hello"}),
    # params (the signature declares threshold: double = 0.5)
    Case("params", {"dataframe_split": {"columns": COLUMNS, "data": [ROW]}, "params": {"threshold": 0.7}}),
    Case("params_integer", {"inputs": [record(ROW)], "params": {"threshold": 1}}),
    Case("params_null", {"inputs": [record(ROW)], "params": None}),
    Case("params_wrong_type", {"inputs": [record(ROW)], "params": {"threshold": "x"}}),
    Case("params_boolean", {"inputs": [record(ROW)], "params": {"threshold": True}}),
    Case("params_list", {"inputs": [record(ROW)], "params": {"threshold": [1.0]}}),
    Case("params_not_object", {"inputs": [record(ROW)], "params": [1]}),
    Case("params_unknown", {"inputs": [record(ROW)], "params": {"nope": 1}}),
    Case("params_without_data", {"params": {"threshold": 0.7}}),
    # the body's keys
    Case("unknown_key", {"rows": [ROW]}),
    Case("unknown_key_beside_format", {"inputs": [record(ROW)], "foo": 1}),
    Case("two_formats", {"inputs": [record(ROW)], "instances": [record(ROW)]}),
    Case("empty_object", {}),
    Case("list_body", [ROW]),
    Case("number_body", 5),
    Case("bad_json", b"{not json"),
    Case("empty_body", b""),
    Case("invalid_utf8", b'{"inputs": "\xff"}'),
    # CSV and Parquet
    Case("csv", csv(HEADER, ",".join(map(str, ROW)), ",".join(map(str, ROW2))), "text/csv"),
    Case("csv_charset", csv(HEADER, ",".join(map(str, ROW))), "text/csv; charset=utf-8"),
    Case("csv_quoted_numbers", csv(HEADER, ",".join(f'"{v}"' for v in ROW)), "text/csv"),
    Case("csv_wrong_type", csv(HEADER, "big,1,2,3"), "text/csv"),
    Case("csv_missing_value", csv(HEADER, ",3.5,1.4,0.2"), "text/csv"),
    Case("csv_other_columns", csv("a,b", "1,2"), "text/csv"),
    Case("csv_empty", b"", "text/csv"),
    Case("parquet", parquet([ROW, ROW2]), "application/vnd.apache.parquet"),
    Case("parquet_x_parquet", parquet([ROW]), "application/x-parquet"),
    Case("parquet_broken", b"nope", "application/vnd.apache.parquet"),
    # content types
    Case("no_content_type", json.dumps({"inputs": [record(ROW)]}).encode(), None),
    Case("text_plain", b"hi", "text/plain"),
    Case("xml", b"<x/>", "application/xml"),
    Case("latin1_charset", {"inputs": [record(ROW)]}, "application/json; charset=latin-1"),
    Case("format_parameter", {"inputs": [record(ROW)]}, "application/json; format=pandas-split"),
    Case("upper_case_json", {"inputs": [record(ROW)]}, "Application/JSON"),
    Case("json_suffix", {"inputs": [record(ROW)]}, "application/problem+json"),
    # probes and routing
    Case("ping", method="GET", path="/ping", content_type=None),
    Case("health", method="GET", path="/health", content_type=None),
    Case("version", method="GET", path="/version", content_type=None),
    Case("metrics", method="GET", path="/metrics", content_type=None),
    Case("unknown_path", method="GET", path="/nope", content_type=None),
    Case("get_invocations", method="GET", path="/invocations", content_type=None),
    Case("post_ping", method="POST", path="/ping", content_type=None),
]


def documented_differences() -> dict[str, tuple[str, str]]:
    """{case id: (MLflow's answer, trackflow's answer)} from the rows
    ``| `case` | MLflow | trackflow | why |`` of the "Scoring server" section."""
    text = DIFFERENCES.read_text()
    assert SECTION in text, f"{DIFFERENCES} has no {SECTION!r} section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    out: dict[str, tuple[str, str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`"):
            out[cells[0].strip("`")] = (cells[1], cells[2])
    return out


def answer(response: requests.Response) -> tuple[str, Any]:
    """``("<status> <kind>", value)``: the kind of body, and what must match in it."""
    status = response.status_code
    try:
        document = response.json()
    except ValueError:
        document = None
    if isinstance(document, dict) and "predictions" in document:
        return f"{status} predictions", document["predictions"]
    if isinstance(document, dict) and "error_code" in document:
        return f"{status} {document['error_code']}", None
    if isinstance(document, dict) and set(document) == {"detail"}:
        return f"{status} detail", None
    media_type = response.headers.get("content-type", "").split(";")[0]
    return f"{status} {media_type}", response.text if status == 200 else None


def send(base_url: str, case: Case) -> requests.Response:
    body = case.body if isinstance(case.body, bytes) or case.body is None else json.dumps(case.body).encode()
    headers = {"Content-Type": case.content_type} if case.content_type else {}
    return requests.request(case.method, base_url + case.path, data=body, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The iris model saved by MLflow 3.17.2, and what the script printed about it."""
    workdir = tmp_path_factory.mktemp("scoring-diff")
    model_dir = workdir / "iris"
    printed = run_peer_script(SCRIPT, f"sqlite:///{workdir / 'unused.db'}", str(model_dir), cwd=workdir)
    return model_dir, printed


@pytest.fixture(scope="module")
def servers(saved_model: tuple[Path, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(MLflow's scoring server, trackflow's), both serving the saved model."""
    model_dir = str(saved_model[0])
    workdir = tmp_path_factory.mktemp("scoring-servers")
    theirs, ours = free_port(), free_port()
    with (
        serving(mlflow_serve_command(model_dir, theirs), mlflow_serve_env(), workdir / "mlflow.log", theirs,
                "mlflow models serve") as mlflow_url,
        serving(trackflow_serve_command(model_dir, ours), trackflow_serve_env(workdir / "home"),
                workdir / "trackflow.log", ours, "trackflow models serve") as trackflow_url,
    ):
        yield mlflow_url, trackflow_url


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_same_answer_as_mlflow(servers: tuple[PeerURL, PeerURL], case: Case) -> None:
    mlflow_url, trackflow_url = servers
    their_response, our_response = send(mlflow_url, case), send(trackflow_url, case)
    theirs, ours = answer(their_response), answer(our_response)
    assert our_response.status_code < 500, f"trackflow answered {our_response.status_code}: {our_response.text}"
    if our_response.status_code >= 400 and our_response.headers.get("content-type", "").startswith(JSON):
        document = our_response.json()
        message = document.get("message") or document.get("detail")
        assert isinstance(message, str) and message, f"an error without a message: {document}"
    documented = documented_differences().get(case.id)
    if documented is None:
        assert ours == theirs, (
            f"trackflow answers {ours}, MLflow {theirs} (MLflow said: {their_response.text[:500]!r}); "
            f"fix trackflow or document the difference in {DIFFERENCES.name} ({SECTION})"
        )
    else:
        assert ours != theirs, f"documented difference no longer happens: both answer {ours}; remove the row"
        assert (theirs[0], ours[0]) == documented, (
            f"documented as MLflow {documented[0]!r} / trackflow {documented[1]!r}, "
            f"but MLflow answers {theirs[0]!r} and trackflow {ours[0]!r}"
        )


def test_every_iris_row_scores_as_mlflow_predicts(
    servers: tuple[PeerURL, PeerURL], saved_model: tuple[Path, dict[str, Any]]
) -> None:
    """All 150 rows through trackflow's numpy fast path (numeric dataframe_split in signature
    order) and through records: the same labels MLflow's model predicted in its own process."""
    from sklearn.datasets import load_iris

    printed = saved_model[1]
    rows = load_iris(as_frame=True).data[printed["columns"]].to_numpy().tolist()
    bodies = [
        {"dataframe_split": {"columns": printed["columns"], "data": rows}},
        {"dataframe_records": [dict(zip(printed["columns"], r, strict=True)) for r in rows]},
    ]
    for base_url in servers:
        for body in bodies:
            response = requests.post(f"{base_url}/invocations", json=body, timeout=60)
            assert response.status_code == 200, response.text
            assert response.json() == {"predictions": printed["predictions"]}


def test_documented_differences_name_cases() -> None:
    documented = documented_differences()
    assert documented, f"{DIFFERENCES.name} has no rows in {SECTION!r}"
    unknown = set(documented) - {c.id for c in CASES}
    assert not unknown, f"rows for cases that do not exist: {sorted(unknown)}"
