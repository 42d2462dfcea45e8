"""MLflow's basic-auth app against trackflow --auth: the same calls (users made, experiment and
registered-model permissions granted and revoked, a user lacking a permission refused with 403 and
one holding it let through) on a real ``mlflow server --app-name basic-auth`` and on a trackflow
server with auth on, compared call by call: status, error_code, and the body (normalised:
timestamps; an error's message and MLflow's sqlstate/error_class are not compared). A difference
fails unless docs/mlflow-differences.md's "MLflow basic-auth app" table lists it. Then MLflow's
own AuthServiceClient (``mlflow.server.get_app_client("basic-auth")``) runs against trackflow."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from scenarios import Outcome, compare, documented_differences

from peers import ROOT, clean_env, mlflow_peer_bin, start_mlflow_auth_server
from servers import ThreadServer
from trackflow.config import Settings
from trackflow.server.app import create_app

ADMIN, ADMIN_PASSWORD = "admin", "admin-password-1"
ALICE, BOB = ("alice", "alice-password-1"), ("bob", "bob-password-1")
SECTION = "MLflow basic-auth app"
SCENARIO = "permissions"
V2, V3 = "/api/2.0/mlflow", "/api/3.0/mlflow"
TIMESTAMPS = {"creation_time", "last_update_time", "creation_timestamp", "last_updated_timestamp"}

# (label, who, method, path, JSON body or query, compare the body?)
CALLS: list[tuple[str, str | None, str, str, dict[str, Any], bool]] = [
    ("create alice", ADMIN, "POST", f"{V2}/users/create", {"username": ALICE[0], "password": ALICE[1]}, True),
    ("create alice again", ADMIN, "POST", f"{V2}/users/create", {"username": ALICE[0], "password": ALICE[1]}, True),
    ("create bob", ADMIN, "POST", f"{V2}/users/create", {"username": BOB[0], "password": BOB[1]}, True),
    ("create without password", ADMIN, "POST", f"{V2}/users/create", {"username": "carol"}, True),
    ("alice creates a user", ALICE[0], "POST", f"{V2}/users/create", {"username": "eve", "password": "eve-pass-1"},
     True),
    ("get alice", ADMIN, "GET", f"{V2}/users/get", {"username": ALICE[0]}, True),
    ("alice gets herself", ALICE[0], "GET", f"{V2}/users/get", {"username": ALICE[0]}, True),
    ("alice gets bob", ALICE[0], "GET", f"{V2}/users/get", {"username": BOB[0]}, True),
    ("get nobody", ADMIN, "GET", f"{V2}/users/get", {"username": "nobody"}, True),
    ("alice creates an experiment", ALICE[0], "POST", f"{V2}/experiments/create", {"name": "alices"}, True),
    ("bob reads it", BOB[0], "GET", f"{V2}/experiments/get", {"experiment_id": "1"}, False),
    ("bob cannot log to it", BOB[0], "POST", f"{V2}/runs/create", {"experiment_id": "1"}, True),
    ("bob cannot rename it", BOB[0], "POST", f"{V2}/experiments/update", {"experiment_id": "1", "new_name": "x"},
     True),
    ("alice's level", ADMIN, "GET", f"{V3}/users/permissions/get",
     {"username": ALICE[0], "resource_type": "experiment", "resource_id": "1"}, True),
    ("bob's default level", ADMIN, "GET", f"{V3}/users/permissions/get",
     {"username": BOB[0], "resource_type": "experiment", "resource_id": "1"}, True),
    ("alice asks bob's level", ALICE[0], "GET", f"{V3}/users/permissions/get",
     {"username": BOB[0], "resource_type": "experiment", "resource_id": "1"}, True),
    ("bob grants himself", BOB[0], "POST", f"{V3}/users/permissions/grant",
     {"username": BOB[0], "resource_type": "experiment", "resource_id": "1", "permission": "EDIT"}, True),
    ("alice grants bob EDIT", ALICE[0], "POST", f"{V3}/users/permissions/grant",
     {"username": BOB[0], "resource_type": "experiment", "resource_id": "1", "permission": "EDIT"}, True),
    ("grant a bogus level", ALICE[0], "POST", f"{V3}/users/permissions/grant",
     {"username": BOB[0], "resource_type": "experiment", "resource_id": "1", "permission": "BOGUS"}, True),
    ("grant to nobody", ALICE[0], "POST", f"{V3}/users/permissions/grant",
     {"username": "nobody", "resource_type": "experiment", "resource_id": "1", "permission": "READ"}, True),
    ("grant on a bogus type", ALICE[0], "POST", f"{V3}/users/permissions/grant",
     {"username": BOB[0], "resource_type": "thing", "resource_id": "1", "permission": "READ"}, True),
    ("bob's granted level", ADMIN, "GET", f"{V3}/users/permissions/get",
     {"username": BOB[0], "resource_type": "experiment", "resource_id": "1"}, True),
    ("bob logs to it", BOB[0], "POST", f"{V2}/runs/create", {"experiment_id": "1"}, False),
    ("bob cannot delete it", BOB[0], "POST", f"{V2}/experiments/delete", {"experiment_id": "1"}, True),
    ("alice revokes bob", ALICE[0], "POST", f"{V3}/users/permissions/revoke",
     {"username": BOB[0], "resource_type": "experiment", "resource_id": "1"}, True),
    ("revoke again", ALICE[0], "POST", f"{V3}/users/permissions/revoke",
     {"username": BOB[0], "resource_type": "experiment", "resource_id": "1"}, True),
    ("bob's level after revoking", ADMIN, "GET", f"{V3}/users/permissions/get",
     {"username": BOB[0], "resource_type": "experiment", "resource_id": "1"}, True),
    ("bob cannot log again", BOB[0], "POST", f"{V2}/runs/create", {"experiment_id": "1"}, True),
    ("alice registers a model", ALICE[0], "POST", f"{V2}/registered-models/create", {"name": "m1"}, False),
    ("bob cannot describe it", BOB[0], "PATCH", f"{V2}/registered-models/update", {"name": "m1", "description": "d"},
     True),
    ("bob reads the model", BOB[0], "GET", f"{V2}/registered-models/get", {"name": "m1"}, False),
    ("alice grants bob MANAGE", ALICE[0], "POST", f"{V3}/users/permissions/grant",
     {"username": BOB[0], "resource_type": "registered_model", "resource_id": "m1", "permission": "MANAGE"}, True),
    ("bob describes it", BOB[0], "PATCH", f"{V2}/registered-models/update", {"name": "m1", "description": "d"}, False),
    ("bob's model level", ADMIN, "GET", f"{V3}/users/permissions/get",
     {"username": BOB[0], "resource_type": "registered_model", "resource_id": "m1"}, True),
    ("MLflow 2 experiment permission", ADMIN, "POST", f"{V2}/experiments/permissions/create",
     {"experiment_id": "1", "username": BOB[0], "permission": "READ"}, True),
    ("alice changes bob's password", ALICE[0], "PATCH", f"{V2}/users/update-password",
     {"username": BOB[0], "password": "new-password-2"}, True),
    ("admin changes bob's password", ADMIN, "PATCH", f"{V2}/users/update-password",
     {"username": BOB[0], "password": "new-password-2"}, True),
    ("alice's own password without the current one", ALICE[0], "PATCH", f"{V2}/users/update-password",
     {"username": ALICE[0], "password": "new-password-2"}, True),
    ("alice's own password with a wrong one", ALICE[0], "PATCH", f"{V2}/users/update-password",
     {"username": ALICE[0], "password": "new-password-2", "current_password": "wrong"}, True),
    ("alice makes herself admin", ALICE[0], "PATCH", f"{V2}/users/update-admin",
     {"username": ALICE[0], "is_admin": True}, True),
    ("admin makes alice admin", ADMIN, "PATCH", f"{V2}/users/update-admin", {"username": ALICE[0], "is_admin": True},
     True),
    ("make nobody admin", ADMIN, "PATCH", f"{V2}/users/update-admin", {"username": "nobody", "is_admin": True}, True),
    ("alice is admin", ADMIN, "GET", f"{V2}/users/get", {"username": ALICE[0]}, True),
    ("admin deletes itself", ADMIN, "DELETE", f"{V2}/users/delete", {"username": ADMIN}, True),
    ("delete nobody", ADMIN, "DELETE", f"{V2}/users/delete", {"username": "nobody"}, True),
    ("delete bob", ADMIN, "DELETE", f"{V2}/users/delete", {"username": BOB[0]}, True),
    ("bob is gone", ADMIN, "GET", f"{V2}/users/get", {"username": BOB[0]}, True),
    ("anonymous", None, "GET", f"{V2}/experiments/get", {"experiment_id": "1"}, True),
]
PASSWORDS = {ADMIN: ADMIN_PASSWORD, ALICE[0]: ALICE[1], BOB[0]: BOB[1]}


def normalised(answer: requests.Response, with_body: bool) -> Outcome:
    try:
        body: Any = answer.json()
    except ValueError:
        body = answer.text
    if isinstance(body, dict) and "error_code" in body:
        return Outcome(answer.status_code, body["error_code"], None)  # messages are worded differently
    if answer.status_code == 401:
        return Outcome(401, None, None)  # the body differs: docs/mlflow-differences.md
    if not with_body:
        return Outcome(answer.status_code, None, None)

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: "<ts>" if k in TIMESTAMPS else clean(v) for k, v in value.items()}
        return [clean(v) for v in value] if isinstance(value, list) else value

    return Outcome(answer.status_code, None, clean(body))


def run(url: str) -> list[tuple[str, Outcome]]:
    outcomes = []
    for label, who, method, path, payload, with_body in CALLS:
        auth = (who, PASSWORDS[who]) if who else None
        reads = method == "GET"
        answer = requests.request(method, url + path, params=payload if reads else None,
                                  json=None if reads else payload, auth=auth, timeout=60)
        outcomes.append((label, normalised(answer, with_body)))
    return outcomes


@pytest.fixture(scope="module")
def trackflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    app = create_app(Settings(home=str(tmp_path_factory.mktemp("tf-auth")), auth=True))
    app.state.services.accounts.create_user(ADMIN, ADMIN_PASSWORD, True, datetime.now(UTC))
    with ThreadServer(app) as server:
        yield server.url
    app.state.services.db.dispose()


def test_permissions_answer_as_mlflow_basic_auth(trackflow_server: str, tmp_path: Path) -> None:
    documented = documented_differences((ROOT / "docs" / "mlflow-differences.md").read_text(), SECTION)
    assert {label for _, label in documented} <= {c[0] for c in CALLS}, "a row names no call of the scenario"
    with start_mlflow_auth_server(tmp_path / "mlflow", ADMIN, ADMIN_PASSWORD) as mlflow_url:
        expected = run(mlflow_url)
    actual = run(trackflow_server)
    assert [o.status for _, o in expected][:3] == [200, 400, 200]  # the oracle really ran the scenario
    problems = compare(SCENARIO, expected, actual, documented)
    assert not problems, "\n".join(problems)


def test_mlflow_auth_service_client_works_against_trackflow(trackflow_server: str, tmp_path: Path) -> None:
    script = Path(__file__).parent / "flows" / "auth_client.py"
    result = subprocess.run([str(mlflow_peer_bin("python")), str(script)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300,
                            env=clean_env(MLFLOW_TRACKING_URI=trackflow_server, MLFLOW_TRACKING_USERNAME=ADMIN,
                                          MLFLOW_TRACKING_PASSWORD=ADMIN_PASSWORD))
    assert result.returncode == 0, result.stderr[-4000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"user": ["dana", False], "admin_after_update": True, "grant": [True, "EDIT"],
                    "after_revoke": [False, "READ"], "dana_denied": "403", "deleted": "404"}, seen
