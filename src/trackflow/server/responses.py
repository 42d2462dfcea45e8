"""A JSON response rendered by orjson (fast, and NaN-safe because we encode NaN as strings), and
a Content-Disposition header that no file name can break out of."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import orjson
from starlette.responses import JSONResponse as _StarletteJSONResponse


class JSONResponse(_StarletteJSONResponse):
    """Starlette's JSONResponse (so FastAPI documents routes' JSON bodies by their schemas)
    with orjson as the encoder."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def content_disposition(kind: str, filename: str) -> str:
    """``kind; filename="..."`` for ``filename`` as a user named it: the quoted name keeps only
    printable ASCII other than ``"`` and ``\\`` (so no CR/LF, quote or byte outside latin-1
    reaches the header), and RFC 6266's ``filename*`` carries the exact name percent-encoded."""
    fallback = re.sub(r'[^\x20-\x7e]|["\\]', "_", filename) or "download"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
