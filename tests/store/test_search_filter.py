"""The MLflow search grammar: what parses to what, and what is refused with a message naming the bad part."""

from __future__ import annotations

import dataclasses

import pytest

from trackflow.errors import InvalidInput
from trackflow.store.search_filter import (
    Comparison,
    OrderBy,
    parse_experiment_filter,
    parse_experiment_order_by,
    parse_filter,
    parse_order_by,
)


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.acc > 0.9", Comparison("metric", "acc", ">", 0.9)),
        ("metric.acc>=1", Comparison("metric", "acc", ">=", 1.0)),
        ("metrics.loss < -0.5", Comparison("metric", "loss", "<", -0.5)),
        ("metrics.loss<-2", Comparison("metric", "loss", "<", -2.0)),
        ("metrics.lr = 1e-3", Comparison("metric", "lr", "=", 0.001)),
        ("metrics.lr != 2.5E+2", Comparison("metric", "lr", "!=", 250.0)),
        ("metrics.x <= .5", Comparison("metric", "x", "<=", 0.5)),
        ("metrics.x = +3", Comparison("metric", "x", "=", 3.0)),
        ("metrics.`my metric` > 1", Comparison("metric", "my metric", ">", 1.0)),
        ('metrics."val-loss" < 1', Comparison("metric", "val-loss", "<", 1.0)),
        ("params.model = 'lr'", Comparison("param", "model", "=", "lr")),
        ('params.model = "lr"', Comparison("param", "model", "=", "lr")),
        ("param.model != 'lr'", Comparison("param", "model", "!=", "lr")),
        ("parameters.m LIKE 'l%'", Comparison("param", "m", "LIKE", "l%")),
        ("parameter.m ilike '%R'", Comparison("param", "m", "ILIKE", "%R")),
        ("params.m IS NULL", Comparison("param", "m", "IS NULL", None)),
        ("params.m is not null", Comparison("param", "m", "IS NOT NULL", None)),
        ("params.m IN ('a', 'b')", Comparison("param", "m", "IN", ("a", "b"))),
        ("params.m not in ('a')", Comparison("param", "m", "NOT IN", ("a",))),
        ("params.m = 'it''s'", Comparison("param", "m", "=", "it's")),
        ('params.m = "say ""hi"""', Comparison("param", "m", "=", 'say "hi"')),
        ("params.m = 'a AND b OR c'", Comparison("param", "m", "=", "a AND b OR c")),
        ("params.m = ''", Comparison("param", "m", "=", "")),
        ("params.`a b` = 'x'", Comparison("param", "a b", "=", "x")),
        ("tags.use_case = 'GenAI'", Comparison("tag", "use_case", "=", "GenAI")),
        ("tag.t = 'x'", Comparison("tag", "t", "=", "x")),
        ("tags.mlflow.runName = 'r1'", Comparison("tag", "mlflow.runName", "=", "r1")),
        ("tags.\"mlflow.runName\" LIKE 'r%'", Comparison("tag", "mlflow.runName", "LIKE", "r%")),
        ("tags.`mlflow.source.type` = 'LOCAL'", Comparison("tag", "mlflow.source.type", "=", "LOCAL")),
        ("tags.t IS NULL", Comparison("tag", "t", "IS NULL", None)),
        ("attributes.status = 'FAILED'", Comparison("attribute", "status", "=", "FAILED")),
        ("attribute.status != 'FAILED'", Comparison("attribute", "status", "!=", "FAILED")),
        ("attr.run_name LIKE 'lr%'", Comparison("attribute", "run_name", "LIKE", "lr%")),
        ("run.run_name ILIKE 'LR%'", Comparison("attribute", "run_name", "ILIKE", "LR%")),
        ("status = 'RUNNING'", Comparison("attribute", "status", "=", "RUNNING")),
        ("attributes.run_id IN ('a1', 'b2')", Comparison("attribute", "run_id", "IN", ("a1", "b2"))),
        ("attributes.run_uuid = 'a1'", Comparison("attribute", "run_id", "=", "a1")),
        ("run_id NOT IN ('x')", Comparison("attribute", "run_id", "NOT IN", ("x",))),
        ("attributes.user_id = 'ann'", Comparison("attribute", "user_id", "=", "ann")),
        ("attributes.artifact_uri LIKE 's3://%'", Comparison("attribute", "artifact_uri", "LIKE", "s3://%")),
        ("lifecycle_stage = 'deleted'", Comparison("attribute", "lifecycle_stage", "=", "deleted")),
        ("experiment_id = '0'", Comparison("attribute", "experiment_id", "=", "0")),
        ("attributes.start_time > 1700000000000", Comparison("attribute", "start_time", ">", 1700000000000)),
        ("created >= 5", Comparison("attribute", "start_time", ">=", 5)),
        ("attributes.end_time < 1.5e3", Comparison("attribute", "end_time", "<", 1500.0)),
        ("METRICS.acc > 1", Comparison("metric", "acc", ">", 1.0)),
        ("datasets.name = 'iris'", Comparison("dataset", "name", "=", "iris")),
        ("dataset.digest IN ('a', 'b')", Comparison("dataset", "digest", "IN", ("a", "b"))),
        ("datasets.context LIKE 'train%'", Comparison("dataset", "context", "LIKE", "train%")),
    ],
)
def test_single_clause(filter_string: str, expected: Comparison) -> None:
    assert parse_filter(filter_string) == [expected]


