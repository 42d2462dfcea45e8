"""Authoring mirrors Airflow 3: wiring, ids, defaults, groups, params, validation. No DB."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from trackflow import DAG, Param, TaskGroup, TriggerRule, chain, dag, task
from trackflow.errors import InvalidInput
from trackflow.operators import BashOperator, EmptyOperator, PythonOperator
from trackflow.pipelines.authoring import XComArg, cross_downstream, task_group
from trackflow.pipelines.authoring.serialize import serialize_dag

START = datetime(2025, 1, 1)


def test_rshift_lshift_lists_and_chain() -> None:
    with DAG("wiring", start_date=START) as d:
        a, b, c, e, f = (EmptyOperator(task_id=x) for x in "abcef")
        a >> [b, c]
        e << [b, c]
        chain(e, [EmptyOperator(task_id="g"), EmptyOperator(task_id="h")], f)
        cross_downstream([a], [f])
    assert d.task_dict["a"].downstream_task_ids == {"b", "c", "f"}
    assert d.task_dict["e"].upstream_task_ids == {"b", "c"}
    assert d.task_dict["f"].upstream_task_ids == {"g", "h", "a"}
    assert d.topological_order()[0] == "a"


def test_taskflow_values_create_dependencies_and_unique_ids() -> None:
    @dag(schedule=None, start_date=START)
    def flow() -> None:
        @task
        def one() -> int:
            return 1

        @task
        def add(x: int, y: int = 0) -> int:
            return x + y

        first = one()
        add(first)
        add(first, y=2)
        add.override(task_id="custom", retries=4)(first)

    d = flow()
    assert d.dag_id == "flow"
    assert set(d.task_ids) == {"one", "add", "add__1", "custom"}
    assert d.task_dict["add__1"].upstream_task_ids == {"one"}
    assert d.task_dict["custom"].retries == 4
    assert isinstance(d.task_dict["add"].op_args[0], XComArg)


def test_multiple_outputs_explicit_and_inferred_from_annotation() -> None:
    with DAG("mo", start_date=START):
        @task
        def inferred() -> dict[str, int]:
            return {"a": 1}

        @task(multiple_outputs=True)
        def explicit():
            return {"a": 1}

        @task
        def plain() -> int:
            return 1

        x, y, z = inferred(), explicit(), plain()
    assert x.operator.multiple_outputs and y.operator.multiple_outputs and not z.operator.multiple_outputs
    assert x["a"].key == "a"
    with pytest.raises(TypeError):
        iter(x)


def test_default_args_fill_missing_arguments_only() -> None:
    defaults = {"retries": 3, "retry_delay": timedelta(seconds=7), "owner": "ml", "bash_command": "echo default"}
    with DAG("defaults", start_date=START, default_args=defaults) as d:
        a = BashOperator(task_id="a")
        b = BashOperator(task_id="b", retries=0, bash_command="echo b")
        with TaskGroup("g", default_args={"retries": 9}):
            c = EmptyOperator(task_id="c")
    assert (a.retries, a.retry_delay, a.owner, a.bash_command) == (3, timedelta(seconds=7), "ml", "echo default")
    assert (b.retries, b.bash_command) == (0, "echo b")
    assert c.task_id == "g.c" and c.retries == 9
    assert serialize_dag(d).task_map["a"].retry_delay == 7.0


def test_task_groups_prefix_ids_and_wire_roots_and_leaves() -> None:
    with DAG("grp", start_date=START) as d:
        start = EmptyOperator(task_id="start")
        with TaskGroup("outer") as outer:
            x = EmptyOperator(task_id="x")
            with TaskGroup("inner"):
                y = EmptyOperator(task_id="y")
            x >> y
        end = EmptyOperator(task_id="end")
        start >> outer >> end

        @task_group
        def tg():
            @task
            def inside():
                return 1

            return inside()

        tg()
    assert y.task_id == "outer.inner.y"
    assert d.task_dict["outer.x"].upstream_task_ids == {"start"}
    assert end.upstream_task_ids == {"outer.inner.y"}
    assert "tg.inside" in d.task_dict
    assert serialize_dag(d).task_map["outer.inner.y"].task_group == "outer.inner"


def test_mapping_declares_inputs() -> None:
    with DAG("m", start_date=START) as d:
        @task
        def source() -> list[int]:
            return [1, 2]

        @task
        def double(x: int, factor: int) -> int:
            return x * factor

        double.partial(factor=2).expand(x=source())
        double.expand(x=[1, 2, 3], factor=[1, 2])
        BashOperator.partial(task_id="echo").expand(bash_command=["echo 1", "echo 2"])
    spec = serialize_dag(d).task_map
    assert spec["double"].is_mapped and spec["double"].map_inputs[0].task_id == "source"
    assert [m.length for m in spec["double__1"].map_inputs] == [3, 2]
    assert spec["echo"].is_mapped and spec["double"].upstream == ("source",)
    with pytest.raises(InvalidInput, match="must be a list"):
        with DAG("bad_map", start_date=START):
            double.expand(x=5)


def test_cycle_duplicate_ids_and_bad_values_give_clear_errors() -> None:
    with DAG("cyc", start_date=START) as d:
        a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b")
        a >> b >> a
    with pytest.raises(InvalidInput, match="cycle detected in DAG 'cyc'"):
        d.validate()
    with pytest.raises(InvalidInput, match="task id 'a' has already been added to the DAG 'dup'"):
        with DAG("dup", start_date=START):
            EmptyOperator(task_id="a")
            EmptyOperator(task_id="a")
    with pytest.raises(InvalidInput, match="invalid cron expression '61 \\* \\* \\* \\*'"):
        DAG("bad_cron", schedule="61 * * * *", start_date=START)
    with pytest.raises(InvalidInput, match="@often"):
        DAG("bad_preset", schedule="@often", start_date=START)
    with pytest.raises(InvalidInput, match="invalid trigger_rule 'sometimes'"):
        with DAG("bad_rule", start_date=START):
            EmptyOperator(task_id="x", trigger_rule="sometimes")
    with pytest.raises(InvalidInput, match="invalid task_id"):
        with DAG("bad_id", start_date=START):
            EmptyOperator(task_id="has space")
    with pytest.raises(InvalidInput, match="invalid arguments passed to EmptyOperator"):
        with DAG("bad_kw", start_date=START):
            EmptyOperator(task_id="x", not_an_arg=1)


def test_params_defaults_and_validation() -> None:
    d = DAG("p", start_date=START, params={"n": Param(3, type="integer", minimum=1), "name": "x",
                                            "needed": Param(type="string")})
    assert d.params.resolve({"needed": "yes"}) == {"n": 3, "name": "x", "needed": "yes"}
    assert d.params.resolve({"needed": "y", "n": 5, "extra": 1})["extra"] == 1
    with pytest.raises(InvalidInput, match="param 'n'"):
        d.params.resolve({"n": 0, "needed": "y"})
    with pytest.raises(InvalidInput, match="param 'needed' is required"):
        d.params.resolve({})
    with pytest.raises(InvalidInput):
        Param("not a number", type="integer")


def test_trigger_rule_enum_and_python_operator_context() -> None:
    assert TriggerRule("none_failed_min_one_success") is TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS
    with DAG("ctx", start_date=START):
        op = PythonOperator(task_id="p", python_callable=lambda ds, x: f"{ds}-{x}", op_kwargs={"x": 1})
    assert op.execute({"ds": "2025-01-01", "other": 2, "templates_dict": None}) == "2025-01-01-1"


def test_templates_render_with_context_and_filters() -> None:
    with DAG("tpl", start_date=START, user_defined_macros={"greet": "hi"}):
        op = BashOperator(task_id="b",
                          bash_command="echo {{ greet }} {{ ds }} {{ params.x }} {{ logical_date | ds_nodash }}",
                          env={"D": "{{ ds }}"})
    op.render_template_fields({"ds": "2025-01-02", "params": {"x": 7}, "logical_date": datetime(2025, 1, 2)})
    assert op.bash_command == "echo hi 2025-01-02 7 20250102"
    assert op.env == {"D": "2025-01-02"}
    with pytest.raises(Exception, match="undefined"):
        with DAG("tpl2", start_date=START):
            bad = BashOperator(task_id="b", bash_command="echo {{ nope }}")
        bad.render_template_fields({})


def test_serialize_priority_weights_follow_downstream_rule() -> None:
    with DAG("w", start_date=START, schedule="@daily") as d:
        a = EmptyOperator(task_id="a")
        b = EmptyOperator(task_id="b", priority_weight=5)
        c = EmptyOperator(task_id="c", weight_rule="absolute", priority_weight=2)
        a >> b >> c
    spec = serialize_dag(d)
    assert [spec.task_map[t].priority_weight for t in "abc"] == [8, 7, 2]
    assert spec.schedule == "@daily" and spec.timetable["kind"] == "cron"
    assert spec.task_map["a"].is_empty


def test_a_label_on_an_edge_links_its_two_sides() -> None:
    from trackflow import DAG, Label
    from trackflow.operators import EmptyOperator

    with DAG("labelled", schedule=None) as d:
        a, b, c = EmptyOperator(task_id="a"), EmptyOperator(task_id="b"), EmptyOperator(task_id="c")
        a >> Label("when ok") >> [b, c]
        [b, c] >> Label("joined") >> EmptyOperator(task_id="end")
    assert d.task_dict["b"].upstream_task_ids == {"a"} and d.task_dict["c"].upstream_task_ids == {"a"}
    assert d.task_dict["end"].upstream_task_ids == {"b", "c"}


def test_a_task_output_in_a_custom_operators_templated_field_makes_it_upstream() -> None:
    """As Airflow: ``SumIt(values=add_one.output)`` runs after every add_one (mapped or not)."""
    from trackflow import BaseOperator

    class AddOne(BaseOperator):
        def __init__(self, value: int, **kwargs: object) -> None:
            super().__init__(**kwargs)  # type: ignore[arg-type]
            self.value = value

    class SumIt(BaseOperator):
        template_fields = ("values",)

        def __init__(self, values: object, untemplated: object = None, **kwargs: object) -> None:
            super().__init__(**kwargs)  # type: ignore[arg-type]
            self.values = values
            self.untemplated = untemplated

    with DAG("custom_xcom", schedule=None) as d:
        added = AddOne.partial(task_id="add_one").expand(value=[1, 2, 3])
        other = AddOne(task_id="other", value=1)
        SumIt(task_id="sum_it", values={"total": added.output}, untemplated=other.output)
    assert d.task_dict["sum_it"].upstream_task_ids == {"add_one"}  # only templated fields link
