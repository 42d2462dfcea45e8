"""Airflow's ways into a task's context: inlet events by position, alias and for_asset() (in
templates too), asset state from an ``async def`` task, and ``task.render_template``."""

import asyncio
from datetime import datetime

from trackflow import Asset, AssetAlias, dag, get_current_context, task
from trackflow.operators import BashOperator

LAKE = Asset("lake", uri="s3://lake/raw")
LAKE2 = Asset("lake2", uri="s3://lake/two")
VIA = AssetAlias("via")


@dag(schedule=None, start_date=datetime(2025, 1, 1), params={"p": "from-params"})
def context_access():
    @task(outlets=[LAKE, VIA])
    def produce(*, outlet_events):
        outlet_events[LAKE].extra["rows"] = 1
        outlet_events[VIA].add(LAKE2, extra={"k": 2})

    @task(inlets=[LAKE, VIA])
    def consume(*, inlet_events):
        latest = inlet_events[0][-1]
        assert inlet_events.for_asset(name="lake")[-1] == latest == inlet_events.for_asset(uri="s3://lake/raw")[-1]
        via = inlet_events[VIA]
        assert via == inlet_events.for_asset_alias(name="via") == inlet_events[1]
        return {"lake": latest.extra, "via": [(e.asset_name, e.extra) for e in via]}

    @task(inlets=[LAKE])
    async def remember():
        await asyncio.sleep(0)
        store = get_current_context()["asset_state_store"]
        await store.aset("seen", [1, 2])
        return await store.aget("seen")

    @task
    def render(**context):
        assert "test_mode" not in context  # Airflow 3 has none (a DAG branching on it ends as in Airflow)
        return context["task"].render_template(["{{ params.p }}", {"d": "{{ ds }}"}, ("x", 1)], context)

    template = BashOperator(task_id="template", inlets=[LAKE],
                            bash_command="echo '{{ inlet_events.for_asset(name=\"lake\")[-1].extra | tojson }}'")
    produce() >> consume() >> remember() >> [render(), template]


context_access()
