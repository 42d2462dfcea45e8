"""Helpers for the LoggedModel differential tests: raw HTTP calls against a server, answers
normalised (ids, timestamps, generated names) so that MLflow's and trackflow's can be compared
field by field, and running one peer script against both servers."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import requests

from peers import run_peer_script

FLOWS = Path(__file__).parent / "flows"
API = "/api/2.0/mlflow"

_MODEL_ID = re.compile(r"m-[0-9a-f]{32}")
_RUN_ID = re.compile(r"\b[0-9a-f]{32}\b")
_EXPERIMENT_IN_URI = re.compile(r"mlflow-artifacts:/\d+/")
_GENERATED_NAME = re.compile(r"^[a-z]+-[a-z]+-\d+$")
_TIMESTAMP_KEYS = {"creation_timestamp_ms", "last_updated_timestamp_ms", "timestamp", "start_time", "end_time"}
_TIMESTAMP_KEYS |= {"creation_timestamp", "last_updated_timestamp"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class Api:
    """Calls one server's MLflow REST API and normalises what it answers.

    Model and run ids become ``<model:N>`` / ``<run:N>`` numbered in order of first appearance,
    so the same scenario on two servers yields the same placeholders and relations between ids
    (this version's run is that model's run) stay visible."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.ids: dict[str, str] = {}

    def raw(self, method: str, path: str, body: Any = None, params: Any = None, prefix: str = API) -> Any:
        return self.session.request(method, f"{self.base_url}{prefix}{path}", json=body, params=params, timeout=120)

    def call(self, method: str, path: str, body: Any = None, params: Any = None, prefix: str = API) -> Any:
        """``(status, normalised JSON)``; errors reduce to ``(status, error_code)``."""
        response = self.raw(method, path, body, params, prefix)
        try:
            payload = response.json()
        except ValueError:
            return response.status_code, response.text
        if response.status_code >= 400:
            return response.status_code, payload.get("error_code") if isinstance(payload, dict) else payload
        return response.status_code, self.normalise(payload)

    def ok(self, method: str, path: str, body: Any = None, params: Any = None) -> Any:
        """The raw JSON of a call that must succeed (for ids needed by later calls)."""
        response = self.raw(method, path, body, params)
        assert response.status_code == 200, (self.base_url, path, response.status_code, response.text)
        return response.json()

    def placeholder(self, kind: str, value: str) -> str:
        if value not in self.ids:
            self.ids[value] = f"<{kind}:{sum(1 for v in self.ids.values() if v.startswith(f'<{kind}:'))}>"
        return self.ids[value]

    def normalise(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: self.normalise(v, k) for k, v in sorted(value.items())}
        if isinstance(value, list):
            items = [self.normalise(v, key) for v in value]
            if items and all(isinstance(i, dict) and "key" in i for i in items):
                items.sort(key=lambda i: (str(i["key"]), str(i.get("step")), str(i.get("dataset_name"))))
            return items
        if key in _TIMESTAMP_KEYS and isinstance(value, int | str):
            return "<ts>"
        if key == "experiment_id":
            return "<exp>"
        if key == "next_page_token":
            return "<token>"
        if isinstance(value, str):
            if key == "name" and _GENERATED_NAME.match(value):
                return "<generated>"
            value = _MODEL_ID.sub(lambda m: self.placeholder("model", m.group()), value)
            value = _RUN_ID.sub(lambda m: self.placeholder("run", m.group()), value)
            return _EXPERIMENT_IN_URI.sub("mlflow-artifacts:/<exp>/", value)
        return value

    # Set-up calls shared by the scenarios --------------------------------------------------
    def experiment(self) -> str:
        return self.ok("POST", "/experiments/create", {"name": unique("lm")})["experiment_id"]

    def run(self, experiment_id: str) -> str:
        return self.ok("POST", "/runs/create", {"experiment_id": experiment_id})["run"]["info"]["run_id"]

    def model(self, experiment_id: str, **fields: Any) -> str:
        body = {"experiment_id": experiment_id, **fields}
        return self.ok("POST", "/logged-models", body)["model"]["info"]["model_id"]

    def upload(self, artifact_uri: str, path: str, content: bytes) -> None:
        relative = artifact_uri.removeprefix("mlflow-artifacts:/").strip("/")
        url = f"{self.base_url}/api/2.0/mlflow-artifacts/artifacts/{relative}/{path}"
        assert self.session.put(url, data=content, timeout=60).status_code == 200


def run_flow(script: str, mlflow_url: str, trackflow_url: str, tmp_path: Path, *args: str) -> tuple[Any, Any]:
    """The JSON outcome of ``flows/<script>`` (unchanged user code) against MLflow, then trackflow."""
    outcomes = []
    for which, url in (("mlflow", mlflow_url), ("trackflow", trackflow_url)):
        workdir = tmp_path / which
        workdir.mkdir()
        outcomes.append(run_peer_script(FLOWS / script, url, *args, cwd=workdir))
    return outcomes[0], outcomes[1]
