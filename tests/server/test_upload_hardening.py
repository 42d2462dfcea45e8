"""Every route that takes an uploaded body or an artifact path, attacked over raw HTTP.

The routes come from the app itself: a route with a ``{...:path}`` parameter, "artifact" in
its path, or an endpoint that reads the raw body must have a case in PATH_CASES (and, when it
reads the body, in BODY_ROUTES), so a new upload route without a case fails
``test_every_upload_route_has_a_case``.

Each attack (``../``, ``%2e%2e/``, absolute paths, backslashes, NUL, CR/LF) must answer 4xx,
echo no injected header, read nothing outside the artifact root and write nothing outside it
(the server's working directory is compared before and after). Oversized bodies answer 413
under ``TRACKFLOW_MAX_UPLOAD_MB`` and leave nothing stored, not even a partial temporary file.
"""

from __future__ import annotations

import gzip
import inspect
import json
import os
import socket
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest

from trackflow.config import load_settings
from trackflow.server.access import app_routes
from trackflow.server.app import create_app

SECRET = "outside-the-artifact-root-" + uuid.uuid4().hex
INJECTED = "X-Injected"
MAX_UPLOAD_MB = 1
MB = 2**20

# Raw, percent-encoded path segments: each would name something outside the artifact root or
# smuggle a header if a route took it literally.
ATTACKS = {
    "dot-dot": "../../secret.txt",
    "dot-dot inside": "a/../../../secret.txt",
    "encoded dot-dot": "%2e%2e/%2e%2e/secret.txt",
    "encoded slash": "..%2f..%2fsecret.txt",
    "absolute": "%2Fetc%2Fpasswd",
    "absolute secret": "{secret_abs}",
    "backslash": "..%5c..%5csecret.txt",
    "NUL": "ok.txt%00.png",
    "CR/LF": "x.txt%0d%0a" + INJECTED + ":%20yes",
    "windows drive": "C:%5cWindows%5cwin.ini",
}


@dataclass
class Target:
    url: str
    workdir: Path
    experiment_id: str
    run_id: str
    model_id: str
    run_artifacts: str  # the run's artifact folder, as a proxy path

    @property
    def root(self) -> Path:
        return self.workdir / "artifacts"


PROXY = "/api/2.0/mlflow-artifacts/artifacts"
MLFLOW_PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
LM = "/logged-models/{model_id}"

# (method, route path) -> the query string of a request; the attack goes into a ``{...:path}``
# parameter of the route, or into the query where it says {attack}
PATH_CASES: dict[tuple[str, str], str] = {
    **{("GET", f"{p}/artifacts/list"): "?run_id={run_id}&path={attack}" for p in MLFLOW_PREFIXES},
    **{("GET", f"{p}{LM}/artifacts/directories"): "?artifact_directory_path={attack}" for p in MLFLOW_PREFIXES},
    ("GET", f"/ajax-api/2.0/mlflow{LM}/artifacts/files"): "?artifact_file_path={attack}",
    ("GET", PROXY): "?path={attack}",
    **{(method, PROXY + "/{path:path}"): "" for method in ("GET", "PUT", "DELETE")},
    ("GET", "/runs/{run_id}/artifacts/{path:path}"): "",
    **{("GET", f"/api/v1/ui/runs/{{run_id}}/artifacts/{kind}"): "?path={attack}" for kind in ("list", "preview")},
    ("GET", "/static/ui/{path:path}"): "",
    # a tag key, not a file: still must not 5xx, echo a header, or touch the filesystem
    **{("DELETE", f"{p}{LM}/tags/{{tag_key:path}}"): "" for p in MLFLOW_PREFIXES},
}


def request_target(route: tuple[str, str], t: Target, attack: str) -> str:
    target = route[1] + PATH_CASES[route]
    for name, value in (("{run_id}", t.run_id), ("{model_id}", t.model_id), ("{path:path}", attack),
                        ("{tag_key:path}", attack), ("{attack}", attack)):
        target = target.replace(name, value)
    return target


# routes whose endpoint reads the raw request body -> its request target (``name``: a new file)
BODY_ROUTES: dict[tuple[str, str], Callable[[Target, str], str]] = {
    ("PUT", PROXY + "/{path:path}"): lambda t, name: f"{PROXY}/{t.run_artifacts}/{name}",
    ("POST", "/api/v1/runs/{run_id}/batch"): lambda t, name: f"/api/v1/runs/{t.run_id}/batch",
    ("POST", "/v1/traces"): lambda t, name: "/v1/traces",
}
UPLOAD_ROUTE = ("PUT", PROXY + "/{path:path}")


