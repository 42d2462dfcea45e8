"""A library of MLflow REST API scenarios, run against the real MLflow server and against trackflow.

A scenario is a named sequence of HTTP calls. Paths, query parameters and bodies may hold
placeholders, ``{name}``, filled from values saved by earlier calls of the same scenario
(``save={"run": "run.info.run_id"}``) or ``{u}``, a suffix unique to one execution, so that
names never collide on servers shared by the session.

Running a scenario yields one ``Outcome`` per call: the status code, MLflow's ``error_code``
for an error, and the response body normalised so two servers can be compared:

- run ids, experiment ids, uuids and the unique suffix become numbered placeholders
  (``<run:0>``), in order of first appearance, so relations between ids stay visible;
- timestamps become ``<ts:int>`` (their type is kept), page tokens ``<token>``;
- fields that are null, ``""``, ``[]`` or ``{}`` are dropped: MLflow writes protobuf JSON, which
  leaves unset fields out, and its client reads an absent field and an empty one alike;
- lists of ``{"key": ..., "value": ...}`` are sorted by key (tag order carries no meaning).

``Call.compare`` says how much of a successful body must match: ``"values"`` (the default) the
normalised body, ``"shape"`` only its keys and value types (for answers that hold things the
two servers name differently, such as generated run names), ``"status"`` nothing.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import requests

API = "/api/2.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts"


@dataclass(frozen=True)
class Call:
    label: str
    method: str
    path: str
    body: Any = None
    params: dict[str, Any] | None = None
    prefix: str = API
    save: dict[str, str] = field(default_factory=dict)
    compare: str = "values"
    data: bytes | None = None  # a raw request body (artifact uploads) instead of JSON
    raw_json: str | None = None  # a JSON text sent as is (malformed bodies)


@dataclass(frozen=True)
class Scenario:
    name: str
    calls: tuple[Call, ...]


@dataclass(frozen=True)
class Outcome:
    status: int
    error_code: str | None
    body: Any

    def summary(self) -> str:
        """``"404 RESOURCE_DOES_NOT_EXIST"`` or ``"200"``: the form docs/mlflow-differences.md uses."""
        return f"{self.status} {self.error_code}" if self.error_code else str(self.status)


def call(label: str, method: str, path: str, body: Any = None, **options: Any) -> Call:
    return Call(label, method, path, body, **options)


def post(label: str, path: str, body: Any = None, **options: Any) -> Call:
    return Call(label, "POST", path, body, **options)


def get(label: str, path: str, params: dict[str, Any] | None = None, **options: Any) -> Call:
    return Call(label, "GET", path, params=params, **options)


def patch(label: str, path: str, body: Any = None, **options: Any) -> Call:
    return Call(label, "PATCH", path, body, **options)


def delete(label: str, path: str, body: Any = None, **options: Any) -> Call:
    return Call(label, "DELETE", path, body, **options)


def scenario(name: str, *calls: Call | Iterable[Call]) -> Scenario:
    flat: list[Call] = []
    for item in calls:
        flat.extend([item] if isinstance(item, Call) else item)
    labels = [c.label for c in flat]
    duplicates = {label for label in labels if labels.count(label) > 1}
    assert not duplicates, f"scenario {name}: duplicate call labels {duplicates}"
    return Scenario(name, tuple(flat))


# Normalisation ---------------------------------------------------------------------------
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_RUN_ID = re.compile(r"(?<![0-9a-f-])[0-9a-f]{32}(?![0-9a-f])")
_EXPERIMENT_IN_URI = re.compile(r"(mlflow-artifacts:/)(\d+)(?=/|$)")
_GENERATED_NAME = re.compile(r"^[a-z]+-[a-z]+-\d+$")
_TIMESTAMP_KEYS = {
    "creation_time",
    "last_update_time",
    "start_time",
    "end_time",
    "timestamp",
    "creation_timestamp",
    "last_updated_timestamp",
}
_EMPTY: tuple[Any, ...] = (None, "", [], {})


class Normaliser:
    """Turns one server's answers into comparable values; one per scenario execution."""

    def __init__(self, unique: str) -> None:
        self.unique = unique
        self.ids: dict[str, str] = {}

    def placeholder(self, kind: str, value: str) -> str:
        token = f"{kind}:{value}"
        if token not in self.ids:
            count = sum(1 for t in self.ids if t.startswith(f"{kind}:"))
            self.ids[token] = f"<{kind}:{count}>"
        return self.ids[token]

    def __call__(self, value: Any, key: str = "", shape_only: bool = False) -> Any:
        if isinstance(value, dict):
            items = ((k, self(v, k, shape_only)) for k, v in sorted(value.items()))
            return {k: v for k, v in items if not any(v == e and type(v) is type(e) for e in _EMPTY)}
        if isinstance(value, list):
            items = [self(v, key, shape_only) for v in value]
            if items and all(isinstance(i, dict) and "key" in i for i in items):
                items.sort(key=lambda i: str(i["key"]))
            return items
        if shape_only:
            return f"<{type(value).__name__}>"
        if key in _TIMESTAMP_KEYS:
            return f"<ts:{type(value).__name__}>"
        if key == "next_page_token":
            return "<token>"
        if key in ("experiment_id", "experiment_ids") and isinstance(value, str | int):
            return self.placeholder("exp", str(value))
        if isinstance(value, str):
            # the scenario's own names first: a suffix of digits only would look generated
            value = value.replace(self.unique, "<u>")
            if key in ("run_name", "name", "value") and _GENERATED_NAME.match(value):
                return "<generated>"
            value = _UUID.sub(lambda m: self.placeholder("uuid", m.group()), value)
            value = _RUN_ID.sub(lambda m: self.placeholder("run", m.group()), value)
            return _EXPERIMENT_IN_URI.sub(lambda m: m.group(1) + self.placeholder("exp", m.group(2)), value)
        return value


