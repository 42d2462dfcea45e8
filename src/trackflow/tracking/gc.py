"""Permanent deletion of soft-deleted runs and experiments, artifacts included."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from trackflow.entities import Experiment, Run, ViewType
from trackflow.errors import NotFound
from trackflow.tracking.client import Client


@dataclass
class GcPlan:
    runs: list[Run]
    experiments: list[Experiment]

    @property
    def size(self) -> int:
        return len(self.runs) + len(self.experiments)


@dataclass
class GcResult:
    runs: int = 0
    experiments: int = 0


def run_root(artifact_uri: str) -> str:
    """The run's own folder (``.../<run_id>``), one above its ``artifacts`` root, which also
    holds what trackflow stores beside the artifacts (task logs, large task outputs)."""
    return artifact_uri[: -len("/artifacts")] if artifact_uri.endswith("/artifacts") else artifact_uri


def plan_garbage(client: Client, older_than_ms: int | None) -> GcPlan:
    runs, experiments = client.store.list_deleted(older_than_ms)
    return GcPlan(runs, experiments)


def collect_garbage(client: Client, plan: GcPlan, on_step: Callable[[], None] = lambda: None) -> GcResult:
    """Artifacts go first, then the rows: an interrupted gc leaves rows to retry, never orphaned files.
    An experiment is purged only once all its runs are gone (runs still active stay)."""
    result = GcResult()
    for run in plan.runs:
        client.artifact_repository_at(run_root(run.info.artifact_uri)).delete_artifacts()
        client.store.purge_run(run.info.run_id)
        result.runs += 1
        on_step()
    for experiment in plan.experiments:
        remaining = client.store.search_runs([experiment.experiment_id], view_type=ViewType.ALL, max_results=1)
        if remaining.items:
            on_step()
            continue
        try:
            client.artifact_repository_at(experiment.artifact_location).delete_artifacts()
        except NotFound:
            pass
        client.store.purge_experiment(experiment.experiment_id)
        result.experiments += 1
        on_step()
    return result
