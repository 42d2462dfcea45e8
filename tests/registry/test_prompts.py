"""Prompts in the registry: versions, aliases (``@latest`` included), variables checked on
format, chat templates, search, the run that loaded a prompt remembering it — and the official
mlflow client (``mlflow.genai``) and trackflow reading each other's prompts from one server."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

import trackflow
from trackflow.errors import InvalidInput, NotFound
from trackflow.registry.client import Client
from trackflow.registry.prompts import Prompts

mlflow = pytest.importorskip("mlflow")


def unique(prefix: str = "qa") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def prompts(registry_server: str) -> Prompts:
    return Prompts(Client(registry_server))


def test_versions_aliases_and_formatting(prompts: Prompts) -> None:
    name = unique()
    first = prompts.register(name, "Answer {{ question }} briefly.", commit_message="first")
    second = prompts.register(name, "Answer {{question}} for {{ audience }}.", tags={"lang": "en"})
    assert (first.version, second.version) == (1, 2) and first.commit_message == "first"
    assert second.variables == {"question", "audience"} and second.tags == {"lang": "en"}
    assert prompts.load(f"prompts:/{name}/1").template == "Answer {{ question }} briefly."
    assert prompts.load(f"prompts:/{name}@latest").version == 2
    assert prompts.load(name).version == 2 and prompts.load(name, version=1).version == 1
    prompts.set_alias(name, "champion", 1)
    champion = prompts.load(f"prompts:/{name}@champion")
    assert champion.version == 1 and champion.aliases == ["champion"]
    assert champion.format(question="2+2?", unused="ignored") == "Answer 2+2? briefly."
    with pytest.raises(InvalidInput, match="needs audience"):
        second.format(question="x")
    chat = prompts.register(unique("chat"), [{"role": "system", "content": "You are {{ persona }}."},
                                             {"role": "user", "content": "{{ question }}"}])
    assert chat.format(persona="terse", question="hi") == [{"role": "system", "content": "You are terse."},
                                                           {"role": "user", "content": "hi"}]
    assert name in prompts.search() and prompts.search(f"name = '{name}'") == [name]
    for bad, message in [(lambda: prompts.register("bad name", "x"), "invalid prompt name"),
                         (lambda: prompts.register(unique(), ""), "non-empty string"),
                         (lambda: prompts.register(unique(), [{"role": "user"}]), "chat messages"),
                         (lambda: prompts.load("prompts:/x/y/z"), "invalid prompt URI"),
                         (lambda: prompts.set_alias(name, "latest", 1), "cannot be set")]:
        with pytest.raises(InvalidInput, match=message):
            bad()
    with pytest.raises(NotFound):
        prompts.load(f"prompts:/{name}@nope")
    model = unique("model")
    prompts.client.create_registered_model(model)
    with pytest.raises(InvalidInput, match="not a prompt"):
        prompts.register(model, "x")
    assert model not in prompts.search()


def test_a_run_remembers_the_prompts_it_loaded(registry_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKFLOW_TRACKING_URI", registry_server)
    from trackflow.tracking import fluent

    monkeypatch.setitem(fluent._state, "experiment_id", None)
    name = unique()
    trackflow.register_prompt(name, "Summarise {{ text }}")
    trackflow.register_prompt(name, "Summarise {{ text }} in one line")
    with trackflow.start_run() as run:
        trackflow.load_prompt(f"prompts:/{name}/1")
        trackflow.load_prompt(f"prompts:/{name}@latest")
        trackflow.load_prompt(f"prompts:/{name}/1")  # once per version
    tags = Client(registry_server).get_run(run.info.run_id).data.tags
    assert json.loads(tags["mlflow.linkedPrompts"]) == [{"name": name, "version": "1"}, {"name": name, "version": "2"}]


def test_the_official_mlflow_client_and_trackflow_share_prompts(registry_server: str, prompts: Prompts,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry_server)
    mlflow.set_tracking_uri(registry_server)
    mlflow.set_registry_uri(registry_server)
    from_mlflow = unique("mlf")
    mlflow.genai.register_prompt(name=from_mlflow, template="Translate {{ text }} to {{ lang }}.",
                                 commit_message="v1")
    seen: Any = prompts.load(f"prompts:/{from_mlflow}/1")
    assert seen.template == "Translate {{ text }} to {{ lang }}." and seen.commit_message == "v1"
    assert seen.format(text="hi", lang="fr") == "Translate hi to fr."

    from_trackflow = unique("tf")
    prompts.register(from_trackflow, "Classify {{ review }}.")
    prompts.set_alias(from_trackflow, "champion", 1)
    loaded = mlflow.genai.load_prompt(f"prompts:/{from_trackflow}@champion")
    assert loaded.template == "Classify {{ review }}." and loaded.format(review="great") == "Classify great."
    assert str(loaded.version) == "1"
