"""Lineage of a model version: its run and, for pipeline tasks, the DAG run and task (pure)."""

from __future__ import annotations

from trackflow.entities import Run
from trackflow.entities.registry import ModelVersion, ModelVersionLineage

# Tags a pipeline task's run carries (first key found wins).
LINEAGE_TAGS: dict[str, tuple[str, ...]] = {
    "dag_id": ("trackflow.dag_id", "dag_id"),
    "dag_run_id": ("trackflow.dag_run_id", "trackflow.run_id", "dag_run_id", "run_id"),
    "task_id": ("trackflow.task_id", "task_id"),
    "try_number": ("trackflow.try_number", "try_number"),
}


def lineage_of(version: ModelVersion, run: Run | None) -> ModelVersionLineage:
    """``run`` is the version's source run, or None when it has none or it is gone."""
    if run is None:
        return ModelVersionLineage(version.name, version.version, version.source, run_id=version.run_id)
    tags = run.data.tags
    found = {field: next((tags[k] for k in keys if k in tags), None) for field, keys in LINEAGE_TAGS.items()}
    if found["dag_id"] is None:  # a bare "run_id" tag is not a pipeline marker
        found = dict.fromkeys(found)
    return ModelVersionLineage(
        version.name,
        version.version,
        version.source,
        run_id=run.info.run_id,
        experiment_id=run.info.experiment_id,
        run_name=run.info.run_name,
        **found,
    )
