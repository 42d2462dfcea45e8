"""The token a model server may require (``models serve --require-token``). Kept apart from the
scoring app so the CLI can hash it without importing prometheus_client before the workers'
metrics directory is set (see serving/server.py)."""

from __future__ import annotations

import hashlib


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
