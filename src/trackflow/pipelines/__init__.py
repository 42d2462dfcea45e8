"""DAG pipelines: authoring (no I/O), parsing, scheduling, executing, running one task.

Every DAG run is a tracked run in the DAG's experiment; every task try is a child run.
"""
