"""Connections in tasks: BaseHook.get_connection (the password masked in the log), the extra,
an AIRFLOW_CONN_* environment variable winning over the stored connection of that id, and
{{ conn.<id>.<field> }} in a templated command."""
from datetime import datetime

from trackflow import BaseHook, dag, task
from trackflow.operators import BashOperator


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def uses_connections():
    @task
    def connect() -> None:
        conn = BaseHook.get_connection("warehouse")
        print(f"connecting to {conn.host}:{conn.port}/{conn.schema} as {conn.login} with password {conn.password}")
        print(f"sslmode={conn.extra_dejson['sslmode']} api_token={conn.extra_dejson['api_token']}")
        print(f"override host={BaseHook.get_connection('override').host}")

    show = BashOperator(task_id="show",
                        bash_command="echo 'host={{ conn.warehouse.host }} type={{ conn.override.conn_type }}'")
    connect() >> show


uses_connections()
