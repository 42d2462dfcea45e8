"""A team server with auth on: every route but the open ones refuses a request without valid
credentials (a matrix generated from the app's routes, so a new route is covered or fails
here); users (Basic) and API tokens (Bearer) get in; only admins manage users; a revoked
token or a wrong password is refused; the official MLflow client works with
MLFLOW_TRACKING_USERNAME/PASSWORD and with MLFLOW_TRACKING_TOKEN, trackflow's own with
TRACKFLOW_TRACKING_TOKEN and the CLI manages accounts. With auth off nothing changes."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from peers import ROOT, clean_env, mlflow_peer_bin
from servers import ThreadServer
from trackflow.config import Settings
from trackflow.server.app import create_app
from trackflow.server.auth import is_open

SCRIPTS = Path(__file__).parent / "auth_scripts"
ADMIN, ADMIN_PASSWORD = "root", "admin-password-1"
ALICE, ALICE_PASSWORD = "alice", "alice-password-1"
# `python -m trackflow` runs this checkout's code (clean_env drops PYTHONPATH, and the venv's own
# install may be another checkout)
OWN_CODE = {"PYTHONPATH": str(ROOT / "src")}


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


class Team:
    def __init__(self, url: str, settings: Settings, admin_token: str) -> None:
        self.url, self.settings, self.admin_token = url, settings, admin_token


@pytest.fixture
def team(tmp_path: Path) -> Iterator[Team]:
    settings = Settings(home=str(tmp_path / "home"), auth=True)
    app = create_app(settings)
    accounts = app.state.services.accounts
    now = datetime.now(UTC)
    accounts.create_user(ADMIN, ADMIN_PASSWORD, True, now)
    accounts.create_user(ALICE, ALICE_PASSWORD, False, now)
    _, token = accounts.create_token(ADMIN, "tests", now)
    with ThreadServer(app) as server:
        yield Team(server.url, settings, token)
    app.state.services.db.dispose()


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def every_route(routes: list[object], prefix: str = "") -> list[tuple[str, str]]:
    """(method, concrete path) of every route, through included routers (FastAPI keeps those
    as one entry holding the router and its prefix)."""
    out = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            out += every_route(list(included.routes), prefix + route.include_context.prefix)  # type: ignore[attr-defined]
        elif isinstance(route, Mount):
            out.append(("GET", prefix + route.path + "/x"))
        elif isinstance(route, (APIRoute, Route)):
            out += [(method, concrete(prefix + route.path)) for method in sorted(route.methods or {"GET"})]
    return out


def test_every_route_refuses_a_request_without_valid_credentials(team: Team, tmp_path: Path) -> None:
    routes = every_route(create_app(Settings(home=str(tmp_path / "other"), auth=True)).routes)
    assert len(routes) > 150  # the whole API: MLflow's, /api/v1, the task API, the UI
    bad = [{}, basic(ADMIN, "wrong-password"), basic("nobody", ADMIN_PASSWORD), {"Authorization": "Bearer tf_nope"},
           {"Authorization": "Basic not-base64!"}, {"Authorization": "Digest abc"}]
    for method, path in routes:
        expected_open = is_open(path)
        for headers in bad[:1] if expected_open else bad:
            answer = requests.request(method, team.url + path, headers=headers, timeout=30)
            if expected_open:
                assert answer.status_code != 401, (method, path)
                continue
            assert answer.status_code == 401, (method, path, headers, answer.status_code)
            assert answer.headers["WWW-Authenticate"] == 'Basic realm="trackflow"'
            assert method == "HEAD" or answer.json()["error_code"] == "UNAUTHENTICATED"
        if not expected_open and method == "GET":  # with credentials it gets past auth (a 404 for "x" is fine)
            for headers in (basic(ADMIN, ADMIN_PASSWORD), {"Authorization": f"Bearer {team.admin_token}"}):
                assert requests.get(team.url + path, headers=headers, timeout=30).status_code not in (401, 403), path


def test_admins_manage_users_and_each_user_their_tokens(team: Team) -> None:
    api = team.url + "/api/v1"
    admin, alice = basic(ADMIN, ADMIN_PASSWORD), basic(ALICE, ALICE_PASSWORD)
    assert requests.get(f"{api}/users/me", headers=alice, timeout=30).json()["username"] == ALICE
    denied = requests.get(f"{api}/users", headers=alice, timeout=30)
    assert denied.status_code == 403 and denied.json()["error_code"] == "PERMISSION_DENIED"
    assert requests.post(f"{api}/users", json={"username": "bob", "password": "bob-password-1"}, headers=alice,
                         timeout=30).status_code == 403
    made = requests.post(f"{api}/users", json={"username": "bob", "password": "bob-password-1"}, headers=admin,
                         timeout=30)
    assert made.status_code == 200 and made.json() == {**made.json(), "username": "bob", "is_admin": False}
    again = requests.post(f"{api}/users", json={"username": "bob", "password": "bob-password-1"}, headers=admin,
                          timeout=30)
    assert again.status_code == 400 and again.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    for body in ({"username": "bad name", "password": "long-enough-1"}, {"username": "carol", "password": "short"},
                 {"username": "carol", "password": "long-enough-1", "role": "x"}):
        assert requests.post(f"{api}/users", json=body, headers=admin, timeout=30).status_code == 400, body
    assert [u["username"] for u in requests.get(f"{api}/users", headers=admin, timeout=30).json()["users"]] == \
        [ALICE, "bob", ADMIN]

    # alice makes a token, uses it, sees only her tokens, cannot revoke the admin's, revokes hers
    made = requests.post(f"{api}/tokens", json={"name": "ci"}, headers=alice, timeout=30).json()
    bearer = {"Authorization": f"Bearer {made['token']}"}
    assert requests.get(f"{api}/users/me", headers=bearer, timeout=30).json()["username"] == ALICE
    listed = requests.get(f"{api}/tokens", headers=alice, timeout=30).json()["tokens"]
    assert [t["name"] for t in listed] == ["ci"] and "token" not in listed[0]
    assert requests.post(f"{api}/tokens", json={"name": "x", "username": ADMIN}, headers=alice,
                         timeout=30).status_code == 403
    admin_token_id = requests.get(f"{api}/tokens?username={ADMIN}", headers=admin, timeout=30).json()["tokens"][0]["id"]
    assert requests.delete(f"{api}/tokens/{admin_token_id}", headers=alice, timeout=30).status_code == 404
    assert requests.delete(f"{api}/tokens/{made['id']}", headers=alice, timeout=30).json()["revoked_at"]
    assert requests.get(f"{api}/users/me", headers=bearer, timeout=30).status_code == 401

    # a new password takes effect at once; a deleted user is refused
    assert requests.patch(f"{api}/users/{ALICE}/password", json={"password": "new-password-2"}, headers=alice,
                          timeout=30).status_code == 200
    assert requests.get(f"{api}/users/me", headers=alice, timeout=30).status_code == 401
    assert requests.patch(f"{api}/users/bob/password", json={"password": "new-password-2"},
                          headers=basic(ALICE, "new-password-2"), timeout=30).status_code == 403
    assert requests.delete(f"{api}/users/bob", headers=admin, timeout=30).status_code == 200
    assert requests.get(f"{api}/users/me", headers=basic("bob", "bob-password-1"), timeout=30).status_code == 401


def test_the_official_mlflow_client_and_trackflow_clients_sign_in(team: Team, tmp_path: Path) -> None:
    python = str(mlflow_peer_bin("python"))

    def flow(**env: str) -> dict[str, object]:
        proc = subprocess.run([python, str(SCRIPTS / "mlflow_flow.py")], cwd=tmp_path, capture_output=True, text=True,
                              env=clean_env(MLFLOW_TRACKING_URI=team.url, **env), timeout=300)
        assert proc.returncode == 0, proc.stderr[-4000:]
        return dict(json.loads(proc.stdout.strip().splitlines()[-1]))

    ok = flow(MLFLOW_TRACKING_USERNAME=ALICE, MLFLOW_TRACKING_PASSWORD=ALICE_PASSWORD)
    assert ok["runs"] == 1 and ok["loss"] == 0.5, ok
    assert flow(MLFLOW_TRACKING_TOKEN=team.admin_token)["runs"] == 1
    refused = flow(MLFLOW_TRACKING_USERNAME=ALICE, MLFLOW_TRACKING_PASSWORD="wrong-password")
    assert "401" in str(refused["error"]) or "UNAUTHENTICATED" in str(refused["error"]), refused
    assert "error" in flow()

    # trackflow's client and CLI with TRACKFLOW_TRACKING_TOKEN
    from trackflow.registry.client import Client

    client = Client(team.url, settings=Settings(tracking_uri=team.url, tracking_token=team.admin_token))
    experiment_id = client.create_experiment("from-trackflow")
    assert client.get_experiment(experiment_id).name == "from-trackflow"
    client.create_registered_model("tf-model")
    assert client.get_registered_model("tf-model").name == "tf-model"
    with pytest.raises(Exception, match="not authenticated"):
        Client(team.url, settings=Settings(tracking_uri=team.url)).create_experiment("anonymous")
    env = {**clean_env(), **OWN_CODE, "TRACKFLOW_TRACKING_URI": team.url, "TRACKFLOW_TRACKING_TOKEN": team.admin_token}
    listed = subprocess.run([sys.executable, "-m", "trackflow", "experiments", "list"], capture_output=True, text=True,
                            env=env, timeout=60)
    assert listed.returncode == 0 and "from-trackflow" in listed.stdout, listed.stderr


def test_the_cli_manages_accounts_and_auth_off_changes_nothing(tmp_path: Path) -> None:
    env = {**clean_env(), **OWN_CODE, "TRACKFLOW_HOME": str(tmp_path / "home")}

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "trackflow", *args], input=stdin, capture_output=True, text=True,
                              env=env, timeout=60)

    assert cli("users", "create", "ops", "--admin", "--password-stdin", stdin="ops-password-1\n").returncode == 0
    short = cli("users", "create", "dev", "--password-stdin", stdin="short\n")
    assert short.returncode == 2 and "8 to 1024 characters" in short.stderr
    assert cli("users", "create", "ops", "--password-stdin", stdin="ops-password-1\n").returncode == 2
    made = cli("tokens", "create", "--user", "ops", "--name", "ci")
    assert made.returncode == 0 and made.stdout.strip().startswith("tf_") and "shown only now" in made.stderr
    listed = json.loads(cli("tokens", "list", "--output", "json").stdout)
    assert [t["name"] for t in listed] == ["ci"] and made.stdout.strip() not in json.dumps(listed)
    assert cli("tokens", "revoke", listed[0]["id"]).returncode == 0
    assert cli("tokens", "revoke", "nope").returncode == 2
    assert "ops" in cli("users", "list").stdout
    assert cli("users", "delete", "ops").returncode == 0 and cli("users", "delete", "ops").returncode == 2

    app = create_app(Settings(home=str(tmp_path / "home")))  # auth off: open, accounts refused
    with ThreadServer(app) as server:
        assert requests.get(f"{server.url}/api/2.0/mlflow/experiments/search?max_results=5", timeout=30).status_code \
            == 200
        off = requests.get(f"{server.url}/api/v1/users", timeout=30)
        assert off.status_code == 400 and "auth is off" in off.json()["message"]
    app.state.services.db.dispose()


def test_every_change_is_in_the_audit_log(team: Team, tmp_path: Path) -> None:
    api, mlflow_api = team.url + "/api/v1", team.url + "/api/2.0/mlflow"
    admin, alice = basic(ADMIN, ADMIN_PASSWORD), basic(ALICE, ALICE_PASSWORD)
    made = requests.post(f"{mlflow_api}/experiments/create", json={"name": "audited"}, headers=alice, timeout=30)
    assert made.status_code == 200
    assert requests.post(f"{mlflow_api}/runs/search", json={"experiment_ids": ["0"]}, headers=alice,
                         timeout=30).status_code == 200  # a read, though a POST: not a change
    assert requests.get(f"{api}/dags", headers=alice, timeout=30).status_code == 200  # a read
    assert requests.post(f"{api}/users", json={"username": "eve", "password": "eve-password-1"}, headers=alice,
                         timeout=30).status_code == 403  # refused: recorded too
    assert requests.post(f"{mlflow_api}/experiments/create", json={"name": "anon"}, timeout=30).status_code == 401
    entries = requests.get(f"{api}/audit", headers=admin, timeout=30).json()["entries"]
    assert [(e["username"], e["method"], e["path"], e["status"]) for e in entries] == [
        (None, "POST", "/api/2.0/mlflow/experiments/create", 401),
        (ALICE, "POST", "/api/v1/users", 403),
        (ALICE, "POST", "/api/2.0/mlflow/experiments/create", 200),
    ]
    assert entries[0]["client"] == "127.0.0.1" and entries[0]["at"]
    mine = requests.get(f"{api}/audit", params={"username": ALICE, "limit": 1}, headers=admin, timeout=30).json()
    assert [e["path"] for e in mine["entries"]] == ["/api/v1/users"]
    assert requests.get(f"{api}/audit", headers=alice, timeout=30).status_code == 403
    assert requests.get(f"{api}/audit", params={"since": "yesterday"}, headers=admin, timeout=30).status_code == 400

    shown = subprocess.run([sys.executable, "-m", "trackflow", "audit", "--user", ALICE, "--output", "json"],
                           capture_output=True, text=True,
                           env={**clean_env(), **OWN_CODE, "TRACKFLOW_HOME": team.settings.home},
                           timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert [row["path"] for row in json.loads(shown.stdout)][-1] == "/api/2.0/mlflow/experiments/create"


# The permission matrix ------------------------------------------------------------------------
LEVEL_USERS = {"NO_PERMISSIONS": "u-none", "READ": "u-read", "EDIT": "u-edit", "MANAGE": "u-manage"}
BELOW = {"READ": "NO_PERMISSIONS", "EDIT": "READ", "MANAGE": "EDIT"}
PASSWORD = "matrix-password-1"


def test_every_route_refuses_a_user_lacking_its_permission_and_admits_one_holding_it(tmp_path: Path) -> None:
    """Generated from the app's routes and server/access.py's RULES: for a route needing level L
    on an object, the user one level below gets 403 (MLflow's "Permission denied" on its routes)
    and the user holding exactly L gets past access control (2xx, or the route's own 4xx for a
    made-up id, never 401/403); admin-only routes refuse a non-admin; routes that name a user
    refuse another user. The server uses NO_PERMISSIONS as its default, so every grant counts."""
    from fastapi.testclient import TestClient

    from trackflow.server.access import MLFLOW_PATHS, RULES, app_routes, missing_rules

    settings = Settings(home=str(tmp_path / "home"), auth=True, auth_default_permission="NO_PERMISSIONS")
    app = create_app(settings)
    routes = app_routes(app.routes)
    assert not missing_rules(routes) and set(RULES) <= set(routes)
    assert missing_rules([*routes, ("POST", "/api/v1/new-route")]) == [("POST", "/api/v1/new-route")]
    accounts, permissions = app.state.services.accounts, app.state.services.permissions
    now = datetime.now(UTC)
    accounts.create_user(ADMIN, ADMIN_PASSWORD, True, now)
    for name in LEVEL_USERS.values():
        accounts.create_user(name, PASSWORD, False, now)
    from trackflow.auth.permissions import Level

    with TestClient(app) as client:
        admin = basic(ADMIN, ADMIN_PASSWORD)
        mlflow = "/api/2.0/mlflow"
        # the experiment and the registered model are both named "m": a route's "name" finds either
        experiment_id = client.post(f"{mlflow}/experiments/create", json={"name": "m"}, headers=admin).json()[
            "experiment_id"]
        run_id = client.post(f"{mlflow}/runs/create", json={"experiment_id": experiment_id},
                             headers=admin).json()["run"]["info"]["run_id"]
        model_id = client.post(f"{mlflow}/logged-models", json={"experiment_id": experiment_id},
                               headers=admin).json()["model"]["info"]["model_id"]
        trace_id = "tr-" + "ab" * 16
        location = {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}}
        trace = {"trace_info": {"trace_id": trace_id, "trace_location": location, "state": "OK",
                                "request_time": "2025-01-01T00:00:00Z"}}
        assert client.post("/api/3.0/mlflow/traces", json={"trace": trace}, headers=admin).status_code == 200
        assessment_id = client.post(f"/api/3.0/mlflow/traces/{trace_id}/assessments", headers=admin, json={
            "assessment": {"assessment_name": "a", "feedback": {"value": 1}}}).json()["assessment"]["assessment_id"]

        def grant_levels() -> None:  # a deleted model's grants go with it: made again before each deletion
            client.post(f"{mlflow}/registered-models/create", json={"name": "m"}, headers=admin)
            for level, name in LEVEL_USERS.items():
                if level != "NO_PERMISSIONS":
                    for kind, resource_id in (("experiment", experiment_id), ("registered_model", "m"), ("dag", "d")):
                        permissions.grant("user", name, kind, resource_id, Level[level])

        grant_levels()

        def request(method: str, template: str, caller: str, target_user: str) -> tuple[int, str]:
            values = {"experiment_id": experiment_id, "run_id": run_id, "model_id": model_id, "name": "m",
                      "dag_id": "d", "version": "1", "alias": "a", "task_id": "t", "path": f"{experiment_id}/x",
                      "key": "k", "conn_id": "c", "tag_key": "k", "token_id": "x", "session_id": "x",
                      "resource_type": "experiment",
                      "resource_id": experiment_id, "principal_kind": "user", "principal": "nobody",
                      "username": target_user, "trace_id": trace_id, "assessment_id": assessment_id}
            path = re.sub(r"\{(\w+)(?::path)?\}", lambda m: str(values[m.group(1)]), template)
            fields = {**values, "run_uuid": run_id, "experiment_ids": [experiment_id], "experiment_name": "m",
                      "password": "x", "permission": "READ", "trace_ids": [trace_id], "locations": [location],
                      "trace": trace}
            query = fields
            password = ADMIN_PASSWORD if caller == ADMIN else PASSWORD
            answer = client.request(method, path, params=query, json=None if method in ("GET", "HEAD") else fields,
                                    headers={**basic(caller, password), "x-mlflow-experiment-id": experiment_id})
            return answer.status_code, answer.text

        checks: list[tuple[str, str, str, str, bool]] = []  # method, template, caller, target user, refused?
        for method, template in routes:
            rule = RULES.get((method, template)) or RULES.get(("GET", template))
            if rule is None or is_open(template):
                continue
            if rule.admin:
                checks += [(method, template, LEVEL_USERS["MANAGE"], "carol", True),
                           (method, template, ADMIN, "carol", False)]
            elif rule.self_param:
                checks += [(method, template, LEVEL_USERS["MANAGE"], "carol", True),
                           (method, template, LEVEL_USERS["NO_PERMISSIONS"], LEVEL_USERS["NO_PERMISSIONS"], False)]
            elif rule.level is not None:
                below, holder = LEVEL_USERS[BELOW[rule.level.name]], LEVEL_USERS[rule.level.name]
                # a permission route's target is another user: a holder changing their own grant would demote itself
                checks += [(method, template, below, below, True), (method, template, holder, "u-none", False)]
            else:
                checks.append((method, template, LEVEL_USERS["NO_PERMISSIONS"], LEVEL_USERS["NO_PERMISSIONS"], False))

        def order(check: tuple[str, str, str, str, bool]) -> tuple[bool, bool, bool]:
            rule = RULES.get((check[0], check[1])) or RULES[("GET", check[1])]
            gone = rule.after is not None and rule.after.__name__ == "model_deleted" or "/gc/" in check[1]
            return not check[4], check[0] == "DELETE", gone

        # refusals first (they change nothing), then the allowed calls, deletions last
        checks.sort(key=order)
        failures = []
        for check in checks:
            method, template, caller, target_user, refused = check
            if order(check)[2]:
                grant_levels()
            status, text = request(method, template, caller, target_user)
            if refused and (status != 403 or (template.startswith(MLFLOW_PATHS) and text != "Permission denied")):
                failures.append(f"{method} {template} as {caller}: expected 403, got {status} {text[:120]}")
            if not refused and status in (401, 403) or status >= 500:
                failures.append(f"{method} {template} as {caller}: expected to pass, got {status} {text[:120]}")
        assert len(checks) > 350
        assert not failures, "\n".join(failures)
    app.state.services.db.dispose()
