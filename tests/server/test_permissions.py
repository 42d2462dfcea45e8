"""The permission model on a server with auth on: creators own what they make, grants to users
and groups (the highest applies), the default permission, DAG-level access (READ sees and reads
logs, EDIT triggers, clears and pauses, MANAGE grants), grants that follow a renamed model and
go with a deleted one, /api/v1/permissions and /api/v1/groups with their input checked, and the
`trackflow permissions` / `trackflow groups` CLI. (The route-by-route matrix is in test_auth.py,
MLflow's endpoints compared with MLflow's in tests/mlflow_diff/test_auth_permissions.py.)"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from peers import ROOT, clean_env
from trackflow.config import Settings
from trackflow.pipelines.operations import Pipelines
from trackflow.server.app import create_app

DAGS = Path(__file__).resolve().parents[1] / "dags"
ADMIN, ALICE, BOB, CAROL = "root", "alice", "bob", "carol"
PASSWORD = "permission-test-1"
API, MLFLOW = "/api/v1", "/api/2.0/mlflow"


def as_user(name: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()}


@contextmanager
def server(tmp_path: Path, **settings: str) -> Iterator[TestClient]:
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(DAGS / "taskflow_etl.py", dags / "taskflow_etl.py")
    settings_ = Settings(home=str(tmp_path / "home"), dags_folder=str(dags), auth=True, **settings)
    app = create_app(settings_)
    Pipelines(settings_, app.state.services.db).sync_folder()  # what the scheduler does first
    now = datetime.now(UTC)
    for name in (ADMIN, ALICE, BOB, CAROL):
        app.state.services.accounts.create_user(name, PASSWORD, name == ADMIN, now)
    with TestClient(app) as client:
        yield client
    app.state.services.db.dispose()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with server(tmp_path) as made:
        yield made


def test_creators_own_what_they_make_and_others_get_the_default(client: TestClient) -> None:
    alice, bob = as_user(ALICE), as_user(BOB)
    experiment_id = client.post(f"{API}/experiments", json={"name": "alices"}, headers=alice).json()["experiment_id"]
    mine = client.get(f"{API}/permissions/experiment/{experiment_id}/effective", headers=alice).json()
    assert mine == {"username": ALICE, "resource_type": "experiment", "resource_id": experiment_id,
                    "permission": "MANAGE"}
    assert client.get(f"{API}/permissions/experiment/{experiment_id}/effective", headers=bob).json()[
        "permission"] == "READ"  # the default
    assert client.get(f"{API}/experiments/{experiment_id}", headers=bob).status_code == 200
    refused = client.post(f"{API}/runs", json={"experiment_id": experiment_id}, headers=bob)
    assert refused.status_code == 403 and refused.json() == {
        "error_code": "PERMISSION_DENIED", "message": f"user 'bob' needs EDIT on experiment '{experiment_id}'"}
    assert client.post(f"{MLFLOW}/runs/create", json={"experiment_id": experiment_id}, headers=bob).text == \
        "Permission denied"
    # judged by what the route reads: the body over the query (as MLflow's routes merge them), a path's `..` resolved
    bobs = client.post(f"{API}/experiments", json={"name": "bobs"}, headers=bob).json()["experiment_id"]
    assert client.post(f"{MLFLOW}/runs/create", params={"experiment_id": bobs}, json={"experiment_id": experiment_id},
                       headers=bob).status_code == 403
    assert client.post(f"{MLFLOW}/runs/create", params={"experiment_id": experiment_id}, json={"experiment_id": bobs},
                       headers=bob).status_code == 200
    assert client.put(f"/api/2.0/mlflow-artifacts/artifacts/{bobs}/../{experiment_id}/x.txt", content=b"x",
                      headers=bob).status_code in (403, 404)  # (an HTTP client may resolve the .. itself)
    assert client.put(f"/api/2.0/mlflow-artifacts/artifacts/{bobs}/%2E%2E/{experiment_id}/x.txt", content=b"x",
                      headers=bob).status_code == 403
    assert client.put(f"/api/2.0/mlflow-artifacts/artifacts/{bobs}/x.txt", content=b"x", headers=bob).status_code == 200

    # alice (MANAGE) grants bob EDIT: he logs, but cannot delete or grant
    granted = client.put(f"{API}/permissions/experiment/{experiment_id}/user/{BOB}", json={"permission": "EDIT"},
                         headers=alice)
    assert granted.status_code == 200 and granted.json()["permission"] == "EDIT"
    run = client.post(f"{MLFLOW}/runs/create", json={"experiment_id": experiment_id}, headers=bob).json()["run"]
    assert client.post(f"{MLFLOW}/runs/log-metric", json={"run_id": run["info"]["run_id"], "key": "m", "value": 1,
                                                          "timestamp": 0}, headers=bob).status_code == 200
    assert client.delete(f"{API}/experiments/{experiment_id}", headers=bob).status_code == 403
    assert client.put(f"{API}/permissions/experiment/{experiment_id}/user/{CAROL}", json={"permission": "READ"},
                      headers=bob).status_code == 403
    listed = client.get(f"{API}/permissions/experiment/{experiment_id}", headers=alice).json()["permissions"]
    assert [(g["principal"], g["permission"]) for g in listed] == [(ALICE, "MANAGE"), (BOB, "EDIT")]
    assert client.delete(f"{API}/permissions/experiment/{experiment_id}/user/{BOB}", headers=alice).status_code == 200
    assert client.post(f"{MLFLOW}/runs/update", json={"run_id": run["info"]["run_id"], "status": "FINISHED"},
                       headers=bob).status_code == 403
    # a run's own routes are judged by its experiment
    assert client.get(f"{API}/runs/{run['info']['run_id']}", headers=bob).status_code == 200


def test_groups_grant_together_and_the_highest_grant_applies(client: TestClient) -> None:
    admin, alice, bob, carol = as_user(ADMIN), as_user(ALICE), as_user(BOB), as_user(CAROL)
    assert client.post(f"{MLFLOW}/registered-models/create", json={"name": "iris"}, headers=alice).status_code == 200
    assert client.post(f"{API}/groups", json={"name": "ml-team"}, headers=alice).status_code == 403  # admins only
    assert client.post(f"{API}/groups", json={"name": "ml-team"}, headers=admin).json()["members"] == []
    assert client.post(f"{API}/groups", json={"name": "ml-team"}, headers=admin).status_code == 400
    for member in (BOB, CAROL):
        assert client.put(f"{API}/groups/ml-team/members/{member}", headers=admin).status_code == 200
    assert client.get(f"{API}/groups", headers=admin).json()["groups"][0]["members"] == [BOB, CAROL]
    assert client.put(f"{API}/permissions/registered_model/iris/group/ml-team", json={"permission": "EDIT"},
                      headers=alice).status_code == 200
    for user in (bob, carol):
        assert client.patch(f"{MLFLOW}/registered-models/update", json={"name": "iris", "description": "d"},
                            headers=user).status_code == 200
    def level(user: dict[str, str]) -> str:
        return str(client.get(f"{API}/permissions/registered_model/iris/effective", headers=user).json()["permission"])

    # carol's own READ does not lower the group's EDIT; NO_PERMISSIONS for bob neither
    client.put(f"{API}/permissions/registered_model/iris/user/{CAROL}", json={"permission": "READ"}, headers=alice)
    client.put(f"{API}/permissions/registered_model/iris/user/{BOB}", json={"permission": "NO_PERMISSIONS"},
               headers=alice)
    assert (level(carol), level(bob)) == ("EDIT", "EDIT")
    assert client.delete(f"{API}/groups/ml-team/members/{CAROL}", headers=admin).status_code == 200
    assert level(carol) == "READ"
    assert client.patch(f"{MLFLOW}/registered-models/update", json={"name": "iris", "description": "e"},
                        headers=carol).status_code == 403
    assert client.delete(f"{API}/groups/ml-team/members/{CAROL}", headers=admin).status_code == 404
    # a renamed model keeps its grants; a deleted one takes them along
    assert client.post(f"{MLFLOW}/registered-models/rename", json={"name": "iris", "new_name": "iris2"},
                       headers=alice).status_code == 200
    assert client.get(f"{API}/permissions/registered_model/iris2/effective", headers=bob).json()["permission"] == "EDIT"
    assert client.patch(f"{API}/registered-models/iris2", json={"new_name": "iris3"}, headers=bob).status_code == 200
    assert client.get(f"{API}/permissions/registered_model/iris3/effective", headers=bob).json()["permission"] == "EDIT"
    assert client.patch(f"{API}/registered-models/iris3", json={"new_name": "iris2"}, headers=bob).status_code == 200
    assert client.request("DELETE", f"{MLFLOW}/registered-models/delete", json={"name": "iris2"},
                          headers=bob).status_code == 403
    assert client.request("DELETE", f"{MLFLOW}/registered-models/delete", json={"name": "iris2"},
                          headers=alice).status_code == 200
    assert client.get(f"{API}/permissions/registered_model/iris2", headers=admin).json() == {"permissions": []}
    assert client.delete(f"{API}/groups/ml-team", headers=admin).status_code == 200
    assert client.get(f"{API}/permissions", headers=admin).json()["permissions"] == []  # carol's went too


def test_dag_access_read_sees_and_reads_logs_edit_triggers_clears_and_pauses(tmp_path: Path) -> None:
    with server(tmp_path, auth_default_permission="NO_PERMISSIONS") as client:
        admin, alice, bob = as_user(ADMIN), as_user(ALICE), as_user(BOB)
        dag = f"{API}/dags/taskflow_etl"
        assert client.get(dag, headers=admin).status_code == 200
        assert client.get(dag, headers=alice).status_code == 403
        assert client.put(f"{API}/permissions/dag/taskflow_etl/user/{ALICE}", json={"permission": "READ"},
                          headers=admin).status_code == 200
        assert client.get(dag, headers=alice).status_code == 200
        assert client.get(f"{dag}/dagRuns", headers=alice).status_code == 200
        assert client.post(f"{dag}/dagRuns", json={}, headers=alice).status_code == 403
        assert client.patch(dag, json={"is_paused": True}, headers=alice).status_code == 403
        run = client.post(f"{dag}/dagRuns", json={}, headers=admin)
        assert run.status_code == 200, run.text
        run_id = run.json()["run_id"]
        assert client.get(f"{dag}/dagRuns/{run_id}", headers=alice).status_code == 200
        assert client.get(f"{dag}/dagRuns/{run_id}/taskInstances/extract/logs", headers=alice).status_code != 403
        assert client.get(f"{dag}/dagRuns/{run_id}/taskInstances/extract/logs", headers=bob).status_code == 403
        assert client.post(f"{dag}/dagRuns/{run_id}/clear", json={}, headers=alice).status_code == 403
        assert client.put(f"{API}/permissions/dag/taskflow_etl/user/{ALICE}", json={"permission": "EDIT"},
                          headers=alice).status_code == 403  # granting needs MANAGE
        assert client.put(f"{API}/permissions/dag/taskflow_etl/user/{ALICE}", json={"permission": "EDIT"},
                          headers=admin).status_code == 200
        assert client.patch(dag, json={"is_paused": True}, headers=alice).status_code == 200
        cleared = client.post(f"{dag}/dagRuns/{run_id}/clear", json={}, headers=alice)  # queued: nothing to clear
        assert cleared.status_code not in (401, 403) and cleared.json()["error_code"] != "PERMISSION_DENIED"
        assert client.post(f"{dag}/dagRuns", json={}, headers=alice).status_code == 200
        # with NO_PERMISSIONS as the default, bob sees no experiment he was not given
        assert client.get(f"{API}/experiments/0", headers=bob).status_code == 403
        assert client.get(f"{API}/ui/dags/taskflow_etl", headers=bob).status_code == 403
        # lists keep what the caller may read
        made = client.post(f"{MLFLOW}/experiments/create", json={"name": "bobs"}, headers=bob).json()
        client.post(f"{MLFLOW}/registered-models/create", json={"name": "bobs-model"}, headers=bob)
        client.post(f"{MLFLOW}/registered-models/create", json={"name": "admins-model"}, headers=admin)

        def names(path: str, key: str, field: str, user: dict[str, str], body: object = None) -> list[str]:
            answer = client.request("POST" if body is not None else "GET", path, json=body, headers=user)
            assert answer.status_code == 200, answer.text
            return sorted(str(item[field]) for item in answer.json()[key])

        assert names(f"{API}/dags", "dags", "dag_id", bob) == []
        assert names(f"{API}/dags", "dags", "dag_id", alice) == names(f"{API}/ui/dags", "dags", "dag_id", alice) == [
            "taskflow_etl"]
        assert names(f"{MLFLOW}/experiments/search", "experiments", "experiment_id", bob, {"max_results": 10}) == \
            names(f"{API}/ui/experiments", "experiments", "experiment_id", bob) == [made["experiment_id"]]
        everything = names(f"{MLFLOW}/experiments/search", "experiments", "experiment_id", admin, {})
        assert {"0", made["experiment_id"]} < set(everything)  # and the DAG's
        assert names(f"{MLFLOW}/registered-models/search", "registered_models", "name", bob) == \
            names(f"{API}/registered-models/search", "registered_models", "name", bob, {}) == ["bobs-model"]
        assert names(f"{MLFLOW}/registered-models/search", "registered_models", "name", alice) == []
        # and so do the UI's HTML lists
        assert "taskflow_etl" not in client.get("/dags", headers=bob).text
        assert "taskflow_etl" in client.get("/dags", headers=alice).text
        page = client.get("/experiments", headers=bob).text
        assert "bobs" in page and "Default" not in page
        assert "Default" in client.get("/experiments", headers=admin).text
        assert "bobs-model" in client.get("/models", headers=bob).text
        assert "admins-model" not in client.get("/models", headers=bob).text


def test_permission_input_is_checked(client: TestClient) -> None:
    admin = as_user(ADMIN)
    for method, path, body, fragment in (
        ("PUT", f"{API}/permissions/thing/1/user/{BOB}", {"permission": "READ"}, "Invalid resource type"),
        ("PUT", f"{API}/permissions/experiment/0/user/{BOB}", {"permission": "USE"}, "permission"),
        ("PUT", f"{API}/permissions/experiment/0/robot/{BOB}", {"permission": "READ"}, "principal_kind"),
        ("PUT", f"{API}/permissions/experiment/0/user/nobody", {"permission": "READ"}, "nobody"),
        ("PUT", f"{API}/permissions/experiment/0/user/{BOB}", {"permission": "READ", "x": 1}, "x"),
        ("DELETE", f"{API}/permissions/experiment/0/user/{BOB}", None, "no permission"),
        ("POST", f"{API}/groups", {"name": "bad name"}, "invalid group name"),
        ("PUT", f"{API}/groups/nope/members/{BOB}", None, "nope"),
        ("POST", "/api/3.0/mlflow/users/permissions/grant", {"username": BOB, "resource_type": "experiment"},
         "resource_id"),
        ("POST", f"{MLFLOW}/experiments/permissions/create", {"experiment_id": "0", "username": BOB}, "permission"),
        ("GET", f"{MLFLOW}/runs/get", None, "run_id"),
        ("POST", "/api/3.0/mlflow/users/permissions/grant", {"username": BOB, "resource_type": "registered_model",
                                                             "resource_id": "m" * 501, "permission": "READ"}, "500"),
        ("POST", f"{MLFLOW}/experiments/permissions/create", {"experiment_id": {"x": 1}, "username": BOB,
                                                              "permission": "READ"}, "experiment_id"),
    ):
        answer = client.request(method, path, json=body, headers=admin if "groups" in path else as_user(ALICE)
                                if "runs/get" in path else admin)
        assert 400 <= answer.status_code < 500 and answer.status_code not in (401, 403), (path, answer.text)
        assert fragment in answer.json()["message"], (path, answer.text)
    # a non-admin is judged before their request is read: a missing id is a 400, not a 500
    assert client.post(f"{MLFLOW}/runs/create", json={}, headers=as_user(BOB)).status_code == 400
    assert client.post(f"{MLFLOW}/runs/create", content=b"{not json", headers=as_user(BOB)).status_code == 400


def test_the_cli_manages_permissions_and_groups(tmp_path: Path) -> None:
    env = {**clean_env(), "TRACKFLOW_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT / "src")}  # this code

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "trackflow", *args], input=stdin, capture_output=True, text=True,
                              env=env, timeout=60)

    for name in ("bob", "carol"):
        assert cli("users", "create", name, "--password-stdin", stdin=f"{PASSWORD}\n").returncode == 0
    assert cli("groups", "create", "ml-team").returncode == 0
    assert cli("groups", "add-member", "ml-team", "bob").returncode == 0
    assert cli("groups", "add-member", "ml-team", "nobody").returncode == 2
    assert json.loads(cli("groups", "list", "--output", "json").stdout) == [{"name": "ml-team", "members": "bob"}]
    made = cli("permissions", "grant", "dag", "nightly", "--group", "ml-team", "--level", "EDIT")
    assert made.returncode == 0 and "Granted EDIT on dag nightly to group ml-team" in made.stdout
    assert cli("permissions", "grant", "experiment", "3", "--user", "carol", "--level", "MANAGE").returncode == 0
    assert cli("permissions", "grant", "experiment", "3", "--level", "READ").returncode == 2  # nobody named
    assert cli("permissions", "grant", "experiment", "3", "--user", "carol", "--level", "ALL").returncode == 2
    assert cli("permissions", "show", "dag", "nightly", "--user", "bob").stdout.strip() == "EDIT"
    assert cli("permissions", "show", "dag", "nightly", "--user", "carol").stdout.strip() == "READ"  # the default
    listed = json.loads(cli("permissions", "list", "--user", "carol", "--output", "json").stdout)
    assert listed == [{"type": "experiment", "id": "3", "kind": "user", "name": "carol", "permission": "MANAGE"}]
    assert cli("permissions", "revoke", "experiment", "3", "--user", "carol").returncode == 0
    assert cli("permissions", "revoke", "experiment", "3", "--user", "carol").returncode == 2
    assert cli("permissions", "grant", "experiment", "4", "--user", "carol", "--level", "READ").returncode == 0
    assert cli("users", "set-admin", "carol").returncode == 0
    assert cli("permissions", "show", "dag", "nightly", "--user", "carol").stdout.strip() == "MANAGE"  # an admin
    assert cli("users", "set-admin", "carol", "--no-admin").returncode == 0
    assert cli("users", "set-admin", "nobody").returncode == 2
    assert cli("users", "delete", "carol").returncode == 0  # their grants go with them
    assert json.loads(cli("permissions", "list", "--user", "carol", "--output", "json").stdout) == []
    assert cli("groups", "remove-member", "ml-team", "bob").returncode == 0
    assert cli("groups", "delete", "ml-team").returncode == 0
    assert json.loads(cli("permissions", "list", "--output", "json").stdout) == []


def test_with_auth_off_permissions_are_refused_and_everything_is_open(tmp_path: Path) -> None:
    app = create_app(Settings(home=str(tmp_path / "home")))
    with TestClient(app) as client:
        assert client.post(f"{MLFLOW}/experiments/create", json={"name": "open"}).status_code == 200
        off = client.get(f"{API}/permissions")
        assert off.status_code == 400 and "auth is off" in off.json()["message"]
        assert client.post(f"{MLFLOW}/users/create", json={"username": "x", "password": "long-enough-1"}
                           ).status_code == 400
    app.state.services.db.dispose()


def test_the_default_permission_setting_is_checked() -> None:
    from trackflow.config import load_settings
    from trackflow.errors import InvalidInput

    assert load_settings(environ={"TRACKFLOW_AUTH_DEFAULT_PERMISSION": "NO_PERMISSIONS"}).auth_default_permission == \
        "NO_PERMISSIONS"
    assert load_settings(environ={}).auth_default_permission == "READ"
    with pytest.raises(InvalidInput, match="auth_default_permission.*READ, EDIT, MANAGE, NO_PERMISSIONS.*'ALL'"):
        load_settings(environ={"TRACKFLOW_AUTH_DEFAULT_PERMISSION": "ALL"})


def test_trackflow_clients_are_refused_with_a_clear_error(tmp_path: Path) -> None:
    """trackflow's own client (API tokens) on a real server: a READ user's writes are refused as
    PermissionDenied, through /api/v1 (naming the level) and the artifact proxy alike."""
    from servers import ThreadServer
    from trackflow.errors import PermissionDenied
    from trackflow.registry.client import Client

    app = create_app(Settings(home=str(tmp_path / "home"), auth=True))
    now = datetime.now(UTC)
    tokens = {}
    for name in (ALICE, BOB):
        app.state.services.accounts.create_user(name, PASSWORD, False, now)
        tokens[name] = app.state.services.accounts.create_token(name, "tests", now)[1]
    with ThreadServer(app) as running:
        alice, bob = (Client(running.url, settings=Settings(tracking_uri=running.url, tracking_token=tokens[name]))
                      for name in (ALICE, BOB))
        experiment_id = alice.create_experiment("alices")
        run_id = alice.create_run(experiment_id).info.run_id
        alice.log_param(run_id, "p", 1)
        assert bob.get_run(run_id).data.params == {"p": "1"}
        with pytest.raises(PermissionDenied, match=f"user 'bob' needs EDIT on experiment '{experiment_id}'"):
            bob.log_param(run_id, "q", 2)
        artifact = tmp_path / "notes.txt"
        artifact.write_text("hello")
        alice.log_artifact(run_id, artifact)
        with pytest.raises(PermissionDenied):
            bob.log_artifact(run_id, artifact, "bobs")
    app.state.services.db.dispose()
