"""Parse MLflow's search filter and order_by grammar into plain dataclasses; no I/O.

A filter is clauses joined by AND (no OR, no parentheses), each ``identifier comparator value``:
``metrics.acc > 0.9 AND params.model = 'lr' AND tags."mlflow.runName" LIKE 'x%'``.
Identifiers are ``<type>.<key>`` with type metrics, params, tags, attributes or (runs only)
datasets, whose keys are name, digest and context (or an alias of a type);
a bare name is an attribute. Keys with spaces or special characters are quoted with backticks
or double quotes; an unquoted key may contain dots (``tags.mlflow.runName``) and is split at the
first dot. The SQL store compiles the result; every malformed input raises ``InvalidInput``
naming the offending token or clause.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from trackflow.errors import InvalidInput

Kind = Literal["metric", "param", "tag", "attribute", "dataset", "metadata", "span", "feedback", "expectation"]


@dataclass(frozen=True)
class Comparison:
    """One ``identifier comparator value`` clause; ``op`` is upper-case, attribute keys canonical."""

    kind: Kind
    key: str
    op: str  # "=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"
    value: float | str | tuple[str, ...] | None


@dataclass(frozen=True)
class OrderBy:
    kind: Kind
    key: str
    ascending: bool


@dataclass(frozen=True)
class FilterSchema:
    """What one search (runs or experiments) accepts."""

    what: str
    kinds: frozenset[str]
    numeric_attributes: frozenset[str]
    string_attributes: frozenset[str]
    aliases: Mapping[str, str]
    prefixes: Mapping[str, Kind] | None = None  # identifier types accepted; None: _PREFIXES
    entity_ops: frozenset[str] | None = None  # comparators for params/tags; None: _ENTITY_OPS


_PREFIXES: Mapping[str, Kind] = MappingProxyType(
    {
        "metrics": "metric", "metric": "metric",
        "params": "param", "param": "param", "parameters": "param", "parameter": "param",
        "tags": "tag", "tag": "tag",
        "attributes": "attribute", "attribute": "attribute", "attr": "attribute", "run": "attribute",
        "datasets": "dataset", "dataset": "dataset",
    }
)  # fmt: skip

_RUNS = FilterSchema(
    what="runs",
    kinds=frozenset({"metric", "param", "tag", "attribute", "dataset"}),
    numeric_attributes=frozenset({"start_time", "end_time"}),
    string_attributes=frozenset(
        {"run_id", "run_name", "status", "user_id", "artifact_uri", "lifecycle_stage", "experiment_id"}
    ),
    aliases=MappingProxyType({"created": "start_time", "run_uuid": "run_id"}),
)
_EXPERIMENTS = FilterSchema(
    what="experiments",
    kinds=frozenset({"tag", "attribute"}),
    numeric_attributes=frozenset({"creation_time", "last_update_time"}),
    string_attributes=frozenset({"name", "experiment_id"}),
    aliases=MappingProxyType({}),
)

_NUMERIC_OPS = frozenset({"=", "!=", "<", "<=", ">", ">="})
# A run's dataset inputs: datasets.name, datasets.digest, datasets.context (the input's
# mlflow.data.context tag), compared as strings (MLflow's grammar).
DATASET_KEYS = frozenset({"name", "digest", "context"})
_STRING_ATTRIBUTE_OPS = frozenset({"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"})
_ENTITY_OPS = _STRING_ATTRIBUTE_OPS | {"IS NULL", "IS NOT NULL"}
# Longest first, so "IS NOT NULL" wins over "IS NULL" and "NOT IN" over "IN".
_WORD_OPS = ("IS NOT NULL", "IS NULL", "NOT IN", "ILIKE", "LIKE", "IN")
_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE", "ASC", "DESC"})

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<ident>[A-Za-z_]\w*(?:\.(?:`[^`]*`|"(?:[^"]|"")*"|[\w.]*))?)
  | (?P<backtick>`[^`]*`)
  | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
  | (?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<op>[<>=!~]+)
  | (?P<punct>[(),])
  | (?P<unterminated>['"`])
  | (?P<bad>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    start: int
    end: int


_LOGGED_MODELS = FilterSchema(
    what="logged models",
    kinds=frozenset({"metric", "param", "tag", "attribute"}),
    numeric_attributes=frozenset({"creation_timestamp_ms", "last_updated_timestamp_ms"}),
    string_attributes=frozenset(
        {"model_id", "name", "status", "model_type", "source_run_id", "artifact_location", "experiment_id"}
    ),
    aliases=MappingProxyType(
        {
            "creation_time": "creation_timestamp_ms",
            "creation_timestamp": "creation_timestamp_ms",
            "last_updated_timestamp": "last_updated_timestamp_ms",
        }
    ),
    # MLflow's logged-model grammar takes exactly these (lower-case, plural) and no IS NULL.
    prefixes=MappingProxyType({"metrics": "metric", "params": "param", "tags": "tag", "attributes": "attribute"}),
    entity_ops=_STRING_ATTRIBUTE_OPS,
)


def parse_logged_model_filter(filter_string: str | None) -> list[Comparison]:
    """The clauses of a search_logged_models filter: attributes (name, model_id, status,
    model_type, source_run_id, artifact_location, experiment_id, creation_timestamp,
    last_updated_timestamp), metrics.<key>, params.<key> and tags.<key>."""
    return parse_filter_with(filter_string, _LOGGED_MODELS)


def parse_logged_model_order_attribute(name: str) -> str:
    """The canonical attribute a logged-model order_by ``field_name`` names; InvalidInput if none."""
    key = _LOGGED_MODELS.aliases.get(name, name)
    if key not in _LOGGED_MODELS.numeric_attributes | _LOGGED_MODELS.string_attributes:
        raise InvalidInput(f"Invalid order by field name: {name}")
    return key


_TRACES = FilterSchema(
    what="traces",
    kinds=frozenset({"tag", "attribute", "metadata", "span", "feedback", "expectation"}),
    numeric_attributes=frozenset({"timestamp_ms", "execution_time_ms", "end_time_ms"}),
    string_attributes=frozenset({"trace_id", "status", "client_request_id", "name", "run_id", "experiment_id"}),
    aliases=MappingProxyType(
        {
            "timestamp": "timestamp_ms", "execution_time": "execution_time_ms", "end_time": "end_time_ms",
            "request_id": "trace_id", "state": "status",
        }
    ),
    # MLflow's trace grammar: trace.<attr> is an attribute, metadata is request_metadata.
    prefixes=MappingProxyType(
        {
            "tags": "tag", "tag": "tag", "attributes": "attribute", "attribute": "attribute", "trace": "attribute",
            "metadata": "metadata", "request_metadata": "metadata", "span": "span",
            "feedback": "feedback", "expectation": "expectation",
        }
    ),
)  # fmt: skip
SPAN_FIELDS = frozenset({"name", "type", "status"})  # span.<field>, or span.attributes.<key>


def parse_trace_filter(filter_string: str | None) -> list[Comparison]:
    """The clauses of a search_traces filter (MLflow 3's grammar): trace attributes (trace_id,
    timestamp_ms, execution_time_ms, end_time_ms, status, name, run_id, client_request_id),
    tags.<key>, metadata.<key>, span.name|type|status, span.attributes.<key>, feedback.<name>
    and expectation.<name>."""
    comparisons = parse_filter_with(filter_string, _TRACES)
    for c in comparisons:
        if c.kind == "span" and c.key not in SPAN_FIELDS and not c.key.startswith("attributes."):
            raise InvalidInput(
                f"Invalid span field {c.key!r} in {filter_string!r}; use span.name, span.type, span.status "
                "or span.attributes.<key>"
            )
    return comparisons


def parse_trace_order_by(clause: str) -> OrderBy:
    """One search_traces order_by clause, e.g. ``timestamp_ms DESC``; attributes only."""
    order = parse_order_by_with(clause, _TRACES)
    if order.kind != "attribute":
        raise InvalidInput(f"Cannot order traces by {clause!r}: use an attribute such as timestamp_ms")
    return order


def parse_filter(filter_string: str | None) -> list[Comparison]:
    """The clauses of a search_runs filter; [] for None or blank. InvalidInput if malformed."""
    return parse_filter_with(filter_string, _RUNS)


def parse_experiment_filter(filter_string: str | None) -> list[Comparison]:
    """The clauses of a search_experiments filter: attributes name, experiment_id, creation_time,
    last_update_time, and tags.<key>. [] for None or blank; InvalidInput if malformed."""
    return parse_filter_with(filter_string, _EXPERIMENTS)


def parse_order_by(clause: str) -> OrderBy:
    """One search_runs order_by clause, e.g. ``metrics.acc DESC``; ascending unless DESC."""
    return parse_order_by_with(clause, _RUNS)


def parse_experiment_order_by(clause: str) -> OrderBy:
    """One search_experiments order_by clause, e.g. ``creation_time DESC`` or ``name``."""
    return parse_order_by_with(clause, _EXPERIMENTS)


def _tokenize(text: str) -> list[_Token]:
    if "\x00" in text:  # PostgreSQL refuses NUL in query parameters
        raise InvalidInput(f"Filter {text!r} contains a NUL character")
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        assert match is not None and match.lastgroup is not None  # the "bad" group matches anything
        kind, pos = match.lastgroup, match.end()
        if kind == "unterminated":
            raise InvalidInput(f"Unterminated quote at {text[match.start() :]!r} in {text!r}")
        if kind == "bad":
            raise InvalidInput(f"Unexpected character {match.group()!r} at position {match.start()} in {text!r}")
        if kind != "ws":
            tokens.append(_Token(kind, match.group(), match.start(), pos))
    return tokens


def _is_word(token: _Token, *words: str) -> bool:
    return token.kind == "ident" and token.text.upper() in words


def parse_filter_with(filter_string: str | None, schema: FilterSchema) -> list[Comparison]:
    if filter_string is None or not filter_string.strip():
        return []
    clauses: list[list[_Token]] = [[]]
    for token in _tokenize(filter_string):
        if _is_word(token, "AND"):
            if not clauses[-1]:
                raise InvalidInput(f"Expected a clause before 'AND' at position {token.start} in {filter_string!r}")
            clauses.append([])
        elif _is_word(token, "OR"):
            raise InvalidInput(f"OR is not supported (in {filter_string!r}); join clauses with AND")
        else:
            clauses[-1].append(token)
    if not clauses[-1]:
        raise InvalidInput(f"Filter {filter_string!r} ends with AND: expected a clause after it")
    return [_parse_clause(tokens, filter_string, schema) for tokens in clauses]


def _unquote(text: str) -> str:
    quote = text[0]
    return text[1:-1] if quote == "`" else text[1:-1].replace(quote * 2, quote)


def _identifier(token: _Token, schema: FilterSchema, source: str) -> tuple[Kind, str]:
    if token.kind == "backtick":
        kind: Kind | None = "attribute"
        key = _unquote(token.text)
    elif token.kind != "ident" or _is_word(token, *_KEYWORDS):
        raise InvalidInput(f"Expected an identifier such as metrics.<key>, got {token.text!r} in {source!r}")
    elif "." not in token.text:
        kind, key = "attribute", token.text
    else:
        prefix, key = token.text.split(".", 1)
        kind = _PREFIXES.get(prefix.lower()) if schema.prefixes is None else schema.prefixes.get(prefix)
        if kind is None:
            raise InvalidInput(
                f"Unknown identifier type {prefix!r} in {source!r}; use metrics, params, tags or attributes"
            )
        if key[:1] in ("`", '"'):
            key = _unquote(key)
    if not key:
        raise InvalidInput(f"Missing key after {token.text!r} in {source!r}")
    if kind not in schema.kinds:
        raise InvalidInput(f"{token.text!r} cannot be used when searching {schema.what} (in {source!r})")
    if kind == "dataset" and key not in DATASET_KEYS:
        raise InvalidInput(f"Invalid dataset key {key!r} in {source!r}; valid keys: {', '.join(sorted(DATASET_KEYS))}")
    if kind == "attribute":
        key = schema.aliases.get(key, key)
        if key not in schema.numeric_attributes | schema.string_attributes:
            valid = ", ".join(sorted(schema.numeric_attributes | schema.string_attributes))
            raise InvalidInput(f"Unknown attribute {key!r} in {source!r}; valid attributes: {valid}")
    return kind, key


def _comparator(tokens: list[_Token], i: int, clause: str) -> tuple[str, int]:
    if i >= len(tokens):
        raise InvalidInput(f"Missing comparator after {tokens[i - 1].text!r} in clause {clause!r}")
    token = tokens[i]
    if token.kind == "op":
        if token.text not in _NUMERIC_OPS:
            raise InvalidInput(f"Unknown comparator {token.text!r} in clause {clause!r}")
        return token.text, i + 1
    for op in _WORD_OPS:
        words = op.split()
        window = tokens[i : i + len(words)]
        if len(window) == len(words) and all(_is_word(t, w) for t, w in zip(window, words, strict=True)):
            return op, i + len(words)
    bad = token.text
    if _is_word(token, "NOT", "IS") and i + 1 < len(tokens):
        bad += " " + tokens[i + 1].text
    raise InvalidInput(f"Unknown comparator {bad!r} in clause {clause!r}")


def _string_list(tokens: list[_Token], i: int, clause: str) -> tuple[tuple[str, ...], int]:
    shape = "a parenthesized list of quoted strings like ('a', 'b')"
    if i >= len(tokens) or tokens[i].text != "(":
        got = repr(tokens[i].text) if i < len(tokens) else "nothing"
        raise InvalidInput(f"IN expects {shape}, got {got} in clause {clause!r}")
    items: list[str] = []
    i += 1
    while True:
        if i >= len(tokens) or tokens[i].kind != "string":
            got = repr(tokens[i].text) if i < len(tokens) else "end of clause"
            raise InvalidInput(f"IN expects {shape}, got {got} in clause {clause!r}")
        items.append(_unquote(tokens[i].text))
        if i + 1 < len(tokens) and tokens[i + 1].text == ",":
            i += 2
        elif i + 1 < len(tokens) and tokens[i + 1].text == ")":
            return tuple(items), i + 2
        else:
            raise InvalidInput(f"Unterminated IN list (missing ')') in clause {clause!r}")


def _parse_clause(tokens: list[_Token], source: str, schema: FilterSchema) -> Comparison:
    clause = source[tokens[0].start : tokens[-1].end]
    if tokens[0].text == "(":
        raise InvalidInput(f"Parentheses grouping is not supported (in {clause!r}); join clauses with AND")
    kind, key = _identifier(tokens[0], schema, clause)
    op, i = _comparator(tokens, 1, clause)
    numeric = kind == "metric" or (kind == "attribute" and key in schema.numeric_attributes)
    entity_ops = _ENTITY_OPS if schema.entity_ops is None else schema.entity_ops
    string_only = kind in ("attribute", "dataset")
    allowed = _NUMERIC_OPS if numeric else _STRING_ATTRIBUTE_OPS if string_only else entity_ops
    if op not in allowed:
        raise InvalidInput(
            f"Comparator {op!r} is not supported for {tokens[0].text!r} (in {clause!r}); "
            f"use one of: {', '.join(sorted(allowed))}"
        )
    value: float | str | tuple[str, ...] | None = None
    if op in ("IN", "NOT IN"):
        value, i = _string_list(tokens, i, clause)
    elif op not in ("IS NULL", "IS NOT NULL"):
        if i >= len(tokens):
            raise InvalidInput(f"Missing value after {op!r} in clause {clause!r}")
        token, i = tokens[i], i + 1
        if numeric:
            if token.kind != "number":
                raise InvalidInput(f"Expected a number for {tokens[0].text!r}, got {token.text!r} in {clause!r}")
            is_int = kind == "attribute" and re.fullmatch(r"[+-]?\d+", token.text)
            value = int(token.text) if is_int else float(token.text)
        else:
            if token.kind != "string":
                raise InvalidInput(f"Expected a quoted string for {tokens[0].text!r}, got {token.text!r} in {clause!r}")
            value = _unquote(token.text)
    if i < len(tokens):
        raise InvalidInput(f"Unexpected {tokens[i].text!r} in clause {clause!r} (missing AND?)")
    return Comparison(kind, key, op, value)


def parse_order_by_with(clause: str, schema: FilterSchema) -> OrderBy:
    tokens = _tokenize(clause or "")
    if not tokens:
        raise InvalidInput("Empty order_by clause")
    kind, key = _identifier(tokens[0], schema, clause)
    if kind == "dataset":
        raise InvalidInput(f"Cannot order by {tokens[0].text!r} (in {clause!r}): datasets are for filtering only")
    ascending = True
    if len(tokens) > 1:
        if not _is_word(tokens[1], "ASC", "DESC"):
            raise InvalidInput(f"Invalid order_by direction {tokens[1].text!r} in {clause!r}; use ASC or DESC")
        ascending = tokens[1].text.upper() == "ASC"
    if len(tokens) > 2:
        raise InvalidInput(f"Unexpected {tokens[2].text!r} in order_by clause {clause!r}")
    return OrderBy(kind, key, ascending)
