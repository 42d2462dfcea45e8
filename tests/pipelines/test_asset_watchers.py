"""Asset watchers (Airflow 3's event-driven scheduling): while an unpaused DAG is scheduled on
an asset, the triggerer runs the asset's watcher triggers; each event (a dropped file, taken)
updates the asset and starts the DAG, again after every drop; pausing the DAG stops them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from executor_harness import FAST, deployment
from pipeline_helpers import DAGS, wait_for

from trackflow import Asset, AssetWatcher
from trackflow.config import Settings
from trackflow.errors import InvalidInput
from trackflow.pipelines.triggers import FileDeleteTrigger, FileTrigger
from trackflow.store.sql.trigger_store import SqlTriggerStore


def test_dropped_files_start_the_dag_once_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox, out, folder = tmp_path / "inbox", tmp_path / "out", tmp_path / "dags"
    for d in (inbox, out, folder):
        d.mkdir()
    shutil.copy(DAGS / "watchers.py", folder / "watchers.py")
    monkeypatch.setenv("TF_WATCH_DIR", str(inbox))
    monkeypatch.setenv("TF_TEST_OUT", str(out))
    settings = Settings(home=str(tmp_path / "home"), dags_folder=str(folder))
    with deployment(settings, "local", FAST, dag_ids=("on_drop",)) as d:
        p = d.pipelines
        triggers = SqlTriggerStore(p.store.db)
        wait_for(lambda: triggers.count() == 2, "the two watchers")

        def runs() -> list[str]:
            d.service.wake()
            return [r.state for r in p.store.list_dag_runs("on_drop")]

        (inbox / "flag").write_text("1")
        wait_for(lambda: runs() == ["success"], "a run for the first drop")
        assert not (inbox / "flag").exists()  # taken by the watcher
        (inbox / "eu.flag").write_text("2")
        wait_for(lambda: runs() == ["success", "success"], "a run for the second drop")
        (inbox / "flag").write_text("3")
        wait_for(lambda: runs() == ["success"] * 3, "a run for the third drop")
        lines = (out / "drops.jsonl").read_text().splitlines()
        assert [json.loads(line) for line in lines] == [[{"from_trigger": True, "payload": True}]] * 3
        assert [e.source for e in p.assets.list_events("drops")] == ["trigger"] * 3
        # paused: nobody consumes the drops, so nothing takes them
        p.set_paused("on_drop", True)
        wait_for(lambda: triggers.count() == 0, "the watchers to stop")
        (inbox / "flag").write_text("4")
        p.set_paused("on_drop", False)
        wait_for(lambda: runs() == ["success"] * 4, "the dropped file once watched again")


def test_only_event_triggers_watch_assets() -> None:
    with pytest.raises(InvalidInput, match="BaseEventTrigger"):
        AssetWatcher("w", FileTrigger(filepath="/tmp/x"))
    with pytest.raises(InvalidInput, match="watchers must be AssetWatchers"):
        Asset("a", watchers=[FileDeleteTrigger(filepath="/tmp/x")])
    watcher = AssetWatcher("w", FileDeleteTrigger(filepath="/tmp/x"))
    with pytest.raises(InvalidInput, match="two watchers of the same name"):
        Asset("a", watchers=[watcher, watcher])
