"""Experiments endpoints of MLflow's REST API, on MLflow 3.17.2 and on trackflow (see scenarios.py)."""

from __future__ import annotations

import pytest
from scenarios import Call, Scenario, get, post, scenario

pytestmark = pytest.mark.slow  # a real MLflow server and a trackflow server


def new_experiment(name: str = "exp", save_as: str = "exp", **body: object) -> Call:
    return post(
        f"create {save_as}", "experiments/create", {"name": f"{name}-{{u}}", **body}, save={save_as: "experiment_id"}
    )


def deleted_experiment(save_as: str = "gone") -> list[Call]:
    return [
        new_experiment("gone", save_as),
        post(f"delete {save_as}", "experiments/delete", {"experiment_id": f"{{{save_as}}}"}),
    ]


SCENARIOS = [
    scenario(
        "experiment_create_get",
        new_experiment(tags=[{"key": "team", "value": "ml"}, {"key": "empty", "value": ""}]),
        get("get", "experiments/get", {"experiment_id": "{exp}"}),
        get("get via ajax-api", "experiments/get", {"experiment_id": "{exp}"}, prefix="/ajax-api/2.0/mlflow"),
        get("get by name", "experiments/get-by-name", {"experiment_name": "exp-{u}"}),
        post(
            "create with an artifact location",
            "experiments/create",
            {"name": "loc-{u}", "artifact_location": "/tmp/tf-diff-{u}"},
            save={"loc": "experiment_id"},
        ),
        get("get the one with a location", "experiments/get", {"experiment_id": "{loc}"}, compare="shape"),
        get("get the default experiment", "experiments/get", {"experiment_id": "0"}, compare="shape"),
    ),
    scenario(
        "experiment_create_errors",
        new_experiment(),
        post("duplicate name", "experiments/create", {"name": "exp-{u}"}),
        post("no name", "experiments/create", {}),
        post("empty name", "experiments/create", {"name": ""}),
        post("name is a number", "experiments/create", {"name": 12}),
        post("tags is not a list", "experiments/create", {"name": "t-{u}", "tags": {"a": "b"}}),
        post("tag without a key", "experiments/create", {"name": "k-{u}", "tags": [{"value": "b"}]}),
        post("artifact location is a number", "experiments/create", {"name": "l-{u}", "artifact_location": 5}),
        post("malformed JSON", "experiments/create", raw_json='{"name": '),
        post("body is a list", "experiments/create", raw_json="[1, 2]"),
        *deleted_experiment(),
        post("name of a deleted experiment", "experiments/create", {"name": "gone-{u}"}),
    ),
    scenario(
        "experiment_get_errors",
        get("unknown id", "experiments/get", {"experiment_id": "987654321"}),
        get("non-numeric id", "experiments/get", {"experiment_id": "abc"}),
        get("no id", "experiments/get", {}),
        get("unknown name", "experiments/get-by-name", {"experiment_name": "nope-{u}"}),
        get("no name", "experiments/get-by-name", {}),
        *deleted_experiment(),
        get("a deleted experiment", "experiments/get", {"experiment_id": "{gone}"}),
        get("a deleted experiment by name", "experiments/get-by-name", {"experiment_name": "gone-{u}"}),
    ),
    scenario(
        "experiment_update_delete_restore",
        new_experiment(),
        new_experiment("other", "other"),
        post("rename", "experiments/update", {"experiment_id": "{exp}", "new_name": "renamed-{u}"}),
        get("get renamed", "experiments/get-by-name", {"experiment_name": "renamed-{u}"}),
        get("old name is gone", "experiments/get-by-name", {"experiment_name": "exp-{u}"}),
        post("rename to a taken name", "experiments/update", {"experiment_id": "{exp}", "new_name": "other-{u}"}),
        post("rename without new_name", "experiments/update", {"experiment_id": "{exp}"}),
        post("rename with an empty new_name", "experiments/update", {"experiment_id": "{exp}", "new_name": ""}),
        post("rename unknown", "experiments/update", {"experiment_id": "987654321", "new_name": "x-{u}"}),
        post("delete", "experiments/delete", {"experiment_id": "{exp}"}),
        get("get deleted", "experiments/get", {"experiment_id": "{exp}"}),
        post("delete again", "experiments/delete", {"experiment_id": "{exp}"}),
        post("rename deleted", "experiments/update", {"experiment_id": "{exp}", "new_name": "zombie-{u}"}),
        post(
            "set tag on deleted", "experiments/set-experiment-tag", {"experiment_id": "{exp}", "key": "k", "value": "v"}
        ),
        post("delete tag on deleted", "experiments/delete-experiment-tag", {"experiment_id": "{exp}", "key": "k"}),
        post("create run in deleted", "runs/create", {"experiment_id": "{exp}", "start_time": 1}),
        post("restore", "experiments/restore", {"experiment_id": "{exp}"}),
        get("get restored", "experiments/get", {"experiment_id": "{exp}"}),
        post("restore active", "experiments/restore", {"experiment_id": "{exp}"}),
        post("delete unknown", "experiments/delete", {"experiment_id": "987654321"}),
        post("restore unknown", "experiments/restore", {"experiment_id": "987654321"}),
        post("delete without id", "experiments/delete", {}),
        post("restore without id", "experiments/restore", {}),
        post("delete a non-numeric id", "experiments/delete", {"experiment_id": "abc"}),
    ),
    scenario(
        "experiment_tags",
        new_experiment(),
        post("set", "experiments/set-experiment-tag", {"experiment_id": "{exp}", "key": "k", "value": "v"}),
        post("overwrite", "experiments/set-experiment-tag", {"experiment_id": "{exp}", "key": "k", "value": "w"}),
        post("set empty value", "experiments/set-experiment-tag", {"experiment_id": "{exp}", "key": "e", "value": ""}),
        post("set without value", "experiments/set-experiment-tag", {"experiment_id": "{exp}", "key": "n"}),
        get("get tags", "experiments/get", {"experiment_id": "{exp}"}),
        post("delete", "experiments/delete-experiment-tag", {"experiment_id": "{exp}", "key": "k"}),
        post("delete again", "experiments/delete-experiment-tag", {"experiment_id": "{exp}", "key": "k"}),
        post("delete never set", "experiments/delete-experiment-tag", {"experiment_id": "{exp}", "key": "never"}),
        get("get after delete", "experiments/get", {"experiment_id": "{exp}"}),
        post("set without key", "experiments/set-experiment-tag", {"experiment_id": "{exp}", "value": "v"}),
        post(
            "set with a numeric value",
            "experiments/set-experiment-tag",
            {"experiment_id": "{exp}", "key": "x", "value": 3},
        ),
        post(
            "set on unknown", "experiments/set-experiment-tag", {"experiment_id": "987654321", "key": "k", "value": "v"}
        ),
        post("delete on unknown", "experiments/delete-experiment-tag", {"experiment_id": "987654321", "key": "k"}),
        post(
            "key too long", "experiments/set-experiment-tag", {"experiment_id": "{exp}", "key": "k" * 251, "value": "v"}
        ),
        post(
            "value at 5000 chars",
            "experiments/set-experiment-tag",
            {"experiment_id": "{exp}", "key": "big", "value": "v" * 5000},
        ),
        post("invalid key", "experiments/set-experiment-tag", {"experiment_id": "{exp}", "key": "../x", "value": "v"}),
    ),
    scenario(
        "experiment_search",
        new_experiment("s-a", "a"),
        new_experiment("s-b", "b"),
        new_experiment("s-c", "c", tags=[{"key": "team", "value": "ml"}]),
        post("delete c", "experiments/delete", {"experiment_id": "{c}"}),
        post("by name prefix", "experiments/search", {"filter": "name LIKE 's-%-{u}'", "max_results": 10}),
        get("by name prefix over GET", "experiments/search", {"filter": "name LIKE 's-%-{u}'", "max_results": "10"}),
        post(
            "order by name",
            "experiments/search",
            {"max_results": 100, "filter": "name LIKE 's-%-{u}'", "order_by": ["name DESC"]},
        ),
        post(
            "deleted only",
            "experiments/search",
            {"max_results": 100, "filter": "name LIKE 's-%-{u}'", "view_type": "DELETED_ONLY"},
        ),
        post(
            "all",
            "experiments/search",
            {"max_results": 100, "filter": "name LIKE 's-%-{u}'", "view_type": "ALL", "order_by": ["name"]},
        ),
        post(
            "by tag",
            "experiments/search",
            {"max_results": 100, "filter": "tags.team = 'ml' AND name LIKE '%{u}'", "view_type": "ALL"},
        ),
        post(
            "first page",
            "experiments/search",
            {"filter": "name LIKE 's-%-{u}'", "max_results": 1, "order_by": ["name"]},
            save={"token": "next_page_token"},
        ),
        post(
            "second page",
            "experiments/search",
            {"filter": "name LIKE 's-%-{u}'", "max_results": 1, "order_by": ["name"], "page_token": "{token}"},
        ),
        post("max_results 0", "experiments/search", {"filter": "name LIKE 's-%-{u}'", "max_results": 0}),
        post("negative max_results", "experiments/search", {"max_results": -1}),
        post("max_results above the limit", "experiments/search", {"max_results": 50001}),
        post("max_results is a string", "experiments/search", {"max_results": "ten"}),
        post("bad filter", "experiments/search", {"max_results": 100, "filter": "name ~ 'x'"}),
        post("unknown attribute", "experiments/search", {"max_results": 100, "filter": "attributes.nope = 'x'"}),
        post("bad order_by", "experiments/search", {"max_results": 100, "order_by": ["nope DESC"]}),
        post("bad view_type", "experiments/search", {"max_results": 100, "view_type": "SOME"}),
        post("garbage page token", "experiments/search", {"max_results": 100, "page_token": "garbage"}),
        post("max_results omitted", "experiments/search", {"filter": "name = 's-a-{u}'"}),
        post(
            "creation_time filter",
            "experiments/search",
            {"max_results": 100, "filter": "creation_time > 0 AND name = 's-a-{u}'"},
        ),
    ),
]


@pytest.mark.parametrize("case", SCENARIOS, ids=lambda s: s.name)
def test_experiments_match_mlflow(case: Scenario, run_both) -> None:  # noqa: ANN001 - fixture
    run_both(case)
