"""A DAG with a cycle: reported as an import error."""
from datetime import datetime

from trackflow import DAG
from trackflow.operators import EmptyOperator

with DAG("broken_cycle", schedule=None, start_date=datetime(2025, 1, 1)):
    a = EmptyOperator(task_id="a")
    b = EmptyOperator(task_id="b")
    c = EmptyOperator(task_id="c")
    a >> b >> c >> a
