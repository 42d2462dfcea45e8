"""Assets and data-aware scheduling (Airflow 3's model) on real processes: a task's outlets
record events when it succeeds (never when it fails); DAGs scheduled on one asset, on all of
two (``&``, a list) or on either (``|``) run once per update, with the events that started
them; events from the REST API, the CLI and the model registry start runs too; each update
starts a consumer's run exactly once, also when the scheduler stops between the event and
the run. The condition logic itself is pure and tested first."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from executor_harness import FAST, Deployment, deployment
from pipeline_helpers import DAGS, wait_for

from servers import ThreadServer
from trackflow import Asset, AssetAlias, AssetOrTimeSchedule, CronTriggerTimetable
from trackflow.config import Settings
from trackflow.entities.assets import NewAssetEvent
from trackflow.errors import InvalidInput
from trackflow.pipelines.authoring.assets import condition_of
from trackflow.pipelines.scheduler import asset_triggers
from trackflow.pipelines.scheduler.timetables import deserialize_timetable, timetable_from_schedule
from trackflow.server.app import create_app

DAG_IDS = ("produce_raw", "produce_clean", "on_raw", "on_both", "on_either", "deploy_champion", "on_experiment")
RAW = "s3://lake/raw.csv"


# Pure ------------------------------------------------------------------------------------------
def test_an_asset_is_its_name_and_uri_either_defaulting_to_the_other() -> None:
    assert (Asset("s3://b/k").name, Asset("s3://b/k").uri) == ("s3://b/k", "s3://b/k")
    assert (Asset(uri="s3://b/k").name, Asset(name="n").uri) == ("s3://b/k", "n")
    assert Asset("a") == Asset(name="a", uri="a") and Asset("a") != Asset("b")
    with pytest.raises(InvalidInput, match="name or a uri"):
        Asset()
    with pytest.raises(InvalidInput, match="asset name"):
        Asset("")


def test_conditions_all_any_and_lists() -> None:
    a, b, c = Asset("a"), Asset("b"), Asset("c")
    both, either, nested = condition_of([a, b]), condition_of(a | b), condition_of(a & (b | c))
    assert both is not None and either is not None and nested is not None
    assert asset_triggers.holds(both, {"a", "b"}) and not asset_triggers.holds(both, {"a"})
    assert asset_triggers.holds(either, {"b"}) and not asset_triggers.holds(either, {"c"})
    assert asset_triggers.holds(nested, {"a", "c"}) and not asset_triggers.holds(nested, {"b", "c"})
    assert asset_triggers.consumed(nested, {"a", "c", "z"}) == {"a", "c"}
    assert asset_triggers.summary(nested) == "a & (b | c)"
    assert condition_of("@daily") is None and condition_of(None) is None


def test_asset_schedules_serialize_and_come_back() -> None:
    assets_only = timetable_from_schedule([Asset("a"), Asset("b")])
    a, b = ({"asset": {"name": n, "uri": n, "group": "asset"}} for n in "ab")
    assert assets_only.serialize() == {"kind": "assets", "condition": {"all": [a, b]}}
    assert assets_only.summary == "Asset: a & b" and not assets_only.periodic
    mixed = AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 1 * * 3", timezone="UTC"), assets=(Asset("a"),))
    again = deserialize_timetable(mixed.serialize())
    assert again.serialize() == mixed.serialize() and again.periodic
    assert again.summary == "0 1 * * 3 or Asset: a"
    on_alias = timetable_from_schedule(AssetAlias("x") | Asset("a"))
    assert on_alias.summary == "Asset: alias x | a"
    resolved = {"x": {"b"}}
    assert asset_triggers.holds({"alias": {"name": "x"}}, {"b"}, resolved)
    assert not asset_triggers.holds({"alias": {"name": "x"}}, {"b"})  # not resolved yet
    assert asset_triggers.consumed(condition_of([AssetAlias("x"), Asset("a")]) or {}, {"a", "b", "c"},
                                   resolved) == {"a", "b"}


# On real processes -------------------------------------------------------------------------------
def lines(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    (tmp_path / "dags").mkdir()
    (tmp_path / "out").mkdir()
    shutil.copy(DAGS / "assets.py", tmp_path / "dags" / "assets.py")
    monkeypatch.setenv("TF_TEST_OUT", str(tmp_path / "out"))
    return Settings(home=str(tmp_path / "home"), dags_folder=str(tmp_path / "dags"))


def runs_of(d: Deployment, dag_id: str) -> list[str]:
    return [r.state for r in d.pipelines.store.list_dag_runs(dag_id)]


def settle(d: Deployment, expected: dict[str, int]) -> None:
    """Wait until each DAG has ``expected`` finished runs and nothing runs any more."""
    def done() -> bool:
        d.service.wake()
        counts = {dag_id: runs_of(d, dag_id) for dag_id in expected}
        return all(len(c) == expected[k] and set(c) <= {"success", "failed"} for k, c in counts.items())

    wait_for(done, f"runs {expected}")
    wait_for(lambda: not d.service.executor.running(), "task processes to exit")


@pytest.mark.parametrize("executor", ["local", "celery-redis"])
def test_outlets_start_the_dags_scheduled_on_them_once(settings: Settings, tmp_path: Path, executor: str) -> None:
    out = tmp_path / "out"
    with deployment(settings, executor, FAST, dag_ids=DAG_IDS) as d:
        d.pipelines.trigger("produce_raw", run_id="p1")
        assert d.run_to_end("produce_raw", "p1") == "success"
        settle(d, {"on_raw": 1, "on_either": 1, "on_both": 0})
        [given] = lines(out / "on_raw.txt")
        assert given == {RAW: [{"extra": {"rows": 3}, "source_dag_id": "produce_raw", "source_task_id": "extract",
                                "source": "task"}]}
        assert lines(out / "on_either.txt") == [[RAW]]

        # clean arrives (its DAG's other task fails: a failed task records no event for its outlet)
        d.pipelines.trigger("produce_clean", run_id="p2")
        assert d.run_to_end("produce_clean", "p2") == "failed"
        settle(d, {"on_raw": 1, "on_either": 2, "on_both": 1})
        [both] = lines(out / "on_both.txt")
        assert sorted(both) == ["clean", RAW]  # raw's update waited for clean's
        assert lines(out / "on_either.txt")[1] == ["clean"]
        assert runs_of(d, "on_raw") == ["success"]
        events = d.pipelines.assets.list_events(RAW)
        assert [(e.source_dag_id, e.source_task_id) for e in events] == [("produce_raw", "extract")]


def test_events_from_the_api_the_cli_and_the_registry_start_runs(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with deployment(settings, "local", FAST, dag_ids=DAG_IDS) as d:
        app = create_app(settings)
        with ThreadServer(app) as server:
            api = f"{server.url}/api/v1"
            event = requests.post(f"{api}/assets/events", json={"uri": RAW, "extra": {"from": "api"}}, timeout=30)
            assert event.status_code == 200, event.text
            assert event.json()["source"] == "api" and event.json()["asset_name"] == RAW
            settle(d, {"on_raw": 1, "on_either": 1})
            run_id = d.pipelines.store.list_dag_runs("on_raw")[0].run_id
            assert run_id.startswith("asset_triggered__")
            detail = requests.get(f"{api}/dags/on_raw/dagRuns/{run_id}", timeout=30).json()
            assert [e["extra"] for e in detail["triggering_asset_events"]] == [{"from": "api"}]
            listed = {a["name"]: a for a in requests.get(f"{api}/assets", timeout=30).json()["assets"]}
            assert listed[RAW]["consuming_dags"] == ["on_both", "on_either", "on_raw"]
            bad = requests.post(f"{api}/assets/events", json={"extra": {}}, timeout=30)
            assert bad.status_code == 400 and "name the asset" in bad.json()["message"]
            assert requests.post(f"{api}/assets/events", json={"asset_id": 999}, timeout=30).status_code == 404

            env = {**os.environ, "TRACKFLOW_TRACKING_URI": server.url}
            cli = subprocess.run([sys.executable, "-m", "trackflow", "assets", "emit", RAW, "--extra", '{"n": 2}'],
                                 capture_output=True, text=True, env=env, timeout=60)
            assert cli.returncode == 0 and "Recorded event" in cli.stdout, cli.stderr
            settle(d, {"on_raw": 2, "on_either": 2})
            assert lines(out / "on_raw.txt")[1][RAW][0]["extra"] == {"n": 2}
            bad_cli = subprocess.run([sys.executable, "-m", "trackflow", "assets", "emit", RAW, "--extra", "[1]"],
                                     capture_output=True, text=True, env=env, timeout=60)
            assert bad_cli.returncode == 2 and "JSON object" in bad_cli.stderr

            # trackflow's join: moving an alias in the registry updates model://iris@champion
            from trackflow.registry.client import Client

            client = Client(server.url)
            client.create_registered_model("iris")
            version = client.create_model_version("iris", str(tmp_path / "model"), run_id=None)
            client.set_registered_model_alias("iris", "champion", version.version)
            settle(d, {"deploy_champion": 1})
            [deployed] = lines(out / "deploy.txt")
            assert deployed["model://iris@champion"][0]["extra"] == {"name": "iris", "version": "1",
                                                                      "alias": "champion"}
            assert deployed["model://iris@champion"][0]["source"] == "registry"
            client.set_registered_model_alias("iris", "champion", version.version)  # no move: no event
            assert len(d.pipelines.assets.list_events("model://iris@champion")) == 1

            # and a tracked run that finishes updates experiment://<its experiment> (failing does not)
            experiment_id = client.create_experiment("iris-training")
            failed = client.create_run(experiment_id, run_name="bad-lr")
            client.set_terminated(failed.info.run_id, "FAILED")
            good = client.create_run(experiment_id, run_name="good-lr")
            client.set_terminated(good.info.run_id)
            client.set_terminated(good.info.run_id)  # already finished: no second event
            settle(d, {"on_experiment": 1})
            [compared] = lines(out / "experiment.txt")
            assert compared["experiment://iris-training"] == [{
                "extra": {"run_id": good.info.run_id, "run_name": "good-lr", "experiment_id": experiment_id},
                "source": "tracking", "source_dag_id": None, "source_task_id": None}]
            assert len(d.pipelines.assets.list_events("experiment://iris-training")) == 1
        app.state.services.db.dispose()


def test_an_update_starts_one_run_across_a_scheduler_restart(settings: Settings) -> None:
    from trackflow.entities.assets import NewAssetEvent
    from trackflow.pipelines.operations import Pipelines
    from trackflow.pipelines.operations import utcnow as now

    with deployment(settings, "local", FAST, dag_ids=DAG_IDS):
        pass  # parsed: on_raw consumes raw; the scheduler is gone now
    p = Pipelines(settings)
    p.assets.record_events([NewAssetEvent(RAW, RAW, source="api")], now())  # between event and run: no scheduler
    assert p.store.list_dag_runs("on_raw") == []
    with deployment(settings, "local", FAST) as d:
        settle(d, {"on_raw": 1, "on_either": 1})
    with deployment(settings, "local", FAST) as d:  # again: the update was consumed with the run
        d.service.wake()
        wait_for(lambda: d.service.last_tick is not None, "a tick")
        d.service.wake()
        wait_for(lambda: not d.service.executor.running(), "idle")
        assert runs_of(d, "on_raw") == ["success"]
    assert p.assets.queued("on_raw") == set()



def test_a_dag_scheduled_on_an_alias_runs_for_the_assets_it_resolves_to(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with deployment(settings, "local", FAST, dag_ids=("produce_via_alias", "on_alias")) as d:
        # the alias resolves to nothing yet: an event of the asset it will resolve to starts nothing
        d.pipelines.assets.record_events([NewAssetEvent("s3://lake/picked.csv", "s3://lake/picked.csv",
                                                        source="api")], datetime.now(UTC))
        d.pipelines.trigger("produce_via_alias", run_id="p1")
        assert d.run_to_end("produce_via_alias", "p1") == "success"
        settle(d, {"on_alias": 1})
        [given] = lines(out / "on_alias.txt")
        assert given == {"s3://lake/picked.csv": [
            {"extra": {"picked": True}, "source_dag_id": "produce_via_alias", "source_task_id": "pick",
             "source": "task"}]}
        assert d.pipelines.assets.resolutions() == {"dynamic": {"s3://lake/picked.csv"}}
        # resolved: from now on the asset's own events start the DAG too (as Airflow)
        d.pipelines.assets.record_events([NewAssetEvent("s3://lake/picked.csv", "s3://lake/picked.csv",
                                                        source="api")], datetime.now(UTC))
        settle(d, {"on_alias": 2})


def test_an_asset_function_is_a_dag_whose_success_updates_it(settings: Settings, tmp_path: Path) -> None:
    dag_ids = ("daily_table", "weekly_rollup", "publish_reports", "on_reports")
    with deployment(settings, "local", FAST, dag_ids=dag_ids) as d:
        spec = d.pipelines.spec("weekly_rollup")
        assert [t.task_id for t in spec.tasks] == ["weekly_rollup"]
        d.pipelines.trigger("daily_table", run_id="d1")
        assert d.run_to_end("daily_table", "d1") == "success"
        settle(d, {"weekly_rollup": 1, "publish_reports": 1, "on_reports": 1})
        assert lines(tmp_path / "out" / "weekly.txt") == [
            {"rows": 7, "self": "weekly_rollup", "triggered_by": ["daily_table"]}]
        [event] = d.pipelines.assets.list_events("daily_table")
        assert (event.asset_uri, event.source_task_id) == ("s3://lake/daily.parquet", "daily_table")
        # @asset.multi: one task updates both outlets; a DAG scheduled on it waits for all of them
        assert [e.extra for e in d.pipelines.assets.list_events("report_pdf")] == [{"pages": 2}]
        assert len(d.pipelines.assets.list_events("report_csv")) == 1
        assert lines(tmp_path / "out" / "reports.txt") == [["report_csv", "report_pdf"]]


def test_a_uri_reference_schedules_on_the_asset_with_that_uri(tmp_path: Path) -> None:
    from trackflow.pipelines.operations import Pipelines
    from trackflow.pipelines.operations import utcnow as now

    folder = tmp_path / "refs"
    folder.mkdir()
    (folder / "producer.py").write_text(
        "from datetime import datetime\nfrom trackflow import Asset, dag, task\n\n"
        "@dag(schedule=None, start_date=datetime(2025, 1, 1))\ndef make_clean():\n"
        "    @task(outlets=[Asset(name='clean', uri='s3://lake/clean.parquet')])\n"
        "    def write():\n        pass\n\n    write()\n\nmake_clean()\n")
    (folder / "consumer.py").write_text(
        "from datetime import datetime\nfrom trackflow import Asset, dag, task\n\n"
        "@dag(schedule=Asset.ref(uri='s3://lake/clean.parquet') | Asset.ref(uri='s3://lake/nobody'),\n"
        "     start_date=datetime(2025, 1, 1))\ndef on_clean_uri():\n"
        "    @task\n    def read():\n        pass\n\n    read()\n\non_clean_uri()\n")
    p = Pipelines(Settings(home=str(tmp_path / "home"), dags_folder=str(folder)))
    p.sync_folder()
    assert p.import_errors() == []
    consumers = p.assets.consumers()
    assert consumers["clean"] == ["on_clean_uri"]  # the reference took the declared asset's name
    assert consumers["s3://lake/nobody"] == ["on_clean_uri"]  # undeclared: named by its uri, as Asset(uri=)
    p.assets.record_events([NewAssetEvent("clean", "s3://lake/clean.parquet", source="api")], now())
    assert p.assets.queued("on_clean_uri") == {"clean"}
    with pytest.raises(InvalidInput, match="one of them"):
        Asset.ref(name="a", uri="b")


def test_asset_access_control_is_checked_and_kept() -> None:
    from trackflow import Asset, AssetAccessControl

    control = AssetAccessControl(producer_teams=["analytics"], allow_global=False)
    assert Asset("shared", access_control=control).access_control == control
    with pytest.raises(InvalidInput, match="producer_teams must be a list of non-empty strings"):
        AssetAccessControl(producer_teams=["analytics", " "])
    with pytest.raises(InvalidInput, match="allow_global must be True or False"):
        AssetAccessControl(allow_global="no")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="access_control must be an AssetAccessControl"):
        Asset("shared", access_control={"producer_teams": []})  # type: ignore[arg-type]
