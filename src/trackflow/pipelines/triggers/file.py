"""File trigger (Airflow's ``FileTrigger``): fires when a path or glob pattern matches a file."""

from __future__ import annotations

import asyncio
import glob
import os
from collections.abc import AsyncIterator
from typing import Any

from trackflow.pipelines.triggers.base import BaseTrigger, TriggerEvent, classpath_of


def matching_files(pattern: str, recursive: bool = False) -> list[str]:
    """Files (not directories) that ``pattern`` matches; a directory counts through its files
    when ``recursive`` (as Airflow's FileSensor)."""
    found: list[str] = []
    for path in glob.glob(pattern, recursive=recursive):
        if os.path.isfile(path):
            found.append(path)
        elif recursive and os.path.isdir(path):
            found.extend(os.path.join(root, name) for root, _, names in os.walk(path) for name in names)
    return found


class FileTrigger(BaseTrigger):
    def __init__(self, filepath: str, recursive: bool = False, poke_interval: float = 5.0) -> None:
        super().__init__()
        self.filepath = filepath
        self.recursive = recursive
        self.poke_interval = float(poke_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return classpath_of(self), {"filepath": self.filepath, "recursive": self.recursive,
                                    "poke_interval": self.poke_interval}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            if await asyncio.to_thread(matching_files, self.filepath, self.recursive):
                yield TriggerEvent(True)
                return
            await asyncio.sleep(self.poke_interval)
