"""Data of the model registry pages, shared by the HTML views and their /api/v1/ui twins."""

from __future__ import annotations

from dataclasses import dataclass

from trackflow.entities.registry import ModelVersion, ModelVersionLineage, RegisteredModel
from trackflow.errors import NotFound
from trackflow.registry.lineage import lineage_of
from trackflow.registry.prompts import IS_PROMPT, PromptVersion, prompt_version
from trackflow.server.api_v1.registry import registry
from trackflow.server.services import Services
from trackflow.server.ui.data import quote_literal

MODELS_PER_PAGE = 50
VERSIONS_PER_PAGE = 50


@dataclass
class ModelsPage:
    models: list[RegisteredModel]
    page_token: str | None
    next_page_token: str | None


@dataclass
class ModelPage:
    model: RegisteredModel
    versions: list[ModelVersion]
    page_token: str | None
    next_page_token: str | None


@dataclass
class ModelVersionPage:
    version: ModelVersion
    lineage: ModelVersionLineage
    run_exists: bool  # False when the source run was deleted or purged


@dataclass
class PromptsPage:
    prompts: list[RegisteredModel]
    page_token: str | None
    next_page_token: str | None


@dataclass
class PromptPage:
    prompt: RegisteredModel
    versions: list[PromptVersion]  # newest first


# Prompts are registered models tagged as prompts (MLflow 3): the Models page leaves them out
PROMPTS_ONLY = f"tags.`{IS_PROMPT}` = 'true'"


def models_page(services: Services, page_token: str | None = None) -> ModelsPage:
    page = registry(services).search_registered_models(None, MODELS_PER_PAGE, ["name ASC"], page_token or None)
    models = [m for m in page.items if m.tags.get(IS_PROMPT) != "true"]
    return ModelsPage(models, page_token or None, page.next_page_token)


def prompts_page(services: Services, page_token: str | None = None) -> PromptsPage:
    page = registry(services).search_registered_models(PROMPTS_ONLY, MODELS_PER_PAGE, ["name ASC"], page_token or None)
    return PromptsPage(page.items, page_token or None, page.next_page_token)


def prompt_page(services: Services, name: str) -> PromptPage:
    """NotFound for an unknown prompt (or a registered model that is not one). Its newest
    versions first, each with its template, variables and aliases."""
    store = registry(services)
    model = store.get_registered_model(name)
    if model.tags.get(IS_PROMPT) != "true":
        raise NotFound(f"{name!r} is a registered model, not a prompt")
    versions = store.search_model_versions(f"name = {quote_literal(name)}", VERSIONS_PER_PAGE,
                                           ["version_number DESC"], None)
    return PromptPage(model, [prompt_version(v) for v in versions.items if v.tags.get(IS_PROMPT) == "true"])


def model_page(services: Services, name: str, page_token: str | None = None) -> ModelPage:
    """NotFound for an unknown model. Versions newest first."""
    store = registry(services)
    model = store.get_registered_model(name)
    versions = store.search_model_versions(
        f"name = {quote_literal(name)}", VERSIONS_PER_PAGE, ["version_number DESC"], page_token or None
    )
    return ModelPage(model, versions.items, page_token or None, versions.next_page_token)


def model_version_page(services: Services, name: str, version: str) -> ModelVersionPage:
    """NotFound for an unknown model or version."""
    found = registry(services).get_model_version(name, version)
    run = None
    if found.run_id:
        try:
            run = services.tracking.get_run(found.run_id)
        except NotFound:
            run = None
    return ModelVersionPage(found, lineage_of(found, run), run is not None)
