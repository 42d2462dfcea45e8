"""Caps every request body at Settings.max_upload_mb.

A declared Content-Length over the cap is answered 413 before a byte of the body is read; a
streamed (chunked) body is counted as it arrives and the request fails with TooLarge the
moment it passes the cap, so an upload is refused without being held in memory or left half
stored (the artifact stores write through a temporary file that a failed write removes).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trackflow.errors import TooLarge
from trackflow.server.errors import error_response


def _too_large(max_bytes: int) -> str:
    return f"the request body is larger than the server's limit of {max_bytes / 2**20:g} MB (max_upload_mb)"


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP server refuses a malformed length before we run
    return None


class BodyLimitMiddleware:
    """413 for a request whose body is larger than ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            response = error_response(TooLarge.error_code, _too_large(self.max_bytes), 413)
            response.headers["Connection"] = "close"  # the unread body is not drained
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise TooLarge(_too_large(self.max_bytes))
            return message

        await self.app(scope, counting_receive, send)
