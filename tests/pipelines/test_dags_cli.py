"""`trackflow dags ...` end to end: real DAG files, real subprocesses, real SQLite files."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline_helpers import CLI, DAGS

from trackflow.config import Settings
from trackflow.store.sql.pipeline_store import SqlPipelineStore
from trackflow.tracking.client import Client


def states(store: SqlPipelineStore, dag_id: str) -> tuple[str, dict[str, str | None]]:
    run = store.list_dag_runs(dag_id)[0]
    tis = store.list_task_instances(dag_id, run.run_id)
    return run.state, {t.task_id if t.map_index < 0 else f"{t.task_id}[{t.map_index}]": t.state for t in tis}


def value(store: SqlPipelineStore, dag_id: str, task_id: str, key: str = "return_value") -> object:
    from trackflow.pipelines.runtime.outputs import Outputs

    run = store.list_dag_runs(dag_id)[0]
    return Outputs.of_run(store, dag_id, run.run_id).get(task_id, key)


def test_taskflow_values_templates_params_and_environment(cli: CLI, store: SqlPipelineStore) -> None:
    proc = cli("dags", "test", "taskflow_etl", "--dags-folder", str(DAGS), "--logical-date", "2025-03-04",
               "--conf", '{"multiplier": 10}', env={"TF_TEST_ENV": "from-shell"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "report -> success" in proc.stdout
    state, tis = states(store, "taskflow_etl")
    assert state == "success" and set(tis.values()) == {"success"}
    assert value(store, "taskflow_etl", "extract", "numbers") == [1, 2, 3]
    assert value(store, "taskflow_etl", "transform") == 60
    assert value(store, "taskflow_etl", "load") == "memory:60:2025-03-04:from-shell"
    assert value(store, "taskflow_etl", "load_again") == "copy:60:2025-03-04:from-shell"
    run = store.list_dag_runs("taskflow_etl")[0]
    expected = f"run 2025-03-04 {run.run_id} report memory:60:2025-03-04:from-shell"
    assert value(store, "taskflow_etl", "report") == expected
    lineage = {(e.producer_task_id, e.key, e.consumer_task_id) for e in store.get_lineage("taskflow_etl", run.run_id)}
    assert {("extract", "numbers", "transform"), ("transform", "return_value", "load"),
            ("extract", "source", "load"), ("load", "return_value", "report")} <= lineage


def test_conf_not_matching_params_is_refused_before_anything_runs(cli: CLI, store: SqlPipelineStore) -> None:
    proc = cli("dags", "test", "taskflow_etl", "--dags-folder", str(DAGS), "--conf", '{"multiplier": 0}')
    assert proc.returncode == 2
    assert "param 'multiplier'" in proc.stderr and "Traceback" not in proc.stderr
    assert store.list_dag_runs("taskflow_etl") == []
    bad_json = cli("dags", "test", "taskflow_etl", "--dags-folder", str(DAGS), "--conf", "{nope")
    assert bad_json.returncode == 2 and "--conf is not valid JSON" in bad_json.stderr


def test_branching_and_short_circuit(cli: CLI, store: SqlPipelineStore) -> None:
    proc = cli("dags", "test", "branching", "--dags-folder", str(DAGS))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _, tis = states(store, "branching")
    assert tis == {
        "start": "success", "choose": "success", "left": "success", "right": "skipped",
        "after_right": "skipped", "join": "success", "join_all_success": "skipped",
        "pick_many": "success", "b1": "success", "b2": "success", "b3": "skipped",
        "check": "success", "s1": "skipped", "s2": "skipped",
        "soft_check": "success", "t1": "skipped", "t2": "success",
        "go_on": "success", "after_go": "success",
    }


def test_trigger_rules_match_airflow(cli: CLI, store: SqlPipelineStore) -> None:
    proc = cli("dags", "test", "trigger_rules", "--dags-folder", str(DAGS))
    assert proc.returncode == 1  # 'bad' fails, so leaves downstream of it fail the run
    _, tis = states(store, "trigger_rules")
    expected = {
        # rule: (ok+bad, ok+skipped, bad+skipped, ok)
        "all_success": ("upstream_failed", "skipped", "upstream_failed", "success"),
        "all_failed": ("skipped", "skipped", "skipped", "skipped"),
        "all_done": ("success", "success", "success", "success"),
        "one_success": ("success", "success", "upstream_failed", "success"),
        "one_failed": ("success", "skipped", "success", "skipped"),
        "none_failed": ("upstream_failed", "success", "upstream_failed", "success"),
        "none_skipped": ("success", "skipped", "skipped", "success"),
        "none_failed_min_one_success": ("upstream_failed", "success", "upstream_failed", "success"),
        "always": ("success", "success", "success", "success"),
        "all_skipped": ("skipped", "skipped", "skipped", "skipped"),
        "one_done": ("success", "success", "success", "success"),
    }
    # all_success decides eagerly (as Airflow): whichever of 'bad' / 'skipped' finishes first wins
    assert tis.pop("all_success__bad_skip") in ("upstream_failed", "skipped")
    for rule, outcome in expected.items():
        got = tuple(tis.get(f"{rule}__{case}", want) for case, want in zip(
            ("ok_bad", "ok_skip", "bad_skip", "ok"), outcome, strict=True))
        assert got == outcome, rule
    assert tis["chain1"] == tis["chain2"] == "upstream_failed"


def test_mapping_over_lists_and_upstream_results(cli: CLI, store: SqlPipelineStore) -> None:
    proc = cli("dags", "test", "mapping", "--dags-folder", str(DAGS))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _, tis = states(store, "mapping")
    assert [tis[f"add[{i}]"] for i in range(4)] == ["success"] * 4
    assert value(store, "mapping", "total") == 11 + 12 + 13 + 14
    assert value(store, "mapping", "total_pairs") == 101 + 201 + 102 + 202
    assert tis["add__2"] == "skipped" and tis["after_empty"] == "skipped"
    assert value(store, "mapping", "echo") == ["one", "two"]
    run_id = store.list_dag_runs("mapping")[0].run_id
    unnamed = cli("dags", "logs", "mapping", run_id, "add")
    assert unnamed.returncode == 2 and "Traceback" not in unnamed.stderr
    assert "task 'add'" in unnamed.stderr and "is mapped" in unnamed.stderr and "0..3" in unnamed.stderr
    assert cli("dags", "logs", "mapping", run_id, "add", "--map-index", "2").returncode == 0


def test_retries_timeouts_hard_exits_and_callbacks(cli: CLI, store: SqlPipelineStore, home: Path) -> None:
    proc = cli("dags", "test", "retries", "--dags-folder", str(DAGS))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    state, tis = states(store, "retries")
    assert state == "failed"
    assert tis == {"flaky": "success", "always_fails": "failed", "too_slow": "failed", "exits_hard": "failed"}
    run = store.list_dag_runs("retries")[0]
    ti = {t.task_id: t for t in store.list_task_instances("retries", run.run_id)}
    assert (ti["flaky"].try_number, ti["always_fails"].try_number, ti["exits_hard"].try_number) == (3, 2, 3)
    assert "execution_timeout" in (ti["too_slow"].note or "")
    assert "exited with code 3" in (ti["exits_hard"].note or "")
    callbacks = (home.parent / "out" / "callbacks.txt").read_text().split()
    assert callbacks == ["retry:flaky:1", "failure:always_fails:2", "retry:flaky:2", "success:flaky:3"] or \
        sorted(callbacks) == sorted(["retry:flaky:1", "failure:always_fails:2", "retry:flaky:2", "success:flaky:3"])
    assert "RuntimeError: always" in proc.stdout  # the failing try's log is shown


def test_task_groups_and_chain(cli: CLI, store: SqlPipelineStore) -> None:
    proc = cli("dags", "test", "groups", "--dags-folder", str(DAGS))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _, tis = states(store, "groups")
    assert set(tis) == {"start", "extract.a", "extract.b", "extract.inner.c", "process.double", "process.inc",
                        "finish", "end"}
    assert value(store, "groups", "finish") == 41


def test_every_try_is_a_tracked_child_run_and_large_values_go_to_artifacts(
        cli: CLI, store: SqlPipelineStore, home: Path) -> None:
    proc = cli("dags", "test", "tracked_outputs", "--dags-folder", str(DAGS))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = store.list_dag_runs("tracked_outputs")[0]
    client = Client(f"sqlite:///{home / 'trackflow.db'}", settings=Settings(home=str(home)))
    experiment = client.get_experiment_by_name("tracked-outputs-exp")
    assert experiment is not None and run.experiment_id == experiment.experiment_id
    parent = client.get_run(run.tracking_run_id)
    assert parent.info.status.value == "FINISHED" and parent.data.tags["dag_id"] == "tracked_outputs"
    train_ti = store.get_task_instance("tracked_outputs", run.run_id, "train")
    child = client.get_run(train_ti.tracking_run_id)
    assert child.data.tags["mlflow.parentRunId"] == run.tracking_run_id
    assert {k: child.data.tags[k] for k in ("dag_id", "run_id", "task_id", "try_number")} == {
        "dag_id": "tracked_outputs", "run_id": run.run_id, "task_id": "train", "try_number": "1"}
    assert child.data.metrics["loss"] == 0.25 and child.data.params["lr"] == "0.1"
    output = store.get_outputs("tracked_outputs", run.run_id, "train")[0]
    assert output.serializer == "numpy" and output.data is None and output.uri.startswith("runs:/")
    assert value(store, "tracked_outputs", "evaluate") == float(sum(range(100_000)))
    logs = [f.path for f in client.list_artifacts(child.info.run_id, "logs")]
    assert logs == ["logs/attempt=1.log"]
    log_proc = cli("dags", "logs", "tracked_outputs", run.run_id, "train")
    assert log_proc.returncode == 0 and "training done" in log_proc.stdout


def test_list_reports_import_errors_without_stopping_other_dags(cli: CLI) -> None:
    proc = cli("dags", "list", "--dags-folder", str(DAGS), "--output", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    ids = {d["dag_id"] for d in data["dags"]}
    assert {"w1_chain", "taskflow_etl", "branching", "mapping", "groups", "hourly_catchup"} <= ids
    assert "broken_cycle" not in ids
    errors = {Path(e["fileloc"]).name: e["stacktrace"] for e in data["import_errors"]}
    assert "module_that_does_not_exist" in errors["broken_import.py"]
    assert "Traceback" in errors["broken_import.py"]
    assert "cycle detected in DAG 'broken_cycle'" in errors["broken_cycle.py"]


def test_test_of_unknown_or_broken_dag_is_a_clear_error(cli: CLI) -> None:
    unknown = cli("dags", "test", "nope", "--dags-folder", str(DAGS))
    assert unknown.returncode == 2 and "DAG 'nope' not found" in unknown.stderr
    broken = cli("dags", "test", "broken_cycle", "--dags-folder", str(DAGS))
    assert broken.returncode == 2 and "cycle detected" in broken.stderr


def test_w1_chain_of_20(cli: CLI, store: SqlPipelineStore) -> None:
    proc = cli("dags", "test", "w1_chain", "--dags-folder", str(DAGS))
    assert proc.returncode == 0, proc.stderr
    state, tis = states(store, "w1_chain")
    assert state == "success" and len(tis) == 20 and set(tis.values()) == {"success"}
    lines = [line for line in proc.stdout.splitlines() if "-> success" in line and "DAG run" not in line]
    assert [line.split()[1] for line in lines] == [f"t{i:02d}" for i in range(20)]


def test_backfill_trigger_pause_and_bad_input(cli: CLI, store: SqlPipelineStore) -> None:
    proc = cli("dags", "backfill", "hourly_catchup", "-s", "2025-01-01", "-e", "2025-01-01T02:00",
               "--dags-folder", str(DAGS))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 succeeded, 0 failed" in proc.stdout
    runs = store.list_dag_runs("hourly_catchup")
    assert sorted(r.logical_date.hour for r in runs) == [0, 1, 2] and {r.state for r in runs} == {"success"}
    again = cli("dags", "backfill", "hourly_catchup", "-s", "2025-01-01", "-e", "2025-01-01T02:00")
    assert again.returncode == 0 and "3 already covered" in again.stdout
    no_schedule = cli("dags", "backfill", "w1_chain", "-s", "2025-01-01", "-e", "2025-01-02")
    assert no_schedule.returncode == 2 and "has no schedule" in no_schedule.stderr
    trig = cli("dags", "trigger", "taskflow_etl", "--conf", '{"multiplier": 5}', "--run-id", "mine")
    assert trig.returncode == 0 and store.get_dag_run("taskflow_etl", "mine").state == "queued"
    assert cli("dags", "trigger", "taskflow_etl", "--conf", '{"multiplier": -1}').returncode == 2
    assert cli("dags", "pause", "taskflow_etl").returncode == 0 and store.get_dag("taskflow_etl").is_paused
    assert cli("dags", "unpause", "taskflow_etl").returncode == 0 and not store.get_dag("taskflow_etl").is_paused
    missing = cli("dags", "pause", "nope")
    assert missing.returncode == 2 and "DAG 'nope' not found" in missing.stderr
    listing = cli("dags", "runs", "hourly_catchup")
    assert listing.returncode == 0 and "backfill" in listing.stdout


def test_testing_the_same_date_twice_makes_two_runs(cli: CLI, store: SqlPipelineStore) -> None:
    for _ in range(2):
        proc = cli("dags", "test", "branching", "--dags-folder", str(DAGS), "--logical-date", "2025-03-04")
        assert proc.returncode == 0, proc.stderr
    runs = store.list_dag_runs("branching")
    assert len(runs) == 2 and all(r.run_id.startswith("manual__") for r in runs)
    assert {r.logical_date.date().isoformat() for r in runs} == {"2025-03-04"}


def test_mark_and_clear_with_upstream(cli: CLI, store: SqlPipelineStore) -> None:
    assert cli("dags", "test", "taskflow_etl", "--dags-folder", str(DAGS)).returncode == 0
    run_id = store.list_dag_runs("taskflow_etl")[0].run_id
    marked = cli("dags", "mark", "taskflow_etl", run_id, "failed", "-t", "transform", "--upstream")
    assert marked.returncode == 0, marked.stderr
    assert marked.stdout.strip() == "Marked failed: transform, extract"
    _, tis = states(store, "taskflow_etl")
    assert tis["extract"] == tis["transform"] == "failed" and tis["load"] == "success"
    cleared = cli("dags", "clear", "taskflow_etl", run_id, "-t", "load", "--upstream")
    assert cleared.returncode == 0, cleared.stderr
    assert set(cleared.stdout.strip().removeprefix("Cleared: ").split(", ")) == {"load", "transform", "extract"}
    _, tis = states(store, "taskflow_etl")
    assert tis["load"] is None and tis["extract"] is None and tis["report"] == "success"
