"""A JSON response rendered by orjson (fast, and NaN-safe because we encode NaN as strings)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse as _StarletteJSONResponse


class JSONResponse(_StarletteJSONResponse):
    """Starlette's JSONResponse (so FastAPI documents routes' JSON bodies by their schemas)
    with orjson as the encoder."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
