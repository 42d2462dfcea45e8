"""File triggers (Airflow's): ``FileTrigger`` fires when a path or glob pattern matches a file;
``FileDeleteTrigger`` and ``DirectoryFileDeleteTrigger`` fire when a file appears and delete
it — event triggers, for asset watchers (one event per file dropped)."""

from __future__ import annotations

import asyncio
import glob
import os
from collections.abc import AsyncIterator
from typing import Any

from trackflow.pipelines.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent, classpath_of


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


async def _take_file(path: str, poke_interval: float) -> None:
    """Wait until ``path`` is a file, then delete it (another watcher may have taken it first)."""
    while True:
        if await asyncio.to_thread(os.path.isfile, path):
            try:
                await asyncio.to_thread(os.unlink, path)
                return
            except FileNotFoundError:
                pass
        await asyncio.sleep(poke_interval)


class FileDeleteTrigger(BaseEventTrigger):
    """Fires once ``filepath`` is a file, after deleting it."""

    def __init__(self, filepath: str, poke_interval: float = 5.0, **kwargs: Any) -> None:
        super().__init__()
        self.filepath = filepath
        self.poke_interval = float(poke_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return classpath_of(self), {"filepath": self.filepath, "poke_interval": self.poke_interval}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await _take_file(self.filepath, self.poke_interval)
        yield TriggerEvent(True)


class DirectoryFileDeleteTrigger(BaseEventTrigger):
    """Fires once ``filename`` appears in ``directory``, after deleting it. (Airflow lets such
    triggers share one directory scan; here each scans for its own file.)"""

    def __init__(self, *, directory: str, filename: str, poke_interval: float = 5.0) -> None:
        super().__init__()
        if os.sep in filename:
            raise ValueError(f"filename must be a name in the directory, not a path: {filename!r}")
        self.directory = directory
        self.filename = filename
        self.poke_interval = float(poke_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return classpath_of(self), {"directory": self.directory, "filename": self.filename,
                                    "poke_interval": self.poke_interval}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await _take_file(os.path.join(self.directory, self.filename), self.poke_interval)
        yield TriggerEvent(True)
