"""Secrets out of task logs: a variable read under a key that looks secret (Airflow's list:
password, secret, passwd, authorization, api_key, apikey, access_token, private_key, token)
has its value replaced by ``***`` in what the task prints or logs through Python."""

from __future__ import annotations

import threading
from typing import Any, TextIO

SENSITIVE = ("password", "secret", "passwd", "authorization", "api_key", "apikey", "access_token", "private_key",
             "token")
MIN_LENGTH = 4  # shorter values would mask ordinary text

_secrets: set[str] = set()
_lock = threading.Lock()


def mask_if_secret(key: str, value: str) -> None:
    if any(word in key.lower() for word in SENSITIVE) and len(value) >= MIN_LENGTH:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return text


class RedactingStream:
    """A text stream that writes through ``redact`` (a task's sys.stdout and sys.stderr)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text) if _secrets else text)
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
