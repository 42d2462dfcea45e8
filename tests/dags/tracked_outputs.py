"""Tasks that log to their tracked run and pass large values (artifact store) downstream."""
from datetime import datetime

import numpy as np

import trackflow
from trackflow import dag, task


@dag(schedule=None, start_date=datetime(2025, 1, 1), experiment_name="tracked-outputs-exp")
def tracked_outputs():
    @task
    def train():
        trackflow.log_metric("loss", 0.25)
        trackflow.log_param("lr", 0.1)
        print("training done")
        return np.arange(100_000, dtype=np.float64)

    @task
    def evaluate(weights):
        trackflow.log_metric("n", float(len(weights)))
        return float(weights.sum())

    evaluate(train())


tracked_outputs()