# Running ---------------------------------------------------------------------------------
def _lookup(document: Any, path: str) -> Any:
    for part in path.split("."):
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document


class Runner:
    """Runs scenarios against one server."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()

    def run(self, scenario: Scenario) -> list[tuple[str, Outcome]]:
        unique = uuid.uuid4().hex[:10]
        saved: dict[str, str] = {"u": unique}
        normalise = Normaliser(unique)
        return [(c.label, self._call(c, saved, normalise)) for c in scenario.calls]

    def _fill(self, value: Any, saved: dict[str, str]) -> Any:
        if isinstance(value, str):
            return _PLACEHOLDER.sub(lambda m: saved.get(m.group(1), f"missing-{m.group(1)}"), value)
        if isinstance(value, dict):
            return {k: self._fill(v, saved) for k, v in value.items()}
        if isinstance(value, list):
            return [self._fill(v, saved) for v in value]
        return value

    def _call(self, c: Call, saved: dict[str, str], normalise: Normaliser) -> Outcome:
        url = f"{self.base_url}{c.prefix}/{self._fill(c.path, saved).lstrip('/')}".rstrip("/")
        options: dict[str, Any] = {"params": self._fill(c.params, saved), "timeout": 60}
        if c.data is not None:
            options["data"] = c.data
        elif c.raw_json is not None:
            options["data"] = self._fill(c.raw_json, saved).encode()
            options["headers"] = {"Content-Type": "application/json"}
        elif c.body is not None:  # as MLflow's client writes it: NaN and Infinity as bare literals
            options["data"] = json.dumps(self._fill(c.body, saved)).encode()
            options["headers"] = {"Content-Type": "application/json"}
        response = self.http.request(c.method, url, **options)
        try:
            payload = response.json()
        except ValueError:
            payload = response.content
        for name, path in c.save.items():
            try:
                saved[name] = str(_lookup(payload, path))
            except (KeyError, IndexError, TypeError, ValueError):
                saved[name] = f"unsaved-{name}"
        if response.status_code >= 400:
            code = payload.get("error_code") if isinstance(payload, dict) else None
            has_message = isinstance(payload, dict) and isinstance(payload.get("message"), str)
            return Outcome(response.status_code, str(code), {"message": has_message})
        if c.compare == "status":
            return Outcome(response.status_code, None, None)
        return Outcome(response.status_code, None, normalise(payload, shape_only=c.compare == "shape"))


# Differences -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Difference:
    """One row of docs/mlflow-differences.md's "MLflow REST API" table."""

    scenario: str
    label: str
    mlflow: str
    trackflow: str
    why: str


def documented_differences(doc_text: str, section: str) -> dict[tuple[str, str], Difference]:
    """The rows of the table under ``## <section>`` (scenario | call | MLflow | trackflow | why)."""
    assert f"## {section}\n" in doc_text, f"docs/mlflow-differences.md has no '## {section}' section"
    body = doc_text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[tuple[str, str], Difference] = {}
    for line in body.splitlines():
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if cells[0] == "scenario":
            continue
        assert len(cells) == 5 and all(cells), f"malformed row in '{section}': {line}"
        difference = Difference(*cells)
        assert (difference.scenario, difference.label) not in rows, f"row listed twice: {line}"
        rows[(difference.scenario, difference.label)] = difference
    return rows


def compare(
    name: str,
    expected: list[tuple[str, Outcome]],
    actual: list[tuple[str, Outcome]],
    documented: dict[tuple[str, str], Difference],
) -> list[str]:
    """Problems: undocumented differences, and documented ones that no longer hold as written."""
    problems = []
    for (label, want), (_, got) in zip(expected, actual, strict=True):
        row = documented.get((name, label))
        if row is None:
            if got != want:
                problems.append(f"{label}:\n    mlflow:    {want}\n    trackflow: {got}")
            continue
        if got == want:
            problems.append(f"{label}: documented as a difference, but trackflow now answers like MLflow")
        elif (want.summary(), got.summary()) != (row.mlflow, row.trackflow):
            problems.append(
                f"{label}: documented as MLflow {row.mlflow!r} / trackflow {row.trackflow!r}, "
                f"but they answer {want.summary()!r} / {got.summary()!r}"
            )
        elif got.status >= 500:
            problems.append(f"{label}: trackflow answers {got.summary()}; bad input never gets a 5xx")
    return problems