def test_metric_values_are_floats_and_time_attributes_keep_integers() -> None:
    [metric, start] = parse_filter("metrics.a = 1 and start_time = 1700000000123")
    assert type(metric.value) is float
    assert type(start.value) is int and start.value == 1700000000123


def test_clauses_joined_by_and_in_any_case() -> None:
    got = parse_filter(
        "metrics.acc > 0.9 AND params.model = 'lr' and tags.t LIKE 'x%' And attributes.status = 'FINISHED'"
    )
    assert got == [
        Comparison("metric", "acc", ">", 0.9),
        Comparison("param", "model", "=", "lr"),
        Comparison("tag", "t", "LIKE", "x%"),
        Comparison("attribute", "status", "=", "FINISHED"),
    ]


def test_multiline_and_extra_whitespace() -> None:
    got = parse_filter("  metrics.a>1\n\tAND\n  params.b  IN  ( 'x' ,'y' )  ")
    assert got == [Comparison("metric", "a", ">", 1.0), Comparison("param", "b", "IN", ("x", "y"))]


@pytest.mark.parametrize("blank", [None, "", "   ", "\n\t"])
def test_blank_filter_is_empty(blank: str | None) -> None:
    assert parse_filter(blank) == []
    assert parse_experiment_filter(blank) == []


