"""Event-driven scheduling: a DAG on an asset whose watchers fire when a file is dropped."""

import json
import os
from datetime import datetime
from pathlib import Path

from trackflow import Asset, AssetWatcher, dag, get_current_context, task
from trackflow.pipelines.triggers import DirectoryFileDeleteTrigger, FileDeleteTrigger

INBOX = Path(os.environ.get("TF_WATCH_DIR", "/nonexistent"))
DROPS = Asset("drops", uri="file://inbox", watchers=[
    AssetWatcher("flag", FileDeleteTrigger(filepath=str(INBOX / "flag"), poke_interval=0.1)),
    AssetWatcher("eu", DirectoryFileDeleteTrigger(directory=str(INBOX), filename="eu.flag", poke_interval=0.1)),
])


@dag(schedule=[DROPS], start_date=datetime(2025, 1, 1))
def on_drop():
    @task
    def react() -> None:
        events = get_current_context()["triggering_asset_events"]
        with open(Path(os.environ["TF_TEST_OUT"]) / "drops.jsonl", "a") as fh:
            fh.write(json.dumps([e.extra for evs in events.values() for e in evs]) + "\n")

    react()


on_drop()
