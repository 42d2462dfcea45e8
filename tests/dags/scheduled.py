"""Scheduled DAGs for the scheduler loop tests."""
from datetime import datetime, timedelta

from trackflow import DAG
from trackflow.operators import EmptyOperator, PythonOperator

with DAG("hourly_catchup", schedule="@hourly", start_date=datetime(2025, 1, 1), end_date=datetime(2025, 1, 1, 3),
         catchup=True, max_active_runs=2):
    EmptyOperator(task_id="only")

with DAG("pooled", schedule=None, start_date=datetime(2025, 1, 1), max_active_tasks=10):
    for i in range(4):
        PythonOperator(task_id=f"p{i}", python_callable=lambda: None, pool="tiny", priority_weight=i)

with DAG("every_10m", schedule=timedelta(minutes=10), start_date=datetime(2025, 1, 1), catchup=False):
    EmptyOperator(task_id="only")
