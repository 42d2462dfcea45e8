"""W1: a chain of 20 no-op tasks."""
from trackflow import dag, task


@dag(dag_id="w1_chain", schedule=None)
def w1_chain():
    @task
    def noop():
        return None

    prev = None
    for i in range(20):
        t = noop.override(task_id=f"t{i:02d}")()
        if prev is not None:
            prev >> t
        prev = t


w1_chain()
