"""Filter and order_by grammars of the two registry searches (MLflow's), on the shared parser."""

from __future__ import annotations

from types import MappingProxyType

from trackflow.store.search_filter import (
    Comparison,
    FilterSchema,
    OrderBy,
    parse_filter_with,
    parse_order_by_with,
)

_REGISTERED_MODELS = FilterSchema(
    what="registered models",
    kinds=frozenset({"tag", "attribute"}),
    numeric_attributes=frozenset({"creation_timestamp", "last_updated_timestamp"}),
    string_attributes=frozenset({"name"}),
    aliases=MappingProxyType({}),
)
_MODEL_VERSIONS = FilterSchema(
    what="model versions",
    kinds=frozenset({"tag", "attribute"}),
    numeric_attributes=frozenset({"version_number", "creation_timestamp", "last_updated_timestamp"}),
    string_attributes=frozenset({"name", "run_id", "source_path", "status", "user_id", "current_stage"}),
    aliases=MappingProxyType({"version": "version_number", "source": "source_path"}),
)


def parse_registered_model_filter(filter_string: str | None) -> list[Comparison]:
    """``name = 'x'``, ``name LIKE 'x%'``, ``tags.team = 'a'`` ...; InvalidInput if malformed."""
    return parse_filter_with(filter_string, _REGISTERED_MODELS)


def parse_registered_model_order_by(clause: str) -> OrderBy:
    return parse_order_by_with(clause, _REGISTERED_MODELS)


def parse_model_version_filter(filter_string: str | None) -> list[Comparison]:
    """``name = 'x'``, ``run_id IN ('a','b')``, ``version_number > 2``, ``tags.k = 'v'`` ..."""
    return parse_filter_with(filter_string, _MODEL_VERSIONS)


def parse_model_version_order_by(clause: str) -> OrderBy:
    return parse_order_by_with(clause, _MODEL_VERSIONS)
