"""A small JSON-over-HTTP helper shared by REST stores: keep-alive session, error mapping."""

from __future__ import annotations

from typing import Any

import orjson
import requests

from trackflow.config import Settings
from trackflow.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TrackflowError,
    Unauthenticated,
)

_ERRORS: dict[str, type[TrackflowError]] = {
    "RESOURCE_DOES_NOT_EXIST": NotFound,
    "RESOURCE_ALREADY_EXISTS": AlreadyExists,
    "INVALID_PARAMETER_VALUE": InvalidInput,
    "BAD_REQUEST": InvalidInput,
    "INVALID_STATE": Conflict,
    "UNAUTHENTICATED": Unauthenticated,
    "PERMISSION_DENIED": PermissionDenied,
}


class HttpJsonClient:
    """Calls ``{base_url}{path}`` with JSON bodies; maps error responses to trackflow errors."""

    def __init__(self, base_url: str, timeout: float = 120.0, token: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()  # keep-alive: one TCP connection for many calls
        if token:  # a server with auth on (TRACKFLOW_TRACKING_TOKEN)
            self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        data = None if body is None else orjson.dumps(body)
        headers = {"Content-Type": "application/json"} if data is not None else {}
        try:
            response = self.session.request(
                method, self.base_url + path, data=data, params=params, headers=headers, timeout=self.timeout
            )
        except requests.ConnectionError as exc:
            raise TrackflowError(f"cannot reach the trackflow server at {self.base_url}: {exc}") from None
        raise_for_error(response)
        if not response.content:
            return None
        return orjson.loads(response.content)


def server_api(settings: Settings) -> HttpJsonClient | None:
    """A client of the /api/v1 of the server the tracking URI names (sending the API token),
    or None when the tracking URI is a database."""
    uri = settings.resolved_tracking_uri
    if not uri.startswith(("http://", "https://")):
        return None
    return HttpJsonClient(uri.rstrip("/") + "/api/v1", token=settings.tracking_token)


def _error_from(response: requests.Response) -> TrackflowError:
    try:
        payload = response.json()
        code, message = payload.get("error_code", ""), payload.get("message") or str(payload)
    except ValueError:
        code, message = "", response.text[:500]
    # MLflow's routes answer 403 with plain text (as MLflow's basic-auth app does): still a refusal
    by_status = {404: NotFound, 403: PermissionDenied, 401: Unauthenticated}
    error_type = _ERRORS.get(code, by_status.get(response.status_code, TrackflowError))
    if response.status_code >= 500:
        message = f"server error {response.status_code}: {message}"
    return error_type(message)


def raise_for_error(response: requests.Response) -> None:
    """The trackflow error an error response stands for (for calls that are not JSON bodies)."""
    if response.status_code >= 400:
        raise _error_from(response)