def test_results_are_frozen() -> None:
    [c] = parse_filter("metrics.a > 1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.key = "b"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("filter_string", "named"),
    [
        # joins and grouping
        ("metrics.a > 1 OR metrics.b > 2", "OR"),
        ("(metrics.a > 1)", "Parentheses"),
        ("metrics.a > 1 AND (params.b = 'x')", "Parentheses"),
        ("metrics.a > 1 AND", "ends with AND"),
        ("AND metrics.a > 1", "'AND'"),
        ("metrics.a > 1 AND AND metrics.b > 2", "'AND'"),
        ("metrics.a > 1 metrics.b > 2", "'metrics.b'"),
        # quoting
        ("params.a = 'abc", "'abc"),
        ('params.a = "abc', '"abc'),
        ("metrics.`abc > 1", "`abc > 1"),
        ("metrics.train/loss < 1", "'/'"),
        ("metrics.a > 1 ; drop", "';'"),
        # identifiers
        ("foo.bar = 'x'", "'foo'"),
        ("datasets.size = 'x'", "'size'"),  # datasets take name, digest and context
        ("datasets.name > 'x'", "'>'"),
        ("attributes.bogus = 'x'", "'bogus'"),
        ("bogus = 'x'", "'bogus'"),
        ("name = 'x'", "'name'"),
        ("metrics. > 1", "'metrics.'"),
        ("'acc' > 1", "'acc'"),
        ("1 > metrics.a", "'1'"),
        ("= 'x'", "'='"),
        # comparators
        ("metrics.a", "Missing comparator after 'metrics.a'"),
        ("metrics.a == 1", "'=='"),
        ("metrics.a <> 1", "'<>'"),
        ("metrics.a ~ 1", "'~'"),
        ("params.a CONTAINS 'x'", "'CONTAINS'"),
        ("params.a NOT LIKE 'x'", "'NOT LIKE'"),
        ("params.a IS 'x'", "\"IS 'x'\""),
        ("metrics.a LIKE '1'", "'LIKE'"),
        ("metrics.a IS NULL", "'IS NULL'"),
        ("metrics.a IN ('1')", "'IN'"),
        ("params.a > 'x'", "'>'"),
        ("tags.a <= 'x'", "'<='"),
        ("tags.a < 'x'", "'<'"),
        ("params.a >= 'x'", "'>='"),
        ("status < 'x'", "'<'"),
        ("status IS NULL", "'IS NULL'"),
        ("start_time LIKE '1%'", "'LIKE'"),
        ("start_time IN ('1')", "'IN'"),
        # values
        ("metrics.a >", "Missing value after '>'"),
        ("params.a =", "Missing value after '='"),
        ("metrics.a > 'x'", "\"'x'\""),
        ("metrics.a > abc", "'abc'"),
        ("start_time > '2024'", "\"'2024'\""),
        ("params.a = 1", "'1'"),
        ("params.a = lr", "'lr'"),
        ("status = FAILED", "'FAILED'"),
        ("metrics.a > 1 2", "'2'"),
        ("metrics.a > 1abc", "'abc'"),
        ("params.a = 'x' 'y'", "\"'y'\""),
        ("params.a IS NULL 'x'", "\"'x'\""),
        # IN lists
        ("params.a IN 'x'", "\"'x'\""),
        ("params.a IN", "got nothing"),
        ("params.a IN ()", "')'"),
        ("params.a IN (1, 2)", "'1'"),
        ("params.a IN ('x',)", "')'"),
        ("params.a IN ('x' 'y')", "missing ')'"),
        ("params.a IN ('x'", "missing ')'"),
        ("params.a IN ('x') 'y'", "\"'y'\""),
    ],
)
def test_invalid_filter(filter_string: str, named: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_filter(filter_string)
    assert named in info.value.message


def test_error_names_the_bad_clause_not_its_neighbours() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_filter("metrics.ok > 1 AND params.bad > 'x' AND tags.fine = 'y'")
    assert "params.bad > 'x'" in info.value.message
    assert "metrics.ok" not in info.value.message and "tags.fine" not in info.value.message


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("metrics.acc DESC", OrderBy("metric", "acc", False)),
        ("metrics.acc desc", OrderBy("metric", "acc", False)),
        ("metrics.acc", OrderBy("metric", "acc", True)),
        ("metrics.acc ASC", OrderBy("metric", "acc", True)),
        ("attributes.start_time", OrderBy("attribute", "start_time", True)),
        ("start_time DESC", OrderBy("attribute", "start_time", False)),
        ("created DESC", OrderBy("attribute", "start_time", False)),
        ("run_name", OrderBy("attribute", "run_name", True)),
        ("params.`a b` ASC", OrderBy("param", "a b", True)),
        ('tags."mlflow.runName" DESC', OrderBy("tag", "mlflow.runName", False)),
        ("tags.mlflow.runName", OrderBy("tag", "mlflow.runName", True)),
        ("  metrics.x   DESC  ", OrderBy("metric", "x", False)),
    ],
)
def test_order_by(clause: str, expected: OrderBy) -> None:
    assert parse_order_by(clause) == expected


