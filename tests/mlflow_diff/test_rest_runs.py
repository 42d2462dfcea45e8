"""Runs, metrics and run-artifact endpoints of MLflow's REST API, on MLflow 3.17.2 and on trackflow
(see scenarios.py)."""

from __future__ import annotations

import pytest
from scenarios import Call, Scenario, get, post, scenario

pytestmark = pytest.mark.slow  # a real MLflow server and a trackflow server

UNKNOWN_RUN = "0123456789abcdef0123456789abcdef"
T0 = 1_700_000_000_000


def experiment_and_run(**run: object) -> list[Call]:
    return [
        post("create experiment", "experiments/create", {"name": "runs-{u}"}, save={"exp": "experiment_id"}),
        post(
            "create run",
            "runs/create",
            {"experiment_id": "{exp}", "start_time": T0, "run_name": "r-{u}", **run},
            save={"run": "run.info.run_id"},
        ),
    ]


def metric(key: str, value: float, timestamp: int = T0, step: int = 0) -> dict[str, object]:
    return {"key": key, "value": value, "timestamp": timestamp, "step": step}


SCENARIOS = [
    scenario(
        "run_create_get_update",
        *experiment_and_run(tags=[{"key": "team", "value": "ml"}], user_id="alice"),
        get("get", "runs/get", {"run_id": "{run}"}),
        get("get with run_uuid", "runs/get", {"run_uuid": "{run}"}),
        post(
            "create with a generated name", "runs/create", {"experiment_id": "{exp}", "start_time": T0}, compare="shape"
        ),
        post(
            "create without start_time",
            "runs/create",
            {"experiment_id": "{exp}", "run_name": "no-start"},
            compare="shape",
        ),
        post("finish", "runs/update", {"run_id": "{run}", "status": "FINISHED", "end_time": T0 + 5}),
        post("rename", "runs/update", {"run_id": "{run}", "run_name": "renamed"}),
        get("get updated", "runs/get", {"run_id": "{run}"}),
        post("update with run_uuid only", "runs/update", {"run_uuid": "{run}", "status": "KILLED"}),
        post("update with a bad status", "runs/update", {"run_id": "{run}", "status": "SLEEPING"}),
        post("update with end_time a string", "runs/update", {"run_id": "{run}", "end_time": "later"}),
        post("update nothing", "runs/update", {"run_id": "{run}"}),
        post(
            "create with a run name tag that disagrees",
            "runs/create",
            {
                "experiment_id": "{exp}",
                "start_time": T0,
                "run_name": "a",
                "tags": [{"key": "mlflow.runName", "value": "b"}],
            },
        ),
        post(
            "create with the run name only as a tag",
            "runs/create",
            {"experiment_id": "{exp}", "start_time": T0, "tags": [{"key": "mlflow.runName", "value": "tagged"}]},
        ),
    ),
    scenario(
        "run_create_errors",
        post("create experiment", "experiments/create", {"name": "runs-{u}"}, save={"exp": "experiment_id"}),
        post("unknown experiment", "runs/create", {"experiment_id": "987654321", "start_time": T0}),
        post("non-numeric experiment", "runs/create", {"experiment_id": "abc", "start_time": T0}),
        post("start_time is a string", "runs/create", {"experiment_id": "{exp}", "start_time": "now"}),
        post(
            "start_time is a numeric string",
            "runs/create",
            {"experiment_id": "{exp}", "start_time": str(T0), "run_name": "s"},
            compare="shape",
        ),
        post("run_name is a number", "runs/create", {"experiment_id": "{exp}", "start_time": T0, "run_name": 5}),
        post("experiment_id is a number", "runs/create", {"experiment_id": 0, "start_time": T0}),
        post("tags is an object", "runs/create", {"experiment_id": "{exp}", "start_time": T0, "tags": {"a": "b"}}),
    ),
    scenario(
        "run_unknown_id",
        get("get", "runs/get", {"run_id": UNKNOWN_RUN}),
        get("get without id", "runs/get", {}),
        post("update", "runs/update", {"run_id": UNKNOWN_RUN, "status": "FINISHED"}),
        post("delete", "runs/delete", {"run_id": UNKNOWN_RUN}),
        post("restore", "runs/restore", {"run_id": UNKNOWN_RUN}),
        post("log metric", "runs/log-metric", {"run_id": UNKNOWN_RUN, **metric("m", 1.0)}),
        post("log param", "runs/log-parameter", {"run_id": UNKNOWN_RUN, "key": "p", "value": "1"}),
        post("set tag", "runs/set-tag", {"run_id": UNKNOWN_RUN, "key": "t", "value": "1"}),
        post("delete tag", "runs/delete-tag", {"run_id": UNKNOWN_RUN, "key": "t"}),
        post("log batch", "runs/log-batch", {"run_id": UNKNOWN_RUN, "params": [{"key": "p", "value": "1"}]}),
        post("log empty batch", "runs/log-batch", {"run_id": UNKNOWN_RUN}),
        post("log inputs", "runs/log-inputs", {"run_id": UNKNOWN_RUN, "datasets": []}),
        get("metric history", "metrics/get-history", {"run_id": UNKNOWN_RUN, "metric_key": "m"}),
        get("list artifacts", "artifacts/list", {"run_id": UNKNOWN_RUN}),
        get("a malformed run id", "runs/get", {"run_id": "not a run id!"}),
    ),
    scenario(
        "run_delete_restore",
        *experiment_and_run(),
        post("delete", "runs/delete", {"run_id": "{run}"}),
        get("get deleted", "runs/get", {"run_id": "{run}"}),
        post("delete again", "runs/delete", {"run_id": "{run}"}),
        post("log metric on deleted", "runs/log-metric", {"run_id": "{run}", **metric("m", 1.0)}),
        post("log param on deleted", "runs/log-parameter", {"run_id": "{run}", "key": "p", "value": "1"}),
        post("set tag on deleted", "runs/set-tag", {"run_id": "{run}", "key": "t", "value": "1"}),
        post("delete tag on deleted", "runs/delete-tag", {"run_id": "{run}", "key": "mlflow.runName"}),
        post("log batch on deleted", "runs/log-batch", {"run_id": "{run}", "params": [{"key": "p", "value": "1"}]}),
        post("update deleted", "runs/update", {"run_id": "{run}", "status": "FINISHED"}),
        post("log inputs on deleted", "runs/log-inputs", {"run_id": "{run}", "datasets": []}),
        get("history of deleted", "metrics/get-history", {"run_id": "{run}", "metric_key": "m"}),
        post("restore", "runs/restore", {"run_id": "{run}"}),
        get("get restored", "runs/get", {"run_id": "{run}"}),
        post("restore active", "runs/restore", {"run_id": "{run}"}),
        post("delete experiment", "experiments/delete", {"experiment_id": "{exp}"}),
        get("get run of deleted experiment", "runs/get", {"run_id": "{run}"}),
        post("restore run of deleted experiment", "runs/restore", {"run_id": "{run}"}),
        post("restore experiment", "experiments/restore", {"experiment_id": "{exp}"}),
        get("get run after experiment restore", "runs/get", {"run_id": "{run}"}),
    ),
    scenario(
        "run_log_metric_param_tag",
        *experiment_and_run(),
        post("log metric", "runs/log-metric", {"run_id": "{run}", **metric("m", 1.5, step=2)}),
        post("log metric with run_uuid", "runs/log-metric", {"run_uuid": "{run}", **metric("u", 1.0)}),
        post("log a numeric string", "runs/log-metric", {"run_id": "{run}", **metric("s", "2.5")}),  # type: ignore[arg-type]
        post("log an integer", "runs/log-metric", {"run_id": "{run}", **metric("i", 3)}),
        post("metric without timestamp", "runs/log-metric", {"run_id": "{run}", "key": "nt", "value": 1.0}),
        post("metric without value", "runs/log-metric", {"run_id": "{run}", "key": "nv", "timestamp": T0}),
        post("metric without key", "runs/log-metric", {"run_id": "{run}", "value": 1.0, "timestamp": T0}),
        post("metric value is text", "runs/log-metric", {"run_id": "{run}", **metric("t", "high")}),  # type: ignore[arg-type]
        post(
            "metric timestamp is text",
            "runs/log-metric",
            {"run_id": "{run}", "key": "x", "value": 1.0, "timestamp": "now"},
        ),
        post(
            "metric step is text",
            "runs/log-metric",
            {"run_id": "{run}", "key": "x", "value": 1.0, "timestamp": T0, "step": "two"},
        ),
        post("metric key is a number", "runs/log-metric", {"run_id": "{run}", "key": 7, "value": 1.0, "timestamp": T0}),
        post("metric key with a bad character", "runs/log-metric", {"run_id": "{run}", **metric("a:b", 1.0)}),
        post("metric key ..", "runs/log-metric", {"run_id": "{run}", **metric("../up", 1.0)}),
        post("metric without run id", "runs/log-metric", metric("x", 1.0)),
        post("log param", "runs/log-parameter", {"run_id": "{run}", "key": "p", "value": "1"}),
        post("log the same param again", "runs/log-parameter", {"run_id": "{run}", "key": "p", "value": "1"}),
        post("change a param", "runs/log-parameter", {"run_id": "{run}", "key": "p", "value": "2"}),
        post("param without value", "runs/log-parameter", {"run_id": "{run}", "key": "empty"}),
        post("param value is a number", "runs/log-parameter", {"run_id": "{run}", "key": "n", "value": 5}),
        post("param without key", "runs/log-parameter", {"run_id": "{run}", "value": "5"}),
        post(
            "param value of 6000 chars", "runs/log-parameter", {"run_id": "{run}", "key": "long", "value": "v" * 6000}
        ),
        post("param key of 251 chars", "runs/log-parameter", {"run_id": "{run}", "key": "k" * 251, "value": "v"}),
        post("set tag", "runs/set-tag", {"run_id": "{run}", "key": "t", "value": "1"}),
        post("overwrite tag", "runs/set-tag", {"run_id": "{run}", "key": "t", "value": "2"}),
        post("tag without value", "runs/set-tag", {"run_id": "{run}", "key": "novalue"}),
        post("tag value is a number", "runs/set-tag", {"run_id": "{run}", "key": "n", "value": 1}),
        post("tag without key", "runs/set-tag", {"run_id": "{run}", "value": "1"}),
        post("set the run name tag", "runs/set-tag", {"run_id": "{run}", "key": "mlflow.runName", "value": "by-tag"}),
        post("delete tag", "runs/delete-tag", {"run_id": "{run}", "key": "t"}),
        post("delete tag again", "runs/delete-tag", {"run_id": "{run}", "key": "t"}),
        post("delete tag without key", "runs/delete-tag", {"run_id": "{run}"}),
        get("get", "runs/get", {"run_id": "{run}"}),
    ),
    scenario(
        "run_log_values_mlflow_accepts",
        *experiment_and_run(),
        post("log NaN", "runs/log-metric", {"run_id": "{run}", **metric("nan", "NaN")}),  # type: ignore[arg-type]
        post("log infinity", "runs/log-metric", {"run_id": "{run}", **metric("inf", "Infinity")}),  # type: ignore[arg-type]
        post("log -infinity", "runs/log-metric", {"run_id": "{run}", **metric("ninf", "-Infinity")}),  # type: ignore[arg-type]
        get("history of NaN", "metrics/get-history", {"run_id": "{run}", "metric_key": "nan"}),
        get("history of infinity", "metrics/get-history", {"run_id": "{run}", "metric_key": "inf"}),
        get("get", "runs/get", {"run_id": "{run}"}),
        post("a bare NaN literal", "runs/log-metric", {"run_id": "{run}", **metric("bare", float("nan"))}),
        post("metric value is a bool", "runs/log-metric", {"run_id": "{run}", **metric("b", True)}),
        post("metric step is a float", "runs/log-metric", {"run_id": "{run}", **metric("x", 1.0, step=1.5)}),  # type: ignore[arg-type]
        post(
            "param value of 6001 chars",
            "runs/log-parameter",
            {"run_id": "{run}", "key": "toolong", "value": "v" * 6001},
        ),
        post("tag value of 8001 chars", "runs/set-tag", {"run_id": "{run}", "key": "big", "value": "v" * 8001}),
        post("batch metric value is text", "runs/log-batch", {"run_id": "{run}", "metrics": [metric("x", "high")]}),  # type: ignore[arg-type]
        post(
            "batch param value is a number",
            "runs/log-batch",
            {"run_id": "{run}", "params": [{"key": "num", "value": 1}]},
        ),
    ),
    scenario(
        "run_log_batch",
        *experiment_and_run(),
        post(
            "batch",
            "runs/log-batch",
            {
                "run_id": "{run}",
                "metrics": [metric("m", 1.0, step=0), metric("m", 2.0, T0 + 1, 1), metric("n", 0.5)],
                "params": [{"key": "a", "value": "1"}, {"key": "b", "value": ""}],
                "tags": [{"key": "t", "value": "x"}],
            },
        ),
        get("get", "runs/get", {"run_id": "{run}"}),
        post("empty batch", "runs/log-batch", {"run_id": "{run}"}),
        post(
            "same param twice in one batch",
            "runs/log-batch",
            {"run_id": "{run}", "params": [{"key": "d", "value": "1"}, {"key": "d", "value": "1"}]},
        ),
        post(
            "same param twice with different values",
            "runs/log-batch",
            {"run_id": "{run}", "params": [{"key": "e", "value": "1"}, {"key": "e", "value": "2"}]},
        ),
        post(
            "same tag twice in one batch",
            "runs/log-batch",
            {"run_id": "{run}", "tags": [{"key": "tt", "value": "1"}, {"key": "tt", "value": "2"}]},
        ),
        post(
            "re-log a param with the same value",
            "runs/log-batch",
            {"run_id": "{run}", "params": [{"key": "a", "value": "1"}]},
        ),
        post("change a logged param", "runs/log-batch", {"run_id": "{run}", "params": [{"key": "a", "value": "9"}]}),
        post(
            "metric without timestamp", "runs/log-batch", {"run_id": "{run}", "metrics": [{"key": "x", "value": 1.0}]}
        ),
        post("metric without value", "runs/log-batch", {"run_id": "{run}", "metrics": [{"key": "x", "timestamp": T0}]}),
        post("metric without key", "runs/log-batch", {"run_id": "{run}", "metrics": [{"value": 1.0, "timestamp": T0}]}),
        post("param without key", "runs/log-batch", {"run_id": "{run}", "params": [{"value": "1"}]}),
        post("tag without key", "runs/log-batch", {"run_id": "{run}", "tags": [{"value": "1"}]}),
        post("metrics is an object", "runs/log-batch", {"run_id": "{run}", "metrics": {"key": "x"}}),
        post("params is a string", "runs/log-batch", {"run_id": "{run}", "params": "a=1"}),
        post("without run id", "runs/log-batch", {"params": [{"key": "a", "value": "1"}]}),
        post(
            "1001 metrics",
            "runs/log-batch",
            {"run_id": "{run}", "metrics": [metric(f"k{i}", 1.0) for i in range(1001)]},
        ),
        post(
            "101 params",
            "runs/log-batch",
            {"run_id": "{run}", "params": [{"key": f"p{i}", "value": "1"} for i in range(101)]},
        ),
        post(
            "1000 metrics",
            "runs/log-batch",
            {"run_id": "{run}", "metrics": [metric(f"k{i}", 1.0) for i in range(1000)]},
        ),
        get("get after", "runs/get", {"run_id": "{run}"}),
    ),
    scenario(
        "run_metric_history",
        *experiment_and_run(),
        post(
            "log out of order",
            "runs/log-batch",
            {
                "run_id": "{run}",
                "metrics": [
                    metric("m", 3.0, T0 + 30, 3),
                    metric("m", 1.0, T0 + 10, 1),
                    metric("m", 2.0, T0 + 20, 5),
                    metric("m", 0.5, T0 + 20, 2),
                    metric("m", 0.1, T0 + 10, 1),
                ],
            },
        ),
        get("history", "metrics/get-history", {"run_id": "{run}", "metric_key": "m"}),
        get(
            "first page",
            "metrics/get-history",
            {"run_id": "{run}", "metric_key": "m", "max_results": "2"},
            save={"token": "next_page_token"},
        ),
        get(
            "second page",
            "metrics/get-history",
            {"run_id": "{run}", "metric_key": "m", "max_results": "2", "page_token": "{token}"},
        ),
        get("max_results 0", "metrics/get-history", {"run_id": "{run}", "metric_key": "m", "max_results": "0"}),
        get("unknown key", "metrics/get-history", {"run_id": "{run}", "metric_key": "nope"}),
        get("without key", "metrics/get-history", {"run_id": "{run}"}),
        get("without run id", "metrics/get-history", {"metric_key": "m"}),
        get("garbage page token", "metrics/get-history", {"run_id": "{run}", "metric_key": "m", "page_token": "zzz"}),
        get("latest metric in run", "runs/get", {"run_id": "{run}"}),
    ),
    scenario(
        "run_log_inputs",
        *experiment_and_run(),
        post(
            "log a dataset",
            "runs/log-inputs",
            {
                "run_id": "{run}",
                "datasets": [
                    {
                        "tags": [{"key": "mlflow.data.context", "value": "training"}],
                        "dataset": {
                            "name": "iris",
                            "digest": "abc123",
                            "source_type": "local",
                            "source": '{"uri": "/x"}',
                            "schema": "{}",
                            "profile": '{"rows": 3}',
                        },
                    }
                ],
            },
        ),
        post(
            "log it again",
            "runs/log-inputs",
            {
                "run_id": "{run}",
                "datasets": [{"dataset": {"name": "iris", "digest": "abc123", "source_type": "local", "source": "{}"}}],
            },
        ),
        get("get", "runs/get", {"run_id": "{run}"}),
        post(
            "dataset without digest",
            "runs/log-inputs",
            {"run_id": "{run}", "datasets": [{"dataset": {"name": "d", "source_type": "local", "source": "{}"}}]},
        ),
        post(
            "dataset without name",
            "runs/log-inputs",
            {"run_id": "{run}", "datasets": [{"dataset": {"digest": "x", "source_type": "local", "source": "{}"}}]},
        ),
        post(
            "dataset without source",
            "runs/log-inputs",
            {"run_id": "{run}", "datasets": [{"dataset": {"name": "d", "digest": "x", "source_type": "local"}}]},
        ),
        post("input without dataset", "runs/log-inputs", {"run_id": "{run}", "datasets": [{"tags": []}]}),
        post("datasets is an object", "runs/log-inputs", {"run_id": "{run}", "datasets": {"name": "d"}}),
        post("no datasets", "runs/log-inputs", {"run_id": "{run}"}),
        post("without run id", "runs/log-inputs", {"datasets": []}),
    ),
    scenario(
        "run_search",
        post("create experiment", "experiments/create", {"name": "search-{u}"}, save={"exp": "experiment_id"}),
        post(
            "create a",
            "runs/create",
            {"experiment_id": "{exp}", "start_time": T0, "run_name": "a"},
            save={"a": "run.info.run_id"},
        ),
        post(
            "create b",
            "runs/create",
            {"experiment_id": "{exp}", "start_time": T0 + 1, "run_name": "b"},
            save={"b": "run.info.run_id"},
        ),
        post(
            "create c",
            "runs/create",
            {"experiment_id": "{exp}", "start_time": T0 + 2, "run_name": "c"},
            save={"c": "run.info.run_id"},
        ),
        post(
            "log a",
            "runs/log-batch",
            {
                "run_id": "{a}",
                "metrics": [metric("acc", 0.9)],
                "params": [{"key": "model", "value": "lr"}],
                "tags": [{"key": "team", "value": "x"}],
            },
        ),
        post(
            "log b",
            "runs/log-batch",
            {"run_id": "{b}", "metrics": [metric("acc", 0.7)], "params": [{"key": "model", "value": "rf"}]},
        ),
        post(
            "dataset of a",
            "runs/log-inputs",
            {
                "run_id": "{a}",
                "datasets": [
                    {
                        "tags": [{"key": "mlflow.data.context", "value": "training"}],
                        "dataset": {"name": "iris", "digest": "d1", "source_type": "local", "source": "{}"},
                    }
                ],
            },
        ),
        post(
            "dataset of b",
            "runs/log-inputs",
            {
                "run_id": "{b}",
                "datasets": [
                    {
                        "tags": [{"key": "mlflow.data.context", "value": "eval"}],
                        "dataset": {"name": "wine", "digest": "d2", "source_type": "local", "source": "{}"},
                    }
                ],
            },
        ),
        post("finish c", "runs/update", {"run_id": "{c}", "status": "FINISHED", "end_time": T0 + 9}),
        post("all", "runs/search", {"experiment_ids": ["{exp}"], "max_results": 10}),
        get("all over GET", "runs/search", {"experiment_ids": "{exp}", "max_results": "10"}),
        post("by metric", "runs/search", {"experiment_ids": ["{exp}"], "filter": "metrics.acc > 0.8"}),
        post("by param", "runs/search", {"experiment_ids": ["{exp}"], "filter": "params.model = 'rf'"}),
        post("by tag", "runs/search", {"experiment_ids": ["{exp}"], "filter": "tags.team = 'x'"}),
        post("by run name", "runs/search", {"experiment_ids": ["{exp}"], "filter": "attributes.run_name = 'c'"}),
        post("by status", "runs/search", {"experiment_ids": ["{exp}"], "filter": "attributes.status = 'FINISHED'"}),
        post(
            "by run id list",
            "runs/search",
            {"experiment_ids": ["{exp}"], "filter": "attributes.run_id IN ('{a}', '{c}')"},
        ),
        post("by dataset name", "runs/search", {"experiment_ids": ["{exp}"], "filter": "datasets.name = 'iris'"}),
        post(
            "by dataset digest list",
            "runs/search",
            {"experiment_ids": ["{exp}"], "filter": "datasets.digest IN ('d1', 'd2')"},
        ),
        post("by dataset context", "runs/search", {"experiment_ids": ["{exp}"], "filter": "datasets.context = 'eval'"}),
        post("by dataset name like", "runs/search", {"experiment_ids": ["{exp}"], "filter": "dataset.name LIKE 'w%'"}),
        post(
            "by dataset and metric",
            "runs/search",
            {"experiment_ids": ["{exp}"], "filter": "datasets.name != 'wine' AND metrics.acc > 0"},
        ),
        post("by unknown dataset key", "runs/search", {"experiment_ids": ["{exp}"], "filter": "datasets.size = 'x'"}),
        post(
            "dataset compared with a number",
            "runs/search",
            {"experiment_ids": ["{exp}"], "filter": "datasets.name = 3"},
        ),
        post("order by metric", "runs/search", {"experiment_ids": ["{exp}"], "order_by": ["metrics.acc DESC"]}),
        post(
            "order by start time",
            "runs/search",
            {"experiment_ids": ["{exp}"], "order_by": ["attributes.start_time ASC"]},
        ),
        post(
            "first page",
            "runs/search",
            {"experiment_ids": ["{exp}"], "max_results": 2},
            save={"token": "next_page_token"},
        ),
        post("second page", "runs/search", {"experiment_ids": ["{exp}"], "max_results": 2, "page_token": "{token}"}),
        post("max_results 0", "runs/search", {"experiment_ids": ["{exp}"], "max_results": 0}),
        post("max_results above the limit", "runs/search", {"experiment_ids": ["{exp}"], "max_results": 50001}),
        post("max_results is text", "runs/search", {"experiment_ids": ["{exp}"], "max_results": "ten"}),
        post("bad filter", "runs/search", {"experiment_ids": ["{exp}"], "filter": "metrics.acc >> 1"}),
        post("OR filter", "runs/search", {"experiment_ids": ["{exp}"], "filter": "metrics.acc > 1 OR metrics.acc < 0"}),
        post("bad order_by", "runs/search", {"experiment_ids": ["{exp}"], "order_by": ["metrics.acc SIDEWAYS"]}),
        post("garbage page token", "runs/search", {"experiment_ids": ["{exp}"], "page_token": "garbage"}),
        post("unknown experiment", "runs/search", {"experiment_ids": ["987654321"]}),
        post("experiment_ids is a string", "runs/search", {"experiment_ids": "{exp}"}),
        post("delete a", "runs/delete", {"run_id": "{a}"}),
        post("deleted only", "runs/search", {"experiment_ids": ["{exp}"], "run_view_type": "DELETED_ONLY"}),
        post(
            "all view types",
            "runs/search",
            {"experiment_ids": ["{exp}"], "run_view_type": "ALL", "order_by": ["attributes.run_name"]},
        ),
    ),
    scenario(
        "run_list_artifacts",
        *experiment_and_run(),
        get("list an empty run", "artifacts/list", {"run_id": "{run}"}),
        Call(
            "upload a file",
            "PUT",
            "artifacts/{exp}/{run}/artifacts/dir/a.txt",
            data=b"hello",
            prefix="/api/2.0/mlflow-artifacts",
        ),
        Call(
            "upload another",
            "PUT",
            "artifacts/{exp}/{run}/artifacts/top.txt",
            data=b"hi!",
            prefix="/api/2.0/mlflow-artifacts",
        ),
        get("list the root", "artifacts/list", {"run_id": "{run}"}),
        get("list a directory", "artifacts/list", {"run_id": "{run}", "path": "dir"}),
        get("list a file", "artifacts/list", {"run_id": "{run}", "path": "top.txt"}),
        get("list a missing path", "artifacts/list", {"run_id": "{run}", "path": "nope"}),
        get("list with ..", "artifacts/list", {"run_id": "{run}", "path": "../x"}),
        get("list with an absolute path", "artifacts/list", {"run_id": "{run}", "path": "/etc"}),
        get("list without run id", "artifacts/list", {}),
    ),
]


@pytest.mark.parametrize("case", SCENARIOS, ids=lambda s: s.name)
def test_runs_match_mlflow(case: Scenario, run_both) -> None:  # noqa: ANN001 - fixture
    run_both(case)
