"""DAG params: defaults, JSON-schema validation, and overriding them with a run's conf."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from trackflow.errors import InvalidInput

_NOTSET: Any = object()

# JSON-schema keywords Param accepts as keyword arguments (like Airflow).
_SCHEMA_KEYS = {
    "type", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
    "minLength", "maxLength", "pattern", "format", "items", "minItems", "maxItems", "uniqueItems",
    "properties", "required", "additionalProperties", "examples", "title", "values_display", "section",
    "minProperties", "maxProperties", "patternProperties", "propertyNames", "dependentRequired", "prefixItems",
    "contains", "oneOf", "anyOf", "allOf", "not", "if", "then", "else",
    # shown by Airflow's trigger form only (no effect on validation)
    "description_md", "custom_html_form", "placeholder",
}


class Param:
    """A DAG param with a default value and a JSON schema, like Airflow's ``Param``.

    ``Param(5, type="integer", minimum=1)``. A Param without a default is required: a run
    must supply it through its conf.
    """

    def __init__(self, default: Any = _NOTSET, description: str | None = None, **schema: Any) -> None:
        unknown = set(schema) - _SCHEMA_KEYS
        if unknown:
            raise InvalidInput(f"unknown Param schema keyword(s): {', '.join(sorted(unknown))}")
        self.value = default
        self.description = description
        self.schema = dict(schema)
        if default is not _NOTSET and default is not None:
            self.validate(default, name="default")

    @property
    def has_value(self) -> bool:
        return self.value is not _NOTSET

    def validate(self, value: Any, name: str = "param") -> Any:
        """Return ``value`` if it satisfies the schema; InvalidInput naming the param otherwise."""
        schema = {k: v for k, v in self.schema.items() if k not in ("values_display", "section", "examples")}
        if not schema:
            return value
        import jsonschema  # only needed when a schema is used

        try:
            jsonschema.validate(value, schema, format_checker=jsonschema.FormatChecker())
        except jsonschema.ValidationError as exc:
            raise InvalidInput(f"param {name!r}: invalid value {value!r}: {exc.message}") from None
        return value

    def resolve(self, name: str, value: Any = _NOTSET) -> Any:
        final = self.value if value is _NOTSET else value
        if final is _NOTSET:
            raise InvalidInput(f"param {name!r} is required and has no default: pass it in the run's conf")
        if final is None and "null" not in _types(self.schema.get("type")) and self.schema.get("type"):
            raise InvalidInput(f"param {name!r} is required (got null)")
        return self.validate(final, name=name)

    def dump(self) -> dict[str, Any]:
        return {
            "default": None if self.value is _NOTSET else self.value,
            "has_default": self.value is not _NOTSET,
            "description": self.description,
            # as JSON has it: keys such as values_display's None and 1 become "null" and "1"
            "schema": json.loads(json.dumps(self.schema, default=str)),
        }

    def __repr__(self) -> str:
        return f"Param({'<required>' if self.value is _NOTSET else repr(self.value)}, schema={self.schema})"


def _types(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


class ParamsDict(MutableMapping[str, Any]):
    """Params of a DAG or task. Reading a key gives the resolved value, not the Param."""

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self._params: dict[str, Param] = {}
        for key, value in (params or {}).items():
            self[key] = value

    def __setitem__(self, key: str, value: Any) -> None:
        self._params[key] = value if isinstance(value, Param) else Param(value)

    def __getitem__(self, key: str) -> Any:
        return self._params[key].resolve(key)

    def __delitem__(self, key: str) -> None:
        del self._params[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def get_param(self, key: str) -> Param:
        return self._params[key]

    def copy(self) -> ParamsDict:
        new = ParamsDict()
        new._params = {k: copy.copy(v) for k, v in self._params.items()}
        return new

    def merged(self, other: Mapping[str, Any] | None) -> ParamsDict:
        """A copy with ``other``'s entries (Params or plain values) layered on top."""
        new = self.copy()
        for key, value in (other or {}).items():
            if isinstance(value, Param) or key not in new._params:
                new[key] = value
            else:
                new._params[key] = _with_value(new._params[key], value)
        return new

    def resolve(self, conf: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Plain values: defaults overridden by ``conf``, each validated.

        Keys of ``conf`` that are not params pass through (as in Airflow). Raises
        InvalidInput naming the first param that is missing or does not match its schema.
        """
        conf = dict(conf or {})
        out: dict[str, Any] = {}
        for key, param in self._params.items():
            out[key] = param.resolve(key, conf.pop(key, _NOTSET))
        out.update(conf)
        return out

    def dump(self) -> dict[str, Any]:
        return {key: param.dump() for key, param in self._params.items()}

    def __repr__(self) -> str:
        return f"ParamsDict({self._params!r})"


def _with_value(param: Param, value: Any) -> Param:
    new = copy.copy(param)
    new.value = value
    return new