@pytest.mark.parametrize(
    ("clause", "named"),
    [
        ("", "Empty order_by"),
        ("   ", "Empty order_by"),
        ("metrics.acc DOWN", "'DOWN'"),
        ("metrics.acc DESC ASC", "'ASC'"),
        ("metrics.acc > 1", "'>'"),
        ("foo.acc", "'foo'"),
        ("attributes.bogus DESC", "'bogus'"),
        ("metrics.`acc DESC", "`acc DESC"),
        ("DESC", "'DESC'"),
        ("name", "'name'"),
    ],
)
def test_invalid_order_by(clause: str, named: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_order_by(clause)
    assert named in info.value.message


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("name = 'iris'", [Comparison("attribute", "name", "=", "iris")]),
        ("attributes.name LIKE 'ir%'", [Comparison("attribute", "name", "LIKE", "ir%")]),
        ("name ILIKE '%IS'", [Comparison("attribute", "name", "ILIKE", "%IS")]),
        ("experiment_id IN ('1', '2')", [Comparison("attribute", "experiment_id", "IN", ("1", "2"))]),
        ("creation_time > 100", [Comparison("attribute", "creation_time", ">", 100)]),
        ("last_update_time <= 1.5", [Comparison("attribute", "last_update_time", "<=", 1.5)]),
        ("tags.team = 'ml'", [Comparison("tag", "team", "=", "ml")]),
        (
            "tags.`a b` != 'x' and name = 'y'",
            [Comparison("tag", "a b", "!=", "x"), Comparison("attribute", "name", "=", "y")],
        ),
    ],
)
def test_experiment_filter(filter_string: str, expected: list[Comparison]) -> None:
    assert parse_experiment_filter(filter_string) == expected


@pytest.mark.parametrize(
    ("filter_string", "named"),
    [
        ("metrics.acc > 1", "'metrics.acc'"),
        ("params.a = 'x'", "'params.a'"),
        ("status = 'FAILED'", "'status'"),
        ("start_time > 1", "'start_time'"),
        ("creation_time > 'x'", "\"'x'\""),
        ("name > 'x'", "'>'"),
        ("name = 'x' OR name = 'y'", "OR"),
    ],
)
def test_invalid_experiment_filter(filter_string: str, named: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_experiment_filter(filter_string)
    assert named in info.value.message


def test_experiment_order_by() -> None:
    assert parse_experiment_order_by("creation_time DESC") == OrderBy("attribute", "creation_time", False)
    assert parse_experiment_order_by("name") == OrderBy("attribute", "name", True)
    assert parse_experiment_order_by("tags.team") == OrderBy("tag", "team", True)
    with pytest.raises(InvalidInput, match="'metrics.acc'"):
        parse_experiment_order_by("metrics.acc")
    with pytest.raises(InvalidInput, match="'start_time'"):
        parse_experiment_order_by("start_time")


def test_the_trace_filter_grammar() -> None:
    from trackflow.store.search_filter import parse_trace_filter, parse_trace_order_by

    parsed = parse_trace_filter("trace.status = 'OK' AND span.type = 'LLM' AND span.attributes.model LIKE 'gpt%' "
                                "AND metadata.`mlflow.sourceRun` = 'r' AND tags.t != 'x' AND feedback.good = 'true' "
                                "AND timestamp > 5 AND request_id IN ('tr-1', 'tr-2')")
    assert [(c.kind, c.key, c.op) for c in parsed] == [
        ("attribute", "status", "="), ("span", "type", "="), ("span", "attributes.model", "LIKE"),
        ("metadata", "mlflow.sourceRun", "="), ("tag", "t", "!="), ("feedback", "good", "="),
        ("attribute", "timestamp_ms", ">"), ("attribute", "trace_id", "IN")]
    for bad, named in (("span.colour = 'red'", "colour"), ('span."attributes.a""b" = \'1\'', "quotes"),
                       ("trace.timestamp_ms > 'x'", "number"), ("runs.x = '1'", "runs"),
                       ("trace.nope = '1'", "nope")):
        with pytest.raises(InvalidInput, match=named):
            parse_trace_filter(bad)
    assert parse_trace_order_by("execution_time DESC").key == "execution_time_ms"
    with pytest.raises(InvalidInput):
        parse_trace_order_by("tags.x")
