"""Opaque page tokens: base64 of a small JSON document holding the next offset."""

from __future__ import annotations

import base64
import binascii
import json

from trackflow.errors import InvalidInput


def encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_page_token(token: str | None) -> int:
    """The offset a token points at; 0 for no token. InvalidInput for a forged or broken one."""
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise InvalidInput(f"invalid page token {token!r}") from None
    if not isinstance(offset, int) or offset < 0:
        raise InvalidInput(f"invalid page token {token!r}")
    return offset
