"""The registry contract, through trackflow's Client, on SQLite, PostgreSQL and REST."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from trackflow.entities.registry import RegistryEventType as E
from trackflow.errors import AlreadyExists, InvalidInput, NotFound


def _name() -> str:
    return f"model-{uuid.uuid4().hex[:10]}"


def test_registered_model_lifecycle(registry_env: Any) -> None:
    c = registry_env
    name = _name()
    model = c.create_registered_model(name, tags={"team": "ml"}, description="iris classifier")
    assert (model.name, model.description, model.tags) == (name, "iris classifier", {"team": "ml"})
    with pytest.raises(AlreadyExists, match=name):
        c.create_registered_model(name)
    c.update_registered_model(name, description="better")
    c.set_registered_model_tag(name, "stage", "dev")
    c.delete_registered_model_tag(name, "team")
    got = c.get_registered_model(name)
    assert got.description == "better" and got.tags == {"stage": "dev"}
    c.delete_registered_model_tag(name, "team")  # a tag that is not there: nothing to do (as in MLflow)
    assert c.get_registered_model(name).tags == {"stage": "dev"}
    renamed = c.rename_registered_model(name, name + "-v2")
    assert renamed.name == name + "-v2"
    with pytest.raises(NotFound, match=name):
        c.get_registered_model(name)
    c.delete_registered_model(name + "-v2")
    with pytest.raises(NotFound):
        c.get_registered_model(name + "-v2")


def test_versions_aliases_and_numbering(registry_env: Any) -> None:
    c = registry_env
    name = _name()
    c.create_registered_model(name)
    v1 = c.create_model_version(name, "file:///models/a", tags={"k": "v"}, description="first")
    v2 = c.create_model_version(name, "file:///models/b")
    assert (v1.version, v2.version) == ("1", "2")
    assert v1.status.value == "READY" and v1.tags == {"k": "v"}
    c.set_registered_model_alias(name, "champion", "1")
    assert c.get_model_version_by_alias(name, "champion").version == "1"
    c.set_registered_model_alias(name, "champion", 2)  # moves
    assert c.get_model_version_by_alias(name, "champion").source == "file:///models/b"
    assert c.get_registered_model(name).aliases == {"champion": "2"}
    assert c.get_model_version(name, 2).aliases == ["champion"]
    c.update_model_version(name, 1, description="old")
    c.set_model_version_tag(name, 1, "quality", "ok")
    assert c.get_model_version(name, 1).tags == {"k": "v", "quality": "ok"}
    c.delete_model_version(name, 2)  # its alias goes with it
    with pytest.raises(NotFound, match="champion"):
        c.get_model_version_by_alias(name, "champion")
    assert c.create_model_version(name, "file:///models/c").version == "3"  # numbers are never reused
    assert c.get_latest_version(name).version == "3"
    assert c.get_registered_model(name).latest_versions[0].version == "3"


def test_search(registry_env: Any) -> None:
    c = registry_env
    prefix = f"s{uuid.uuid4().hex[:8]}"
    for i, team in enumerate(["a", "b", "a"]):
        c.create_registered_model(f"{prefix}-{i}", tags={"team": team})
        c.create_model_version(f"{prefix}-{i}", f"file:///m/{i}", tags={"n": str(i)})
    found = c.search_registered_models(f"name LIKE '{prefix}-%' AND tags.team = 'a'", order_by=["name DESC"])
    assert [m.name for m in found] == [f"{prefix}-2", f"{prefix}-0"]
    page1 = c.search_registered_models(f"name LIKE '{prefix}%'", max_results=2)
    page2 = c.search_registered_models(f"name LIKE '{prefix}%'", max_results=2, page_token=page1.next_page_token)
    assert len(page1) == 2 and len(page2) == 1 and page2.next_page_token is None
    versions = c.search_model_versions(f"name = '{prefix}-1'")
    assert [v.source for v in versions] == ["file:///m/1"]
    assert [v.name for v in c.search_model_versions(f"tags.n = '2' AND name LIKE '{prefix}%'")] == [f"{prefix}-2"]
    # a model without the tag matches "!=" (MLflow clients append "tags.`mlflow.prompt.is_prompt` != 'true'")
    not_a = c.search_registered_models(f"name LIKE '{prefix}%' AND tags.team != 'a' AND tags.`x.y` != 'true'")
    assert [m.name for m in not_a] == [f"{prefix}-1"]
    with pytest.raises(InvalidInput):
        c.search_model_versions("nonsense ~~ 3")


def test_bad_values_are_named(registry_env: Any) -> None:
    c = registry_env
    with pytest.raises(InvalidInput, match="may not contain"):
        c.create_registered_model("a/b")
    name = _name()
    c.create_registered_model(name)
    with pytest.raises(NotFound, match="model version 7"):
        c.get_model_version(name, 7)
    with pytest.raises(InvalidInput, match="positive integer"):
        c.get_model_version(name, "seven")
    c.create_model_version(name, "file:///x")
    with pytest.raises(InvalidInput, match="reserved"):
        c.set_registered_model_alias(name, "latest", 1)
    with pytest.raises(NotFound, match="does not exist"):
        c.create_model_version(_name(), "file:///x")


def test_every_change_is_an_event(registry_env: Any) -> None:
    c = registry_env
    name = _name()
    start = max([e.event_id for e in c.get_registry_events(max_results=50_000)] or [0])
    c.create_registered_model(name)
    c.create_model_version(name, "file:///a")
    c.create_model_version(name, "file:///b")
    c.set_registered_model_alias(name, "champion", 1)
    c.set_registered_model_alias(name, "champion", 2)
    c.set_model_version_tag(name, 1, "k", "v")
    c.delete_registered_model_alias(name, "champion")
    c.delete_model_version(name, 1)
    c.delete_registered_model(name)
    events = c.get_registry_events(name=name, after_event_id=start)
    assert [e.event_type for e in events] == [
        E.REGISTERED_MODEL_CREATED, E.MODEL_VERSION_CREATED, E.MODEL_VERSION_CREATED, E.ALIAS_SET, E.ALIAS_SET,
        E.MODEL_VERSION_TAG_SET, E.ALIAS_DELETED, E.MODEL_VERSION_DELETED, E.REGISTERED_MODEL_DELETED,
    ]
    moved = events[4]
    assert (moved.alias, moved.version, moved.payload["previous_version"]) == ("champion", "2", "1")
    ids = [e.event_id for e in events]
    assert ids == sorted(ids)
    assert c.get_registry_events(name=name, after_event_id=ids[-2]) == events[-1:]


def test_register_model_links_run_and_pipeline_lineage(registry_env: Any) -> None:
    c = registry_env
    exp = c.create_experiment(f"exp-{uuid.uuid4().hex[:8]}")
    plain = c.create_run(exp)
    task = c.create_run(exp, tags={"dag_id": "train_dag", "run_id": "scheduled__2025", "task_id": "train",
                                   "try_number": "1"})
    name = _name()
    v1 = c.register_model(f"runs:/{plain.info.run_id}/model", name)
    v2 = c.register_model(f"runs:/{task.info.run_id}/model", name)
    assert v1.run_id == plain.info.run_id and v1.source == f"runs:/{plain.info.run_id}/model"
    lineage = c.get_model_version_lineage(name, v2.version)
    assert (lineage.run_id, lineage.dag_id, lineage.dag_run_id, lineage.task_id) == (
        task.info.run_id, "train_dag", "scheduled__2025", "train")
    assert c.get_model_version_lineage(name, v1.version).dag_id is None
    with pytest.raises(NotFound):
        c.register_model("runs:/0123456789abcdef0123456789abcdef/model", name)
