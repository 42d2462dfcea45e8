"""The pipeline workloads of shared/reference/pipeline-workloads.md, written once as Airflow 3 TaskFlow
DAG files; the trackflow copies differ only by the import line (the porting rule of issue 5)."""

from __future__ import annotations

from pathlib import Path

IMPORTS = {
    "airflow": "from airflow.sdk import dag, task",
    "trackflow": "from trackflow import dag, task",
}

HEADER = '''from datetime import datetime

{imports}


@task
def noop():
    return None

'''

W1 = '''
@dag(dag_id="w1_chain", schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["bench"])
def w1_chain():
    prev = None
    for i in range(20):
        t = noop.override(task_id=f"t{i:02d}")()
        if prev is not None:
            prev >> t
        prev = t


w1_chain()
'''

W2 = '''
@dag(dag_id="w2_fanout", schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["bench"])
def w2_fanout():
    start = noop.override(task_id="start")()
    join = noop.override(task_id="join")()
    for i in range({width}):
        p = noop.override(task_id=f"p{i:03d}")()
        start >> p
        p >> join


w2_fanout()
'''

W3 = '''
@task
def first():
    return {"step": 0, "payload": "x" * 1000}


@task
def step(prev):
    assert len(prev["payload"]) == 1000, len(prev["payload"])
    return {"step": prev["step"] + 1, "payload": prev["payload"]}


@dag(dag_id="w3_data", schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["bench"])
def w3_data():
    value = first.override(task_id="s00")()
    for i in range(1, 10):
        value = step.override(task_id=f"s{i:02d}")(value)


w3_data()
'''

W4 = '''
@dag(dag_id="w4_parse_{n:03d}", schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["bench"])
def w4_parse_{n:03d}():
    prev = None
    for i in range(5):
        t = noop.override(task_id=f"t{{i}}")()
        if prev is not None:
            prev >> t
        prev = t


w4_parse_{n:03d}()
'''

DAG_IDS = {"W1": "w1_chain", "W2": "w2_fanout", "W3": "w3_data"}


def write_workloads(system: str, folder: Path, w2_width: int = 200) -> None:
    """W1..W3 in one dags folder (W2 with `w2_width` parallel tasks; 200 in the spec)."""
    folder.mkdir(parents=True, exist_ok=True)
    head = HEADER.format(imports=IMPORTS[system])
    (folder / "w1_chain.py").write_text(head + W1)
    (folder / "w2_fanout.py").write_text(head + W2.replace("{width}", str(w2_width)))
    (folder / "w3_data.py").write_text(head + W3)


def write_parse_set(system: str, folder: Path, n: int = 100) -> None:
    """W4: n files of one 5-task chain each."""
    folder.mkdir(parents=True, exist_ok=True)
    head = HEADER.format(imports=IMPORTS[system])
    for i in range(n):
        (folder / f"w4_parse_{i:03d}.py").write_text(head + W4.format(n=i))
