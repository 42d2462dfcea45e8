"""Real servers for the artifact tests: a tiny proxied-artifacts app (the moto S3 server,
``s3_endpoint``, lives in tests/conftest.py and creates ``BUCKET``).

The proxy app implements MLflow's four ``mlflow-artifacts`` endpoints over a
LocalArtifactRepository, just enough to run the contract suite against
HttpArtifactRepository over real HTTP. The product's endpoints live in server/mlflow_compat.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator

import anyio
import anyio.from_thread
import anyio.to_thread
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from trackflow.artifacts import PROXY_ARTIFACTS_PATH, LocalArtifactRepository
from trackflow.errors import InvalidInput, NotFound

BUCKET = "trackflow-artifacts"  # created by the s3_endpoint fixture in tests/conftest.py


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_proxy_app(root: str) -> FastAPI:
    """MLflow's proxied artifact API over a local directory (test double of the real server)."""
    repo = LocalArtifactRepository(root)
    app = FastAPI()

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"error_code": exc.error_code, "message": exc.message}, status_code=404)

    @app.exception_handler(InvalidInput)
    async def invalid(request: Request, exc: InvalidInput) -> JSONResponse:
        return JSONResponse({"error_code": exc.error_code, "message": exc.message}, status_code=400)

    @app.get(PROXY_ARTIFACTS_PATH)
    def list_artifacts(path: str = "") -> dict[str, object]:
        files = []
        for info in repo.list_artifacts(path or None):
            entry: dict[str, object] = {"path": info.path.rsplit("/", 1)[-1], "is_dir": info.is_dir}
            if info.file_size is not None:
                entry["file_size"] = info.file_size
            files.append(entry)
        return {"files": files}

    @app.put(PROXY_ARTIFACTS_PATH + "/{path:path}")
    async def upload(path: str, request: Request) -> dict[str, object]:
        # Stream the body into the (synchronous) repository from a worker thread,
        # pulling each chunk from the event loop: the file is never held whole.
        body = request.stream().__aiter__()

        async def next_chunk() -> bytes:
            return await body.__anext__()

        def chunks() -> Iterator[bytes]:
            while True:
                try:
                    yield anyio.from_thread.run(next_chunk)
                except StopAsyncIteration:
                    return

        await anyio.to_thread.run_sync(repo.write_stream, path, chunks())
        return {}

    @app.get(PROXY_ARTIFACTS_PATH + "/{path:path}")
    def download(path: str) -> StreamingResponse:
        return StreamingResponse(repo.open_read(path), media_type="application/octet-stream")

    @app.delete(PROXY_ARTIFACTS_PATH + "/{path:path}")
    def delete(path: str) -> dict[str, object]:
        repo.delete_artifacts(path or None)
        return {}

    return app


@pytest.fixture(scope="session")
def proxy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, storage directory) of the proxy app served by uvicorn in a thread."""
    root = str(tmp_path_factory.mktemp("proxy-store"))
    port = free_port()
    config = uvicorn.Config(
        make_proxy_app(root), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the proxy test server did not start; see its output above")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", root
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    """The bucket created on the moto server."""
    return BUCKET


@pytest.fixture
def unused_port() -> int:
    return free_port()


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:12]
