"""``macros`` in templates: ``{{ macros.ds_add(ds, 7) }}`` and friends, as in Airflow."""

from __future__ import annotations

import json  # noqa: F401 - exposed to templates
import random  # noqa: F401
import time  # noqa: F401
import uuid  # noqa: F401
from datetime import date, datetime, timedelta  # noqa: F401


def ds_add(ds: str, days: int) -> str:
    """``ds_add("2025-01-01", 5)`` -> ``"2025-01-06"``."""
    if not days:
        return str(ds)
    return (datetime.strptime(str(ds), "%Y-%m-%d") + timedelta(days=days)).strftime("%Y-%m-%d")


def ds_format(ds: str, input_format: str, output_format: str) -> str:
    """``ds_format("2025-01-05", "%Y-%m-%d", "%m-%d-%y")`` -> ``"01-05-25"``."""
    return datetime.strptime(str(ds), input_format).strftime(output_format)
