"""MLflow's artifact proxy: /api/2.0/mlflow-artifacts/artifacts[/<path>].

Uploads and downloads stream in chunks (never a whole file in memory), so clients need no
storage credentials and large files do not exhaust the server.
"""

from __future__ import annotations

import anyio
import anyio.lowlevel
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from trackflow.artifacts import safe_relative_path
from trackflow.errors import InvalidInput
from trackflow.server.responses import JSONResponse
from trackflow.server.services import Services

router = APIRouter()


def _services(request: Request) -> Services:
    return request.app.state.services


@router.get("/artifacts", include_in_schema=False)
async def list_artifacts(request: Request, path: str = "") -> JSONResponse:
    relative = safe_relative_path(path)
    files = await run_in_threadpool(_services(request).artifact_destination().list_artifacts, relative or None)
    out = []
    for f in files:
        entry: dict[str, object] = {"path": f.path.rsplit("/", 1)[-1], "is_dir": f.is_dir}
        if f.file_size:  # MLflow leaves out the size of an empty file
            entry["file_size"] = f.file_size
        out.append(entry)
    return JSONResponse({"files": out})


@router.get("/artifacts/{path:path}", include_in_schema=False)
async def download_artifact(request: Request, path: str) -> StreamingResponse:
    relative = safe_relative_path(path)
    if not relative:
        raise InvalidInput("an artifact path is required")
    chunks = await run_in_threadpool(_services(request).artifact_destination().open_read, relative)
    return StreamingResponse(chunks, media_type="application/octet-stream")


@router.put("/artifacts/{path:path}", include_in_schema=False)
async def upload_artifact(request: Request, path: str) -> Response:
    relative = safe_relative_path(path)
    if not relative:
        raise InvalidInput("an artifact path is required")
    body = request.stream().__aiter__()
    # The store may read the chunks from a thread of its own (boto3's transfer pool), not
    # the worker thread started below, so the event loop is named explicitly.
    loop_token = anyio.lowlevel.current_token()

    async def next_chunk() -> bytes:
        return await body.__anext__()

    def chunks():  # noqa: ANN202 - a generator of bytes pulled from the event loop
        while True:
            try:
                yield anyio.from_thread.run(next_chunk, token=loop_token)
            except StopAsyncIteration:
                return

    await anyio.to_thread.run_sync(_services(request).artifact_destination().write_stream, relative, chunks())
    return Response(status_code=200)  # MLflow answers an upload with an empty body


@router.delete("/artifacts/{path:path}", include_in_schema=False)
async def delete_artifact(request: Request, path: str) -> Response:
    relative = safe_relative_path(path)
    if not relative:
        raise InvalidInput("refusing to delete the whole artifact store")
    await run_in_threadpool(_services(request).artifact_destination().delete_artifacts, relative)
    return JSONResponse({})
