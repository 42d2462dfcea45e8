"""The tracking store interface: every client call goes through one of these.

Two implementations sit beside it: ``sql.SqlTrackingStore`` (embedded mode and inside the
server) and ``rest.RestTrackingStore`` (remote mode). Each method is one transaction.
Unknown ids raise ``NotFound``, bad values ``InvalidInput``, clashes ``AlreadyExists`` or
``Conflict``; nothing is half-written when a method raises.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from trackflow.entities import (
    DatasetFilter,
    DatasetInput,
    Experiment,
    LoggedModel,
    LoggedModelOrder,
    LoggedModelStatus,
    Metric,
    MetricSeriesSample,
    ModelOutput,
    PagedList,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)


class TrackingStore(Protocol):
    # Experiments -------------------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        """Create an active experiment and return its id. AlreadyExists if the name is taken
        (by an active or a deleted experiment that has not been garbage-collected)."""

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment with that id, whatever its lifecycle stage; NotFound otherwise."""

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment with that name, or None."""

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """Experiments matching ``filter_string`` (attributes name, creation_time,
        last_update_time and tags.<key>), ordered, one page at a time."""

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        """Rename; AlreadyExists if the new name is taken."""

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete the experiment and its runs (restorable)."""

    def restore_experiment(self, experiment_id: str) -> None:
        """Bring a soft-deleted experiment and the runs deleted with it back."""

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None: ...

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None: ...

    # Runs --------------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        user_id: str = "",
        start_time: int | None = None,
        tags: Sequence[RunTag] = (),
        run_name: str | None = None,
    ) -> Run:
        """Create a RUNNING run in an active experiment. A missing run name is generated."""

    def get_run(self, run_id: str) -> Run:
        """The run with its latest metrics, params, tags and inputs; NotFound otherwise."""

    def update_run_info(
        self,
        run_id: str,
        status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        """Change status, end time or name of an active run."""

    def delete_run(self, run_id: str) -> None:
        """Soft-delete (restorable)."""

    def restore_run(self, run_id: str) -> None: ...

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Log everything or nothing. Re-logging a param with a different value is InvalidInput
        (MLflow's INVALID_PARAMETER_VALUE); the same value is accepted. Metrics keep their full history.
        A metric with ``model_id`` is also recorded on that logged model (NotFound if there is none),
        and a point the run already has is not repeated in its history."""

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a run tag; NotFound if the run has no such tag."""

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput], models: Sequence[str] = ()) -> None:
        """Record datasets the run consumed (idempotent per name and digest) and logged models it used."""

    def get_metric_history(
        self, run_id: str, key: str, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[Metric]:
        """Every logged value of a metric, ordered by step then timestamp."""

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """Runs matching MLflow's filter grammar, ordered (default: start_time DESC)."""

    # Logged models (MLflow 3) ------------------------------------------------------------
    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        """A PENDING model ``m-<32 hex>`` in an active experiment, its artifact location
        ``<experiment location>/models/<model_id>/artifacts``; a missing name is generated.
        InvalidInput for a name with / : . % " or '."""

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        """With tags, params and metrics; NotFound if unknown (or deleted, unless ``allow_deleted``)."""

    def delete_logged_model(self, model_id: str) -> None:
        """Soft-delete (get and search no longer return it)."""

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        """Set the status (READY or FAILED once the artifacts are uploaded); returns the model."""

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        """Set or overwrite tags."""

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """NotFound if the model has no such tag."""

    def log_logged_model_params(self, model_id: str, params: Mapping[str, str]) -> None:
        """Add params; changing a logged value is InvalidInput."""

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Sequence[DatasetFilter] | None = None,
        max_results: int | None = None,
        order_by: Sequence[LoggedModelOrder] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """Active models of the experiments matching MLflow's logged-model filter grammar
        (attributes, metrics., params., tags.), metric clauses restricted to ``datasets``;
        ordered (default: creation time DESC, then model id), 100 per page by default. A page
        token only continues the search it came from (InvalidInput otherwise)."""

    def log_outputs(self, run_id: str, models: Sequence[ModelOutput]) -> None:
        """Record logged models the (active) run produced; ``get_run`` lists them in ``outputs``."""

    # Garbage collection ------------------------------------------------------------------
    def list_deleted(self, older_than_ms: int | None = None) -> tuple[list[Run], list[Experiment]]:
        """Soft-deleted runs (including those of deleted experiments) and experiments
        deleted before ``now - older_than_ms`` (all of them when None)."""

    def purge_run(self, run_id: str) -> None:
        """Remove a deleted run and all its data for good. Conflict if it is active."""

    def purge_experiment(self, experiment_id: str) -> None:
        """Remove a deleted experiment (with no runs left) for good."""


class TrackingSummaryStore(Protocol):
    """Reads the web UI needs at scale (thousands of runs, 100,000-point histories), answered
    inside the database. The SQL store implements them; the REST store does not (the UI
    always runs next to the server's own database)."""

    def count_runs(
        self, experiment_ids: Sequence[str], filter_string: str = "", view_type: ViewType = ViewType.ACTIVE_ONLY
    ) -> dict[str, int]:
        """How many runs of each experiment match (every asked id is a key, 0 if none).
        InvalidInput for a bad filter or experiment id, as search_runs."""

    def get_metric_series(
        self,
        run_ids: Sequence[str],
        key: str,
        axis: str = "step",
        low: int | None = None,
        high: int | None = None,
        max_points: int = 500,
    ) -> dict[str, MetricSeriesSample]:
        """``key`` of each run that logged it (runs that did not are left out), in one query
        for all of them: the finite points with x in [``low``, ``high``] (None: open), where x is
        the step, the timestamp (ms) or, for axis "relative", ms since the run's first finite
        value; more than ``max_points`` of them are reduced to the lowest and highest value of
        each of ``max_points // 2`` equal-width x buckets (downsample.min_max_buckets).
        NotFound for an unknown run; InvalidInput for an unknown axis, ``max_points`` < 2 or
        ``low`` > ``high``."""
