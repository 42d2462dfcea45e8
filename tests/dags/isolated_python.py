"""Callables run in another interpreter: a virtualenv (made with requirements, cached), an
external python, and their branch variants."""

import os
import sys
from datetime import datetime

from trackflow import dag, task
from trackflow.operators import EmptyOperator, PythonVirtualenvOperator

CACHE = os.environ.get("TF_VENV_CACHE", "/tmp/trackflow-test-venvs")


def in_venv_with_cloudpickle(rows, *, ds=None, params=None):
    import sys

    return {"rows": rows * 2, "ds": ds, "p": params["p"], "isolated": sys.prefix != sys.base_prefix}


@dag(schedule=None, start_date=datetime(2025, 1, 1), params={"p": "hello"})
def isolated_python():
    @task.virtualenv(requirements=["six==1.16.0"], system_site_packages=False, venv_cache_path=CACHE)
    def with_six(x):
        import six  # only in the virtualenv: the test's interpreter may not have it

        return f"{six.__version__}:{x}"

    @task.external_python(python=sys.executable)
    def external(value, *, run_id=None):
        import sys

        return {"value": value, "run_id": run_id, "python": sys.executable}

    @task.virtualenv(venv_cache_path=CACHE, skip_on_exit_code=99)
    def skips():
        import sys

        sys.exit(99)

    @task.external_python(python=sys.executable)
    def fails():
        raise ValueError("broken inside")

    @task.branch_external_python(python=sys.executable)
    def pick_b1():
        return "b1"

    @task.branch_virtualenv(venv_cache_path=CACHE)
    def pick_c2():
        return ["c2"]

    @task.external_python(python=sys.executable, string_args=["alpha", "beta"])
    def reads_string_args():
        return string_args  # noqa: F821 - set by the runner, as in Airflow

    cloud = PythonVirtualenvOperator(task_id="cloudpickled", python_callable=in_venv_with_cloudpickle,
                                     op_args=[21], serializer="cloudpickle", venv_cache_path=CACHE)
    with_six(with_six.override(task_id="first_six")("a")), external(cloud.output), skips(), fails()
    pick_b1() >> [EmptyOperator(task_id="b1"), EmptyOperator(task_id="b2")]
    pick_c2() >> [EmptyOperator(task_id="c1"), EmptyOperator(task_id="c2")]
    reads_string_args()


isolated_python()
