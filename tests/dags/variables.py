"""Variables in tasks: Variable.get (a secret one, masked in the log), {{ var.value }} and
{{ var.json }} in a templated command, a default for a missing key, and a task that sets one."""
from datetime import datetime

from trackflow import Variable, dag, task
from trackflow.operators import BashOperator


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def uses_variables():
    @task
    def connect() -> str:
        password = Variable.get("db_password")
        print(f"connecting with password {password}")
        limits = Variable.get("limits", deserialize_json=True)
        missing = Variable.get("not_set", default="fallback")
        Variable.set("last_connect", {"rows": limits["rows"]}, serialize_json=True)
        return f"{limits['rows']} {missing}"

    greet = BashOperator(task_id="greet", bash_command="echo '{{ var.value.greeting }} {{ var.json.limits.rows }}'")
    connect() >> greet


uses_variables()
