"""An Airflow DAG file with its imports rewritten to trackflow's, as README's "Pipelines"
section tells a user to (no import shim needed): ``airflow.sdk``, ``airflow``,
``airflow.sdk.exceptions`` and ``airflow.providers.common.compat.sdk`` → ``trackflow``;
``airflow.providers.standard.operators.*`` and ``.utils.*`` → ``trackflow.operators``;
``airflow.providers.standard.sensors.*``/``.triggers.*`` → ``trackflow.sensors``."""

from __future__ import annotations

import re

TARGETS = (
    (r"airflow\.providers\.standard\.(operators|utils)(\.\w+)*", "trackflow.operators"),
    (r"airflow\.providers\.standard\.(sensors|triggers)(\.\w+)*", "trackflow.sensors"),
    (r"airflow\.providers\.common\.compat\.sdk", "trackflow"),
    (r"airflow\.sdk(\.exceptions|\.execution_time\.context)?", "trackflow"),
    (r"airflow", "trackflow"),
)


def without_airflow_imports(source: str) -> str:
    def module(match: re.Match[str]) -> str:
        name = match.group(2)
        for pattern, target in TARGETS:
            if re.fullmatch(pattern, name):
                return f"{match.group(1)}from {target} import"
        return match.group(0)  # not one the README maps: left for the import to fail, naming it

    return re.sub(r"^(\s*)from (airflow(?:\.\w+)*) import", module, source, flags=re.M)
