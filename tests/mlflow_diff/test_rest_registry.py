"""Model registry endpoints of MLflow's REST API (registered models, versions, aliases, tags), on
MLflow 3.17.2 and on trackflow (see scenarios.py)."""

from __future__ import annotations

import pytest
from scenarios import Call, Scenario, delete, get, patch, post, scenario

pytestmark = pytest.mark.slow  # a real MLflow server and a trackflow server

T0 = 1_700_000_000_000


def model_and_run() -> list[Call]:
    """A registered model ``rm-{u}`` and a run ``{run}`` whose ``runs:/{run}/model`` versions are made."""
    return [
        post("create model", "registered-models/create", {"name": "rm-{u}"}),
        post("create experiment", "experiments/create", {"name": "reg-{u}"}, save={"exp": "experiment_id"}),
        post(
            "create run", "runs/create", {"experiment_id": "{exp}", "start_time": T0}, save={"run": "run.info.run_id"}
        ),
    ]


def version(label: str, **extra: object) -> Call:
    body = {"name": "rm-{u}", "source": "runs:/{run}/model", "run_id": "{run}", **extra}
    return post(label, "model-versions/create", body)


SCENARIOS = [
    scenario(
        "registered_model_crud",
        post(
            "create",
            "registered-models/create",
            {"name": "rm-{u}", "description": "first", "tags": [{"key": "team", "value": "ml"}]},
        ),
        post("create a duplicate", "registered-models/create", {"name": "rm-{u}"}),
        post("create without a name", "registered-models/create", {}),
        post("create with a numeric name", "registered-models/create", {"name": 5}),
        post("create with a slash in the name", "registered-models/create", {"name": "a/b-{u}"}),
        post("create with tags as an object", "registered-models/create", {"name": "t-{u}", "tags": {"a": "b"}}),
        get("get", "registered-models/get", {"name": "rm-{u}"}),
        get("get unknown", "registered-models/get", {"name": "nope-{u}"}),
        get("get without a name", "registered-models/get", {}),
        patch("update description", "registered-models/update", {"name": "rm-{u}", "description": "second"}),
        patch("update without description", "registered-models/update", {"name": "rm-{u}"}),
        patch("update unknown", "registered-models/update", {"name": "nope-{u}", "description": "x"}),
        post("rename", "registered-models/rename", {"name": "rm-{u}", "new_name": "rm2-{u}"}),
        get("get old name", "registered-models/get", {"name": "rm-{u}"}),
        get("get renamed", "registered-models/get", {"name": "rm2-{u}"}),
        post("create another", "registered-models/create", {"name": "other-{u}"}),
        post("rename to a taken name", "registered-models/rename", {"name": "rm2-{u}", "new_name": "other-{u}"}),
        post("rename unknown", "registered-models/rename", {"name": "nope-{u}", "new_name": "x-{u}"}),
        post("rename without new_name", "registered-models/rename", {"name": "rm2-{u}"}),
        delete("delete", "registered-models/delete", {"name": "rm2-{u}"}),
        delete("delete again", "registered-models/delete", {"name": "rm2-{u}"}),
        get("get deleted", "registered-models/get", {"name": "rm2-{u}"}),
        delete("delete without a name", "registered-models/delete", {}),
    ),
    scenario(
        "registered_model_tags",
        post("create", "registered-models/create", {"name": "rm-{u}"}),
        post("set tag", "registered-models/set-tag", {"name": "rm-{u}", "key": "k", "value": "v"}),
        post("overwrite tag", "registered-models/set-tag", {"name": "rm-{u}", "key": "k", "value": "w"}),
        post("set tag without value", "registered-models/set-tag", {"name": "rm-{u}", "key": "e"}),
        post("set tag without key", "registered-models/set-tag", {"name": "rm-{u}", "value": "v"}),
        post("set tag with a numeric value", "registered-models/set-tag", {"name": "rm-{u}", "key": "n", "value": 1}),
        post(
            "set tag with an invalid key", "registered-models/set-tag", {"name": "rm-{u}", "key": "../k", "value": "v"}
        ),
        post("set tag on unknown model", "registered-models/set-tag", {"name": "nope-{u}", "key": "k", "value": "v"}),
        get("get", "registered-models/get", {"name": "rm-{u}"}),
        delete("delete tag", "registered-models/delete-tag", {"name": "rm-{u}", "key": "k"}),
        delete("delete tag again", "registered-models/delete-tag", {"name": "rm-{u}", "key": "k"}),
        delete("delete a tag never set", "registered-models/delete-tag", {"name": "rm-{u}", "key": "never"}),
        delete("delete tag on unknown model", "registered-models/delete-tag", {"name": "nope-{u}", "key": "k"}),
        get("get after", "registered-models/get", {"name": "rm-{u}"}),
    ),
    scenario(
        "registered_model_search",
        post("create a", "registered-models/create", {"name": "srch-a-{u}", "tags": [{"key": "t", "value": "1"}]}),
        post("create b", "registered-models/create", {"name": "srch-b-{u}"}),
        post("create c", "registered-models/create", {"name": "srch-c-{u}"}),
        get("by name", "registered-models/search", {"filter": "name LIKE 'srch-%-{u}'", "max_results": "10"}),
        get("by exact name", "registered-models/search", {"filter": "name = 'srch-b-{u}'"}),
        get("by tag", "registered-models/search", {"filter": "tags.t = '1' AND name LIKE '%{u}'"}),
        get(
            "order by name desc",
            "registered-models/search",
            {"filter": "name LIKE 'srch-%-{u}'", "order_by": "name DESC"},
        ),
        get(
            "first page",
            "registered-models/search",
            {"filter": "name LIKE 'srch-%-{u}'", "max_results": "2"},
            save={"token": "next_page_token"},
        ),
        get(
            "second page",
            "registered-models/search",
            {"filter": "name LIKE 'srch-%-{u}'", "max_results": "2", "page_token": "{token}"},
        ),
        get("max_results 0", "registered-models/search", {"filter": "name = 'x-{u}'", "max_results": "0"}),
        get("max_results above the limit", "registered-models/search", {"max_results": "1001"}),
        get("max_results is text", "registered-models/search", {"max_results": "ten"}),
        get("bad filter", "registered-models/search", {"filter": "name ~ 'x'"}),
        get("unknown attribute", "registered-models/search", {"filter": "nope = 'x'"}),
        get("bad order_by", "registered-models/search", {"order_by": "nope"}),
        get("garbage page token", "registered-models/search", {"page_token": "garbage"}),
        post("search over POST", "registered-models/search", {"filter": "name = 'srch-a-{u}'"}),
    ),
    scenario(
        "model_version_crud",
        *model_and_run(),
        version("create version 1", description="v1", tags=[{"key": "k", "value": "v"}]),
        version("create version 2"),
        get("get version 1", "model-versions/get", {"name": "rm-{u}", "version": "1"}),
        get("get registered model", "registered-models/get", {"name": "rm-{u}"}),
        get("get unknown version", "model-versions/get", {"name": "rm-{u}", "version": "9"}),
        get("get a non-numeric version", "model-versions/get", {"name": "rm-{u}", "version": "one"}),
        get("get version of unknown model", "model-versions/get", {"name": "nope-{u}", "version": "1"}),
        get("get without version", "model-versions/get", {"name": "rm-{u}"}),
        patch("update description", "model-versions/update", {"name": "rm-{u}", "version": "1", "description": "new"}),
        patch(
            "update unknown version", "model-versions/update", {"name": "rm-{u}", "version": "9", "description": "x"}
        ),
        patch("update without description", "model-versions/update", {"name": "rm-{u}", "version": "1"}),
        get("download uri", "model-versions/get-download-uri", {"name": "rm-{u}", "version": "1"}),
        get("download uri of unknown version", "model-versions/get-download-uri", {"name": "rm-{u}", "version": "9"}),
        delete("delete version 2", "model-versions/delete", {"name": "rm-{u}", "version": "2"}),
        delete("delete version 2 again", "model-versions/delete", {"name": "rm-{u}", "version": "2"}),
        get("get deleted version", "model-versions/get", {"name": "rm-{u}", "version": "2"}),
        version("create version 3"),
        get("get model after", "registered-models/get", {"name": "rm-{u}"}),
        delete("delete the model", "registered-models/delete", {"name": "rm-{u}"}),
        get("get version of deleted model", "model-versions/get", {"name": "rm-{u}", "version": "1"}),
    ),
    scenario(
        "model_version_sources",
        *model_and_run(),
        post("create experiment 2", "experiments/create", {"name": "reg2-{u}"}, save={"exp2": "experiment_id"}),
        post(
            "create run 2",
            "runs/create",
            {"experiment_id": "{exp2}", "start_time": T0},
            save={"run2": "run.info.run_id"},
        ),
        version("runs source with its run"),
        post("runs source without run id", "model-versions/create", {"name": "rm-{u}", "source": "runs:/{run}/model"}),
        version("runs source with another run", run_id="{run2}"),
        post("local path without run id", "model-versions/create", {"name": "rm-{u}", "source": "/tmp/model-{u}"}),
        version("local path with a run id", source="/tmp/model-{u}"),
        post("file uri without run id", "model-versions/create", {"name": "rm-{u}", "source": "file:///tmp/model-{u}"}),
        version("artifact uri of the run", source="mlflow-artifacts:/{exp}/{run}/artifacts/model"),
        version("artifact uri of another run", source="mlflow-artifacts:/{exp2}/{run2}/artifacts/model"),
        post(
            "artifact uri without run id",
            "model-versions/create",
            {"name": "rm-{u}", "source": "mlflow-artifacts:/{exp}/{run}/artifacts/model"},
        ),
        post("s3 source", "model-versions/create", {"name": "rm-{u}", "source": "s3://bucket/models/{u}"}),
        post("s3 source with ..", "model-versions/create", {"name": "rm-{u}", "source": "s3://bucket/models/../../x"}),
        version("unknown run id", run_id="0123456789abcdef0123456789abcdef"),
        post("unknown model", "model-versions/create", {"name": "nope-{u}", "source": "s3://bucket/m"}),
        post("without source", "model-versions/create", {"name": "rm-{u}"}),
        post("without name", "model-versions/create", {"source": "s3://bucket/m"}),
        post("source is a number", "model-versions/create", {"name": "rm-{u}", "source": 5}),
        get("download uri of the runs source", "model-versions/get-download-uri", {"name": "rm-{u}", "version": "1"}),
        get("download uri of the s3 source", "model-versions/get-download-uri", {"name": "rm-{u}", "version": "3"}),
    ),
    scenario(
        "model_version_stages",
        *model_and_run(),
        version("create version 1"),
        version("create version 2"),
        post("to Staging", "model-versions/transition-stage", {"name": "rm-{u}", "version": "1", "stage": "Staging"}),
        post(
            "to production",
            "model-versions/transition-stage",
            {"name": "rm-{u}", "version": "1", "stage": "production", "archive_existing_versions": False},
        ),
        post(
            "v2 to Production archiving others",
            "model-versions/transition-stage",
            {"name": "rm-{u}", "version": "2", "stage": "Production", "archive_existing_versions": True},
        ),
        get("get version 1", "model-versions/get", {"name": "rm-{u}", "version": "1"}),
        post("unknown stage", "model-versions/transition-stage", {"name": "rm-{u}", "version": "1", "stage": "Live"}),
        post("without stage", "model-versions/transition-stage", {"name": "rm-{u}", "version": "1"}),
        post("unknown version", "model-versions/transition-stage", {"name": "rm-{u}", "version": "9", "stage": "None"}),
        post(
            "archive flag is text",
            "model-versions/transition-stage",
            {"name": "rm-{u}", "version": "1", "stage": "None", "archive_existing_versions": "yes"},
        ),
        post("latest versions", "registered-models/get-latest-versions", {"name": "rm-{u}"}),
        post(
            "latest in Production",
            "registered-models/get-latest-versions",
            {"name": "rm-{u}", "stages": ["Production"]},
        ),
        get("latest over GET", "registered-models/get-latest-versions", {"name": "rm-{u}", "stages": "Archived"}),
        post(
            "latest in an unknown stage",
            "registered-models/get-latest-versions",
            {"name": "rm-{u}", "stages": ["Live"]},
        ),
        post("latest of unknown model", "registered-models/get-latest-versions", {"name": "nope-{u}"}),
        get("get model", "registered-models/get", {"name": "rm-{u}"}),
    ),
    scenario(
        "model_version_tags",
        *model_and_run(),
        version("create version 1"),
        post("set tag", "model-versions/set-tag", {"name": "rm-{u}", "version": "1", "key": "k", "value": "v"}),
        post("set tag without value", "model-versions/set-tag", {"name": "rm-{u}", "version": "1", "key": "e"}),
        post("set tag without key", "model-versions/set-tag", {"name": "rm-{u}", "version": "1", "value": "v"}),
        post(
            "set tag with a numeric value",
            "model-versions/set-tag",
            {"name": "rm-{u}", "version": "1", "key": "n", "value": 2},
        ),
        post(
            "set tag on unknown version",
            "model-versions/set-tag",
            {"name": "rm-{u}", "version": "9", "key": "k", "value": "v"},
        ),
        get("get", "model-versions/get", {"name": "rm-{u}", "version": "1"}),
        delete("delete tag", "model-versions/delete-tag", {"name": "rm-{u}", "version": "1", "key": "k"}),
        delete("delete tag again", "model-versions/delete-tag", {"name": "rm-{u}", "version": "1", "key": "k"}),
        delete(
            "delete tag on unknown version", "model-versions/delete-tag", {"name": "rm-{u}", "version": "9", "key": "k"}
        ),
        get("get after", "model-versions/get", {"name": "rm-{u}", "version": "1"}),
    ),
    scenario(
        "model_version_search",
        *model_and_run(),
        version("create version 1", tags=[{"key": "t", "value": "1"}]),
        version("create version 2"),
        get("by name", "model-versions/search", {"filter": "name = 'rm-{u}'"}),
        get("by name and version", "model-versions/search", {"filter": "name = 'rm-{u}' AND version_number = 2"}),
        get("by run id", "model-versions/search", {"filter": "run_id = '{run}'"}),
        get("by tag", "model-versions/search", {"filter": "name = 'rm-{u}' AND tags.t = '1'"}),
        get(
            "order by version", "model-versions/search", {"filter": "name = 'rm-{u}'", "order_by": "version_number ASC"}
        ),
        get(
            "first page",
            "model-versions/search",
            {"filter": "name = 'rm-{u}'", "max_results": "1", "order_by": "version_number"},
            save={"token": "next_page_token"},
        ),
        get(
            "second page",
            "model-versions/search",
            {"filter": "name = 'rm-{u}'", "max_results": "1", "order_by": "version_number", "page_token": "{token}"},
        ),
        get("max_results 0", "model-versions/search", {"filter": "name = 'rm-{u}'", "max_results": "0"}),
        get("bad filter", "model-versions/search", {"filter": "name ~ 'x'"}),
        get("unknown attribute", "model-versions/search", {"filter": "nope = 'x'"}),
        get("bad order_by", "model-versions/search", {"order_by": "nope"}),
    ),
    scenario(
        "aliases",
        *model_and_run(),
        version("create version 1"),
        version("create version 2"),
        post("set alias", "registered-models/alias", {"name": "rm-{u}", "alias": "champion", "version": "1"}),
        get("get by alias", "registered-models/alias", {"name": "rm-{u}", "alias": "champion"}),
        post("move alias", "registered-models/alias", {"name": "rm-{u}", "alias": "champion", "version": "2"}),
        get("get moved alias", "registered-models/alias", {"name": "rm-{u}", "alias": "champion"}),
        get("get model with alias", "registered-models/get", {"name": "rm-{u}"}),
        get("get a missing alias", "registered-models/alias", {"name": "rm-{u}", "alias": "nope"}),
        get("alias of unknown model", "registered-models/alias", {"name": "nope-{u}", "alias": "champion"}),
        post(
            "set alias to unknown version", "registered-models/alias", {"name": "rm-{u}", "alias": "x", "version": "9"}
        ),
        post("set alias without version", "registered-models/alias", {"name": "rm-{u}", "alias": "x"}),
        post("set alias like a version", "registered-models/alias", {"name": "rm-{u}", "alias": "v3", "version": "1"}),
        post("set alias latest", "registered-models/alias", {"name": "rm-{u}", "alias": "latest", "version": "1"}),
        post("set alias with a slash", "registered-models/alias", {"name": "rm-{u}", "alias": "a/b", "version": "1"}),
        delete("delete alias", "registered-models/alias", {"name": "rm-{u}", "alias": "champion"}),
        delete("delete alias again", "registered-models/alias", {"name": "rm-{u}", "alias": "champion"}),
        delete("delete an alias never set", "registered-models/alias", {"name": "rm-{u}", "alias": "never"}),
        delete("delete alias of unknown model", "registered-models/alias", {"name": "nope-{u}", "alias": "x"}),
        post("set alias again", "registered-models/alias", {"name": "rm-{u}", "alias": "best", "version": "2"}),
        delete("delete the aliased version", "model-versions/delete", {"name": "rm-{u}", "version": "2"}),
        get("alias of a deleted version", "registered-models/alias", {"name": "rm-{u}", "alias": "best"}),
    ),
]


@pytest.mark.parametrize("case", SCENARIOS, ids=lambda s: s.name)
def test_registry_matches_mlflow(case: Scenario, run_both) -> None:  # noqa: ANN001 - fixture
    run_both(case)