def body_headers(t: Target) -> dict[str, str]:
    """What every body route needs before it reads the body (OTLP's experiment header)."""
    return {"Content-Type": "application/x-protobuf", "x-mlflow-experiment-id": t.experiment_id}

_RAW_BODY_READS = ("request.stream()", "request.body()", "request.form()", "UploadFile")


def _endpoint_reads_body(endpoint: Any) -> bool:
    try:
        source = inspect.getsource(endpoint)
    except (OSError, TypeError):
        return False
    return any(marker in source for marker in _RAW_BODY_READS)


def _routes_with_endpoints(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str, Any]]:
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes_with_endpoints(list(included.routes), prefix + route.include_context.prefix)
        elif hasattr(route, "endpoint") and hasattr(route, "methods"):
            for method in route.methods:
                yield method, prefix + route.path, route.endpoint


def upload_surface(tmp_path: Path) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(routes taking a path, routes reading a raw body) of a freshly built app."""
    app = create_app(load_settings({"TRACKFLOW_HOME": str(tmp_path)}))
    path_routes = {(m, p) for m, p in app_routes(app.routes)
                   if m != "HEAD" and (":path}" in p or "artifact" in p.lower())}
    body_routes = {(m, p) for m, p, endpoint in _routes_with_endpoints(list(app.routes))
                   if _endpoint_reads_body(endpoint)}
    return path_routes, body_routes


def test_every_upload_route_has_a_case(tmp_path: Path) -> None:
    path_routes, body_routes = upload_surface(tmp_path)
    assert path_routes - set(PATH_CASES) == set(), "routes taking a path without a case in PATH_CASES"
    assert set(PATH_CASES) - path_routes == set(), "PATH_CASES names routes the app no longer has"
    assert body_routes - set(BODY_ROUTES) == set(), "routes reading a raw body without a case in BODY_ROUTES"
    assert set(BODY_ROUTES) <= body_routes


# ---------------------------------------------------------------- raw HTTP, nothing normalised
@dataclass
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def raw_request(url: str, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None,
                chunks: list[bytes] | None = None) -> RawResponse:
    """One HTTP/1.1 request with ``target`` sent byte for byte (httpx and requests would
    normalise ``..`` and re-encode), the response read until the server closes."""
    parts = urlsplit(url)
    head = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
    for name, value in (headers or {}).items():
        head.append(f"{name}: {value}")
    if chunks is not None:
        head.append("Transfer-Encoding: chunked")
    elif "Content-Length" not in (headers or {}):
        head.append(f"Content-Length: {len(body)}")
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        try:
            if chunks is not None:
                for chunk in chunks:
                    sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sock.sendall(b"0\r\n\r\n")
            elif body:
                sock.sendall(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking the whole body
        data = b""
        while True:
            try:
                piece = sock.recv(65536)
            except ConnectionResetError:
                break
            if not piece:
                break
            data += piece
    head_bytes, _, rest = data.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    parsed = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:])]
    if any(k.lower() == "transfer-encoding" and "chunked" in v for k, v in parsed):
        rest = _dechunk(rest)
    return RawResponse(status, parsed, rest)


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2:]
    return out


def files_under(directory: Path) -> dict[str, int]:
    out = {}
    for dirpath, _dirs, names in os.walk(directory):
        for name in names:
            path = Path(dirpath) / name
            out[str(path.relative_to(directory))] = path.stat().st_size
    return out


def outside_root(workdir: Path) -> dict[str, int]:
    """The server's working directory but its artifact root, database and log."""
    return {p: size for p, size in files_under(workdir).items()
            if not p.startswith("artifacts/") and not p.startswith("server") and not p.startswith("home/")}


