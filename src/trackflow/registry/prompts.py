"""Prompts: versioned templates in the model registry, stored the way MLflow 3 stores them (a
registered model tagged ``mlflow.prompt.is_prompt``, each version holding its template in the
``mlflow.prompt.text`` tag), so prompts registered with ``mlflow.genai.register_prompt`` load
here and the other way round. Aliases name versions (``prompts:/qa@champion``), ``@latest``
the newest; loading a prompt inside a run links the version to the run (MLflow's
``mlflow.linkedPrompts`` run tag)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from trackflow.entities.registry import ModelVersion
from trackflow.errors import InvalidInput, NotFound
from trackflow.tracing.context import note_prompt

IS_PROMPT = "mlflow.prompt.is_prompt"
TEXT = "mlflow.prompt.text"
TYPE = "_mlflow_prompt_type"
LINKED_PROMPTS = "mlflow.linkedPrompts"  # run tag: the prompt versions a run used
SOURCE = "prompt-template"
NAME = re.compile(r"^[a-zA-Z0-9_.-]+$")
VARIABLE = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*(?:\.[a-zA-Z_][a-zA-Z0-9_]*)*)\s*\}\}")
URI = re.compile(r"^prompts:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[\w.-]+))?$")


@dataclass(frozen=True)
class PromptVersion:
    name: str
    version: int
    template: str | list[dict[str, Any]]
    commit_message: str = ""
    aliases: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return f"prompts:/{self.name}/{self.version}"

    @property
    def variables(self) -> set[str]:
        template = self.template
        texts = [template] if isinstance(template, str) else [str(m.get("content", "")) for m in template]
        return {v for text in texts for v in VARIABLE.findall(text)}

    def format(self, **values: Any) -> str | list[dict[str, Any]]:
        """The template with every ``{{ variable }}`` filled; InvalidInput naming the missing
        ones (extra values are ignored, as MLflow)."""
        missing = sorted(self.variables - set(values))
        if missing:
            raise InvalidInput(f"prompt {self.uri} needs {', '.join(missing)} to format")

        def fill(text: str) -> str:
            return VARIABLE.sub(lambda m: str(values[m.group(1)]), text)
        if isinstance(self.template, str):
            return fill(self.template)
        return [{**m, "content": fill(str(m.get("content", "")))} for m in self.template]


def prompt_version(version: ModelVersion) -> PromptVersion:
    """The prompt a registry version holds; NotFound if it is a plain model version."""
    text = version.tags.get(TEXT)
    if version.tags.get(IS_PROMPT) != "true" or text is None:
        raise NotFound(f"version {version.version} of {version.name!r} is not a prompt")
    template: str | list[dict[str, Any]] = json.loads(text) if version.tags.get(TYPE) == "chat" else text
    tags = {k: v for k, v in version.tags.items() if k not in (IS_PROMPT, TEXT, TYPE)}
    return PromptVersion(version.name, int(version.version), template, version.description or "",
                         list(version.aliases), tags)


def _check_template(template: Any) -> tuple[str, str]:
    if isinstance(template, str) and template.strip():
        return template, "text"
    if isinstance(template, list) and template and all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in template):
        return json.dumps(template), "chat"
    raise InvalidInput("a prompt template is a non-empty string, or chat messages: a list of "
                       "{'role': ..., 'content': ...}")


class Prompts:
    """Prompt operations on a registry client (``trackflow.Client()``)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def register(self, name: str, template: str | list[dict[str, Any]], commit_message: str | None = None,
                 tags: dict[str, Any] | None = None) -> PromptVersion:
        """A new version of prompt ``name`` (the prompt is created on its first version)."""
        if not isinstance(name, str) or not NAME.match(name):
            raise InvalidInput(f"invalid prompt name {name!r}: letters, digits, '_', '-' and '.' only")
        text, kind = _check_template(template)
        try:
            model = self.client.get_registered_model(name)
        except NotFound:
            model = self.client.create_registered_model(name, tags={IS_PROMPT: "true"})
        if model.tags.get(IS_PROMPT) != "true":
            raise InvalidInput(f"{name!r} is a registered model, not a prompt")
        version_tags = {IS_PROMPT: "true", TEXT: text, TYPE: kind, **{k: str(v) for k, v in (tags or {}).items()}}
        version = self.client.create_model_version(name, SOURCE, tags=version_tags, description=commit_message)
        return prompt_version(version)

    def load(self, name_or_uri: str, version: int | str | None = None, link_to_run: bool = True) -> PromptVersion:
        """``prompts:/name/3``, ``prompts:/name@alias``, ``prompts:/name@latest``, or a name with
        ``version`` (default: the latest). Inside an active run, the run records that it used it."""
        name, alias = name_or_uri, None
        if name_or_uri.startswith("prompts:/"):
            match = URI.match(name_or_uri)
            if match is None:
                raise InvalidInput(f"invalid prompt URI {name_or_uri!r}: use prompts:/<name>/<version> or "
                                   "prompts:/<name>@<alias>")
            name, version, alias = match["name"], match["version"] or version, match["alias"]
        if alias is not None and alias != "latest":
            found = self.client.get_model_version_by_alias(name, alias)
        elif version is not None and alias is None:
            found = self.client.get_model_version(name, str(version))
        else:
            found = self.client.get_latest_version(name)
        prompt = prompt_version(found)
        note_prompt(prompt.name, str(prompt.version))  # the trace being recorded, if any, used it
        if link_to_run:
            self._link_to_active_run(prompt)
        return prompt

    def set_alias(self, name: str, alias: str, version: int | str) -> None:
        if alias == "latest":
            raise InvalidInput("'latest' always means the newest version; it cannot be set")
        prompt_version(self.client.get_model_version(name, str(version)))  # a prompt's version
        self.client.set_registered_model_alias(name, alias, str(version))

    def search(self, filter_string: str | None = None, max_results: int = 100) -> list[str]:
        """Names of the prompts (the registered models tagged as prompts), with an optional
        ``name LIKE '...'`` filter."""
        prompt_filter = f"tags.`{IS_PROMPT}` = 'true'"
        query = f"{prompt_filter} AND {filter_string}" if filter_string else prompt_filter
        return [m.name for m in self.client.search_registered_models(query, max_results=max_results)]

    def _link_to_active_run(self, prompt: PromptVersion) -> None:
        from trackflow.tracking import fluent

        active = fluent.active_run()
        if active is None:
            return
        run_id = active.info.run_id
        current = self.client.get_run(run_id).data.tags.get(LINKED_PROMPTS)
        linked = json.loads(current) if current else []
        entry = {"name": prompt.name, "version": str(prompt.version)}
        if entry not in linked:
            self.client.set_tag(run_id, LINKED_PROMPTS, json.dumps([*linked, entry]))


def register_prompt(name: str, template: str | list[dict[str, Any]], commit_message: str | None = None,
                    tags: dict[str, Any] | None = None) -> PromptVersion:
    return Prompts(_client()).register(name, template, commit_message, tags)


def load_prompt(name_or_uri: str, version: int | str | None = None, link_to_run: bool = True) -> PromptVersion:
    return Prompts(_client()).load(name_or_uri, version, link_to_run)


def set_prompt_alias(name: str, alias: str, version: int | str) -> None:
    Prompts(_client()).set_alias(name, alias, version)


def search_prompts(filter_string: str | None = None, max_results: int = 100) -> list[str]:
    return Prompts(_client()).search(filter_string, max_results)


def _client() -> Any:
    """A registry client on the fluent API's tracking URI."""
    from trackflow.registry.client import Client
    from trackflow.tracking import fluent

    return Client(fluent.get_tracking_uri())
