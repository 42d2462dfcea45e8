"""TaskFlow ETL, Airflow 3 style (imports rewritten from airflow.sdk to trackflow)."""
import os
from datetime import datetime, timedelta

from trackflow import Param, dag, task
from trackflow.operators import BashOperator


@dag(
    schedule="@daily",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    default_args={"retries": 1, "retry_delay": timedelta(seconds=0), "owner": "data"},
    params={"multiplier": Param(2, type="integer", minimum=1), "label": "run"},
    tags=["example"],
)
def taskflow_etl():
    @task(multiple_outputs=True)
    def extract() -> dict:
        return {"numbers": [1, 2, 3], "source": "memory"}

    @task
    def transform(numbers: list, params=None) -> int:
        return sum(numbers) * params["multiplier"]

    @task
    def load(total: int, source: str, **context) -> str:
        env_value = os.environ.get("TF_TEST_ENV", "missing")
        return f"{source}:{total}:{context['ds']}:{env_value}"

    data = extract()
    total = transform(data["numbers"])
    loaded = load(total, data["source"])
    report = BashOperator(
        task_id="report",
        bash_command="echo '{{ params.label }} {{ ds }} {{ run_id }} {{ ti.task_id }} "
                     "{{ ti.xcom_pull(task_ids=\"load\") }}'",
    )
    loaded >> report
    load.override(task_id="load_again")(total, "copy")


taskflow_etl()
