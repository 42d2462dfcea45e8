"""Ready tasks go by their weight_rule's weight: one at a time (max_active_tasks=1), c, then b, then a."""
from datetime import datetime

from weights_helper import ByLastLetter

from trackflow import DAG
from trackflow.operators import PythonOperator

with DAG("weighted", schedule=None, start_date=datetime(2025, 1, 1), max_active_tasks=1):
    PythonOperator(task_id="a", python_callable=lambda: None, weight_rule=ByLastLetter())
    PythonOperator(task_id="b", python_callable=lambda: None, weight_rule="weights_helper.ByLastLetter")
    PythonOperator(task_id="c", python_callable=lambda: None, weight_rule=ByLastLetter)
