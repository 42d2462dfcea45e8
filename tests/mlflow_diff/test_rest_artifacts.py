"""The proxied artifact endpoints (/api/2.0/mlflow-artifacts/...) and server-info, on MLflow
3.17.2 and on trackflow (see scenarios.py)."""

from __future__ import annotations

import pytest
from scenarios import ARTIFACTS, Call, Scenario, call, get, scenario

pytestmark = pytest.mark.slow  # a real MLflow server and a trackflow server


def artifact(label: str, method: str, path: str, **options: object) -> Call:
    return call(label, method, f"artifacts/{path}", prefix=ARTIFACTS, **options)  # type: ignore[arg-type]


SCENARIOS = [
    scenario(
        "artifact_upload_download_list_delete",
        artifact("upload", "PUT", "diff-{u}/a.txt", data=b"hello"),
        artifact("upload nested", "PUT", "diff-{u}/sub/dir/b.bin", data=bytes(range(256))),
        artifact("upload empty", "PUT", "diff-{u}/empty.txt", data=b""),
        artifact("overwrite", "PUT", "diff-{u}/a.txt", data=b"hello again"),
        artifact("download", "GET", "diff-{u}/a.txt"),
        artifact("download binary", "GET", "diff-{u}/sub/dir/b.bin"),
        artifact("download empty", "GET", "diff-{u}/empty.txt"),
        get("list", "artifacts", {"path": "diff-{u}"}, prefix=ARTIFACTS),
        get("list nested", "artifacts", {"path": "diff-{u}/sub"}, prefix=ARTIFACTS),
        get("list a file", "artifacts", {"path": "diff-{u}/a.txt"}, prefix=ARTIFACTS),
        get("list a missing directory", "artifacts", {"path": "diff-{u}/nope"}, prefix=ARTIFACTS),
        artifact("download missing", "GET", "diff-{u}/nope.txt"),
        artifact("download a directory", "GET", "diff-{u}/sub"),
        artifact("delete a file", "DELETE", "diff-{u}/a.txt"),
        artifact("download deleted", "GET", "diff-{u}/a.txt"),
        artifact("delete a directory", "DELETE", "diff-{u}/sub"),
        get("list after deletes", "artifacts", {"path": "diff-{u}"}, prefix=ARTIFACTS),
        artifact("delete missing", "DELETE", "diff-{u}/never.txt"),
    ),
    scenario(
        "artifact_bad_paths",
        artifact("an unknown endpoint", "PUT", "diff-{u}/../../escape.txt", data=b"x"),  # the client resolves the ..
        artifact("upload with an encoded ..", "PUT", "diff-{u}/%2E%2E/%2E%2E/escape.txt", data=b"x"),
        artifact("download with an encoded ..", "GET", "diff-{u}/%2E%2E/%2E%2E/etc/passwd"),
        get("list with ..", "artifacts", {"path": "../.."}, prefix=ARTIFACTS),
        get("list an absolute path", "artifacts", {"path": "/etc"}, prefix=ARTIFACTS),
    ),
    scenario(
        "server_info",
        get("server info", "mlflow/server-info", prefix="/api/3.0", compare="shape"),
        get("server info via ajax-api", "mlflow/server-info", prefix="/ajax-api/3.0", compare="shape"),
    ),
]


@pytest.mark.parametrize("case", SCENARIOS, ids=lambda s: s.name)
def test_artifacts_match_mlflow(case: Scenario, run_both) -> None:  # noqa: ANN001 - fixture
    run_both(case)