def json_call(url: str, method: str, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    response = raw_request(url, method, path, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    assert response.status == 200, response.body
    return json.loads(response.body)


@pytest.fixture(scope="module")
def target(trackflow_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    workdir = tmp_path_factory.mktemp("upload-hardening")
    (workdir / "secret.txt").write_text(SECRET)
    with trackflow_server(workdir, env={"TRACKFLOW_MAX_UPLOAD_MB": str(MAX_UPLOAD_MB)}) as url:
        experiment_id = json_call(url, "POST", "/api/2.0/mlflow/experiments/create",
                                  {"name": f"uploads-{uuid.uuid4().hex[:8]}"})["experiment_id"]
        run = json_call(url, "POST", "/api/2.0/mlflow/runs/create", {"experiment_id": experiment_id})["run"]
        model = json_call(url, "POST", "/api/2.0/mlflow/logged-models", {"experiment_id": experiment_id})["model"]
        artifact_uri = run["info"]["artifact_uri"]
        assert artifact_uri.startswith("mlflow-artifacts:/"), artifact_uri
        yield Target(url, workdir, experiment_id, run["info"]["run_id"], model["info"]["model_id"],
                     artifact_uri.removeprefix("mlflow-artifacts:/").strip("/"))


def _assert_no_injection(response: RawResponse) -> None:
    names = [k.lower() for k, _ in response.headers]
    assert INJECTED.lower() not in names, response.headers
    for name, value in response.headers:
        assert "\r" not in value and "\n" not in value, (name, value)


@pytest.mark.parametrize("attack", list(ATTACKS), ids=list(ATTACKS))
@pytest.mark.parametrize("route", list(PATH_CASES), ids=[f"{m} {p}" for m, p in PATH_CASES])
def test_path_attack_is_refused(target: Target, route: tuple[str, str], attack: str) -> None:
    method, _ = route
    raw = ATTACKS[attack].replace("{secret_abs}", quote(str(target.workdir / "secret.txt"), safe=""))
    before = outside_root(target.workdir)
    body = b"attacker bytes"
    response = raw_request(target.url, method, request_target(route, target, raw), body if method == "PUT" else b"")
    assert 400 <= response.status < 500, (response.status, response.body[:500])
    assert SECRET.encode() not in response.body
    _assert_no_injection(response)
    assert outside_root(target.workdir) == before, "a file was written outside the artifact root"
    stored = files_under(target.root)
    assert not any(name.endswith(".part") for name in stored), stored
    for name in stored:  # nothing stored under a name carrying the attack
        assert "secret" not in name and "passwd" not in name and "\x00" not in unquote(name), name


def test_a_double_encoded_name_is_decoded_once_and_stays_inside_the_root(target: Target) -> None:
    before = outside_root(target.workdir)
    put = raw_request(target.url, "PUT", f"/api/2.0/mlflow-artifacts/artifacts/{target.run_artifacts}/"
                      "%252e%252e%252fdouble.txt", b"literal")
    assert put.status == 200, put.body
    assert (target.root / target.run_artifacts / "%2e%2e%2fdouble.txt").read_bytes() == b"literal"
    assert outside_root(target.workdir) == before


def test_content_disposition_cannot_be_broken_by_a_file_name(target: Target) -> None:
    name = 'report "final"; x=1 模型.csv'
    put = raw_request(target.url, "PUT", f"/api/2.0/mlflow-artifacts/artifacts/{target.run_artifacts}/"
                      f"{quote(name, safe='')}", b"a,b\n1,2\n")
    assert put.status == 200, put.body
    got = raw_request(target.url, "GET", f"/runs/{target.run_id}/artifacts/{quote(name, safe='')}")
    assert got.status == 200, got.body[:300]
    assert got.body == b"a,b\n1,2\n"
    disposition = dict((k.lower(), v) for k, v in got.headers)["content-disposition"]
    assert disposition == ("attachment; filename=\"report _final_; x=1 __.csv\"; "
                           f"filename*=UTF-8''{quote(name, safe='')}")


# ---------------------------------------------------------------- oversized bodies
def test_upload_at_the_limit_is_stored(target: Target) -> None:
    name = f"fits-{uuid.uuid4().hex[:6]}.bin"
    response = raw_request(target.url, "PUT", BODY_ROUTES[UPLOAD_ROUTE](target, name), b"x" * (MAX_UPLOAD_MB * MB))
    assert response.status == 200, response.body
    assert (target.root / target.run_artifacts / name).stat().st_size == MAX_UPLOAD_MB * MB


@pytest.mark.parametrize("route", list(BODY_ROUTES), ids=[f"{m} {p}" for m, p in BODY_ROUTES])
def test_declared_oversized_body_is_refused_before_it_is_sent(target: Target, route: tuple[str, str]) -> None:
    """Only the headers go out: a server that read the body first would wait for it (and time out)."""
    name = f"declared-{uuid.uuid4().hex[:6]}.bin"
    started = time.monotonic()
    response = raw_request(target.url, route[0], BODY_ROUTES[route](target, name),
                           headers={**body_headers(target), "Content-Length": str(100 * MAX_UPLOAD_MB * MB)})
    assert time.monotonic() - started < 10
    assert response.status == 413, response.body
    message = json.loads(response.body)
    assert message["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert f"limit of {MAX_UPLOAD_MB} MB" in message["message"] and "max_upload_mb" in message["message"]
    assert not (target.root / target.run_artifacts / name).exists()


@pytest.mark.parametrize("route", list(BODY_ROUTES), ids=[f"{m} {p}" for m, p in BODY_ROUTES])
def test_streamed_oversized_body_is_refused_and_nothing_partial_is_kept(target: Target,
                                                                        route: tuple[str, str]) -> None:
    name = f"streamed-{uuid.uuid4().hex[:6]}.bin"
    before = files_under(target.root)
    chunks = [b"y" * (256 * 1024)] * (4 * MAX_UPLOAD_MB + 2)  # no Content-Length: counted as it arrives
    response = raw_request(target.url, route[0], BODY_ROUTES[route](target, name), headers=body_headers(target),
                           chunks=chunks)
    assert response.status == 413, response.body
    assert "max_upload_mb" in json.loads(response.body)["message"]
    assert files_under(target.root) == before, "a partial upload was left in the artifact root"


def test_json_routes_share_the_limit(target: Target) -> None:
    response = raw_request(target.url, "POST", "/api/2.0/mlflow/runs/log-batch",
                           headers={"Content-Length": str(2 * MAX_UPLOAD_MB * MB), "Content-Type": "application/json"})
    assert response.status == 413, response.body


def test_a_compressed_trace_export_cannot_inflate_past_the_limit(target: Target) -> None:
    """A gzip bomb: 8 MB of zeros in a few KB, under the body limit, over it once inflated."""
    bomb = gzip.compress(b"\0" * (8 * MAX_UPLOAD_MB * MB))
    assert len(bomb) < MAX_UPLOAD_MB * MB
    response = raw_request(target.url, "POST", "/v1/traces", bomb,
                           {**body_headers(target), "Content-Encoding": "gzip"})
    assert response.status == 413, response.body
    assert "max_upload_mb" in json.loads(response.body)["message"]


def test_an_oversized_stream_to_s3_leaves_no_object_and_no_open_multipart_upload(
        s3_endpoint: str, s3_bucket: str, trackflow_server: Any, tmp_path: Path) -> None:
    """Past S3's multipart threshold (8 MB) a part is uploaded before the limit is hit: the
    refused upload must be aborted, not left as an object or an unfinished multipart upload."""
    import boto3

    prefix = f"limits-{uuid.uuid4().hex[:8]}"
    with trackflow_server(tmp_path, artifacts_destination=f"s3://{s3_bucket}/{prefix}",
                          env={"MLFLOW_S3_ENDPOINT_URL": s3_endpoint, "TRACKFLOW_MAX_UPLOAD_MB": "10"}) as url:
        fits = raw_request(url, "PUT", f"{PROXY}/fits.bin", b"f" * MB)
        assert fits.status == 200, fits.body
        chunks = [b"z" * MB] * 12  # 12 MB, streamed without a Content-Length
        response = raw_request(url, "PUT", f"{PROXY}/too-big.bin", chunks=chunks)
        assert response.status == 413, response.body
        assert "limit of 10 MB" in json.loads(response.body)["message"]
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket, Prefix=prefix).get("Contents", [])]
    assert keys == [f"{prefix}/fits.bin"]
    assert s3.list_multipart_uploads(Bucket=s3_bucket, Prefix=prefix).get("Uploads", []) == []


def test_a_compressed_trace_export_under_the_limit_is_stored(target: Target) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    for encoding, compress in (("gzip", gzip.compress), ("deflate", zlib.compress)):
        request = ExportTraceServiceRequest()
        span = request.resource_spans.add().scope_spans.add().spans.add()
        span.trace_id, span.span_id, span.name = os.urandom(16), os.urandom(8), f"root-{encoding}"
        span.start_time_unix_nano, span.end_time_unix_nano = 1_700_000_000_000_000_000, 1_700_000_001_000_000_000
        response = raw_request(target.url, "POST", "/v1/traces", compress(request.SerializeToString()),
                               {**body_headers(target), "Content-Encoding": encoding})
        assert response.status == 200, response.body
        found = raw_request(target.url, "GET", f"/api/3.0/mlflow/traces/tr-{span.trace_id.hex()}")
        assert found.status == 200, found.body
        assert json.loads(found.body)["trace"]["trace_info"]["trace_id"] == f"tr-{span.trace_id.hex()}"
