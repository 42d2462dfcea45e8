"""An Airflow DAG file with its imports rewritten to trackflow's, as README's "Pipelines"
section tells a user to (no import shim needed): ``airflow.sdk``, ``airflow``,
``airflow.sdk.exceptions`` and ``airflow.providers.common.compat.sdk`` → ``trackflow``;
``airflow.providers.standard.operators.*`` and ``.utils.*`` → ``trackflow.operators``;
``airflow.providers.standard.sensors.*``/``.triggers.*`` → ``trackflow.sensors``;
``airflow.timetables.*``, ``airflow.task.*`` and ``airflow.plugins_manager`` → ``trackflow``;
``airflow.example_dags.<module>`` (a helper or plugin beside Airflow's examples) → ``<module>``, in
import paths written as strings too (``weight_rule="airflow.example_dags.plugins.x.Strategy"``)."""

from __future__ import annotations

import re

TARGETS = (
    (r"airflow\.providers\.standard\.(operators|utils)(\.\w+)*", "trackflow.operators"),
    (r"airflow\.providers\.standard\.(sensors|triggers)(\.\w+)*", "trackflow.sensors"),
    (r"airflow\.providers\.common\.compat\.sdk", "trackflow"),
    (r"airflow\.sdk(\.exceptions|\.execution_time\.context)?", "trackflow"),
    (r"airflow\.(timetables|task)(\.\w+)*|airflow\.plugins_manager", "trackflow"),
    (r"airflow", "trackflow"),
)


def without_airflow_imports(source: str) -> str:
    def module(match: re.Match[str]) -> str:
        name = match.group(2)
        if name.startswith("airflow.example_dags."):  # the DAGs folder is on sys.path
            return f"{match.group(1)}from {name.removeprefix('airflow.example_dags.')} import"
        for pattern, target in TARGETS:
            if re.fullmatch(pattern, name):
                return f"{match.group(1)}from {target} import"
        return match.group(0)  # not one the README maps: left for the import to fail, naming it

    source = re.sub(r"""(["'])airflow\.example_dags\.""", r"\1", source)
    return re.sub(r"^(\s*)from (airflow(?:\.\w+)*) import", module, source, flags=re.M)
