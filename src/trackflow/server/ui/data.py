"""Data of the tracking pages: one function per page, shared by the HTML view and its
/api/v1/ui JSON twin. Each returns a page-context dataclass and raises trackflow errors
(NotFound for an unknown id, InvalidInput for a bad query)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from trackflow.entities import Experiment, Metric, Run, ViewType
from trackflow.errors import InvalidInput
from trackflow.server.services import Services
from trackflow.server.ui.artifact_browser import ArtifactNode, list_level, logged_model_roots
from trackflow.server.ui.downsample import lttb
from trackflow.store.search_filter import parse_order_by

EXPERIMENTS_PER_PAGE = 50
RUNS_PER_PAGE = 25
# Run counts come from a capped search (the store has no count query): "100+" beyond this.
RUN_COUNT_CAP = 100
# Runs-table columns: only keys present on the page's runs, at most this many of each kind.
MAX_KEY_COLUMNS = 20
# A chart never gets more points than this, whatever the history's length.
MAX_CHART_POINTS = 500
MAX_CHARTS = 12
MAX_CHILD_RUNS = 100
# The markdown description of a run or experiment is this tag, as in MLflow.
NOTE_TAG = "mlflow.note.content"


def quote_literal(value: str) -> str:
    """``value`` as a string literal of the filter grammar (quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


# Experiments list ----------------------------------------------------------------------------
@dataclass
class ExperimentRow:
    experiment_id: str
    name: str
    creation_time: int | None
    run_count: int
    run_count_capped: bool  # True: there are more than run_count runs


@dataclass
class ExperimentsPage:
    experiments: list[ExperimentRow]
    page_token: str | None
    next_page_token: str | None


def experiments_page(services: Services, page_token: str | None = None) -> ExperimentsPage:
    store = services.tracking
    page = store.search_experiments(ViewType.ACTIVE_ONLY, EXPERIMENTS_PER_PAGE, None, None, page_token or None)
    rows = []
    for experiment in page:
        runs = store.search_runs([experiment.experiment_id], max_results=RUN_COUNT_CAP)
        rows.append(
            ExperimentRow(
                experiment.experiment_id,
                experiment.name,
                experiment.creation_time,
                len(runs),
                runs.next_page_token is not None,
            )
        )
    return ExperimentsPage(rows, page_token or None, page.next_page_token)


# Experiment page: the runs table ------------------------------------------------------------
@dataclass
class RunQuery:
    """What the filter form asks for: MLflow's filter grammar and one order-by clause."""

    filter: str = ""
    order_by: str = ""
    page_token: str | None = None
    show_deleted: bool = False  # deleted runs listed too (ViewType.ALL)


@dataclass
class RunRow:
    run_id: str
    run_name: str
    status: str
    start_time: int | None
    end_time: int | None
    user_id: str
    parent_run_id: str | None
    metrics: dict[str, float]
    params: dict[str, str]
    lifecycle_stage: str = "active"
    depth: int = 0  # in the runs table: 1 for a child shown under its parent on the same page
    children_on_page: int = 0  # how many rows of this page are its (direct) children


def _nest(rows: list[RunRow]) -> list[RunRow]:
    """``rows`` with each child run moved under its parent when the parent is on the page too
    (depth first, the search's order kept among siblings); other rows keep their order."""
    by_id = {r.run_id: r for r in rows}
    children: dict[str, list[RunRow]] = {}
    roots = []
    for r in rows:
        if r.parent_run_id in by_id and r.parent_run_id != r.run_id:
            children.setdefault(r.parent_run_id, []).append(r)
        else:
            roots.append(r)
    out: list[RunRow] = []
    seen: set[str] = set()

    def visit(row: RunRow, depth: int) -> None:
        if row.run_id in seen:  # a parent cycle in the tags: show each row once
            return
        seen.add(row.run_id)
        row.depth = depth
        row.children_on_page = len(children.get(row.run_id, []))
        out.append(row)
        for child in children.get(row.run_id, []):
            visit(child, depth + 1)

    for r in roots:
        visit(r, 0)
    out.extend(r for r in rows if r.run_id not in seen)  # rows only reachable through a cycle
    return out


@dataclass
class ExperimentPage:
    experiment: Experiment
    query: RunQuery
    runs: list[RunRow]
    metric_keys: list[str]
    param_keys: list[str]
    hidden_metric_keys: int  # keys present on this page but beyond MAX_KEY_COLUMNS
    hidden_param_keys: int
    next_page_token: str | None
    error: str | None = None  # the filter or order-by was rejected: why
    # The column the table is sorted by ("a:<attribute>", "m:<metric>", "p:<param>"), if any.
    sort_column: str | None = None
    sort_ascending: bool = True


def _row(run: Run) -> RunRow:
    info = run.info
    return RunRow(
        info.run_id,
        info.run_name,
        str(info.status),
        info.start_time,
        info.end_time,
        info.user_id,
        run.parent_run_id,
        dict(run.data.metrics),
        dict(run.data.params),
        str(info.lifecycle_stage),
    )


def _columns(keys: set[str]) -> tuple[list[str], int]:
    ordered = sorted(keys)
    return ordered[:MAX_KEY_COLUMNS], max(0, len(ordered) - MAX_KEY_COLUMNS)


def experiment_page(services: Services, experiment_id: str, query: RunQuery) -> ExperimentPage:
    """NotFound for an unknown experiment. A rejected filter, order-by or page token does not
    raise: the page carries ``error`` and no runs, so the form can show it next to the box."""
    experiment = services.tracking.get_experiment(experiment_id)
    order_by = [query.order_by.strip()] if query.order_by.strip() else None
    try:
        sort = parse_order_by(order_by[0]) if order_by else None
        page = services.tracking.search_runs(
            [experiment.experiment_id],
            query.filter.strip(),
            ViewType.ALL if query.show_deleted else ViewType.ACTIVE_ONLY,
            RUNS_PER_PAGE,
            order_by,
            query.page_token or None,
        )
    except InvalidInput as exc:
        return ExperimentPage(experiment, query, [], [], [], 0, 0, None, error=exc.message)
    rows = _nest([_row(run) for run in page])
    metric_keys, hidden_metrics = _columns({k for r in rows for k in r.metrics})
    param_keys, hidden_params = _columns({k for r in rows for k in r.params})
    sort_column = f"{sort.kind[0]}:{sort.key}" if sort and sort.kind in ("attribute", "metric", "param") else None
    return ExperimentPage(
        experiment, query, rows, metric_keys, param_keys, hidden_metrics, hidden_params, page.next_page_token,
        sort_column=sort_column, sort_ascending=sort.ascending if sort else True,
    )


# Run page -------------------------------------------------------------------------------------
@dataclass
class MetricSeries:
    """A metric's history reduced to at most ``max_points`` (x, value) points for a chart."""

    key: str
    x_label: str  # "step", or "seconds" when every value was logged at the same step
    points: list[tuple[float, float]]
    total_points: int  # length of the full history
    non_finite_points: int = 0  # NaN/inf values, which a chart cannot place


@dataclass
class RunPage:
    run: Run
    experiment_name: str
    children: list[RunRow]
    latest_metrics: list[Metric]
    params: list[tuple[str, str]]
    tags: list[tuple[str, str]]
    charts: list[MetricSeries]
    uncharted_metrics: list[str]
    artifacts: list[ArtifactNode] = field(default_factory=list)  # the root level of the artifact tree
    artifacts_truncated: bool = False
    logged_models: list[ArtifactNode] = field(default_factory=list)  # more tree roots: the run's logged models
    artifacts_error: str | None = None


X_AXES = ("step", "wall", "relative")  # step, wall-clock seconds since the epoch, seconds since the first value
# A range bound is a step or seconds; anything a float holds exactly as an integer is accepted.
MAX_RANGE_BOUND = 2.0**53


def metric_series(
    services: Services,
    run_id: str,
    key: str,
    max_points: int = MAX_CHART_POINTS,
    x: str | None = None,
    x_min: float | None = None,
    x_max: float | None = None,
) -> MetricSeries:
    """The history of ``key`` downsampled (LTTB) on the server, optionally cut to the x range
    [``x_min``, ``x_max``] first, so a zoomed chart gets full detail for what it shows.

    ``x`` is one of X_AXES; None picks "step", or "relative" when every value was logged at the
    same step. NotFound for an unknown run; InvalidInput if ``max_points`` is outside
    [3, MAX_CHART_POINTS], ``x`` is unknown or ``x_min`` > ``x_max``."""
    if not 3 <= max_points <= MAX_CHART_POINTS:
        raise InvalidInput(f"max_points must be between 3 and {MAX_CHART_POINTS}, got {max_points}")
    if x is not None and x not in X_AXES:
        raise InvalidInput(f"x must be one of {', '.join(X_AXES)}, got {x!r}")
    if x_min is not None and x_max is not None and x_min > x_max:
        raise InvalidInput(f"x_min ({x_min}) must not be greater than x_max ({x_max})")
    history = services.tracking.get_metric_history(run_id, key).items
    finite = [m for m in history if math.isfinite(m.value)]
    if x is None:
        x = "relative" if len(finite) > 1 and all(m.step == finite[0].step for m in finite) else "step"
    if x == "step":
        raw = [(float(m.step), m.value) for m in finite]
    else:
        origin = min((m.timestamp for m in finite), default=0) if x == "relative" else 0
        raw = [((m.timestamp - origin) / 1000.0, m.value) for m in finite]
    raw.sort()  # LTTB needs x in order; the store's order is close to it, where sorting is cheap
    if x_min is not None or x_max is not None:
        low = -math.inf if x_min is None else x_min
        high = math.inf if x_max is None else x_max
        raw = [p for p in raw if low <= p[0] <= high]
    label = {"step": "step", "wall": "time", "relative": "seconds"}[x]
    return MetricSeries(key, label, lttb(raw, max_points), len(history), len(history) - len(finite))


def run_page(services: Services, run_id: str) -> RunPage:
    """NotFound for an unknown run. An unreachable artifact store shows as ``artifacts_error``."""
    store = services.tracking
    run = store.get_run(run_id)
    experiment = store.get_experiment(run.info.experiment_id)
    children = store.search_runs(
        [run.info.experiment_id],
        f"tags.mlflow.parentRunId = {quote_literal(run_id)}",
        ViewType.ACTIVE_ONLY,
        MAX_CHILD_RUNS,
    )
    keys = sorted(run.data.metrics)
    page = RunPage(
        run=run,
        experiment_name=experiment.name,
        children=[_row(child) for child in children],
        latest_metrics=[run.data.latest_metrics.get(k) or Metric(k, run.data.metrics[k], 0) for k in keys],
        params=sorted(run.data.params.items()),
        tags=sorted(run.data.tags.items()),
        charts=[metric_series(services, run_id, key) for key in keys[:MAX_CHARTS]],
        uncharted_metrics=keys[MAX_CHARTS:],
    )
    try:
        root = list_level(services.run_artifacts(run.info.artifact_uri), run_id, "")
        page.artifacts, page.artifacts_truncated = root.entries, root.truncated
        page.logged_models = logged_model_roots(services, run_id, [m.model_id for m in run.outputs.models])
    except Exception as exc:  # noqa: BLE001 - any backend failure (S3 down...) is shown, not a 500
        page.artifacts_error = f"cannot list artifacts of {run.info.artifact_uri}: {exc}"
    return page


# Compare runs ---------------------------------------------------------------------------------
MIN_COMPARED_RUNS = 2
MAX_COMPARED_RUNS = 50


@dataclass
class CompareRow:
    """One metric or parameter across the compared runs (None: not logged in that run)."""

    key: str
    values: list[float | str | None]
    differs: bool


@dataclass
class ComparePage:
    experiment: Experiment
    runs: list[RunRow]  # in the order asked for
    metrics: list[CompareRow]  # latest values
    params: list[CompareRow]
    chart_keys: list[str]  # metric keys charted (overlaid, one series per run), at most MAX_CHARTS


def _compare_rows(runs: list[RunRow], attr: str) -> list[CompareRow]:
    keys = sorted({k for r in runs for k in getattr(r, attr)})
    rows = []
    for key in keys:
        values = [getattr(r, attr).get(key) for r in runs]
        rows.append(CompareRow(key, values, len({repr(v) for v in values}) > 1))
    return rows


def compare_page(services: Services, experiment_id: str, run_ids: list[str]) -> ComparePage:
    """``run_ids`` side by side. NotFound for an unknown experiment or run; InvalidInput for fewer
    than MIN_COMPARED_RUNS or more than MAX_COMPARED_RUNS distinct runs, or a run of another
    experiment. One search fetches all of them."""
    wanted = list(dict.fromkeys(run_ids))
    if not MIN_COMPARED_RUNS <= len(wanted) <= MAX_COMPARED_RUNS:
        raise InvalidInput(
            f"compare between {MIN_COMPARED_RUNS} and {MAX_COMPARED_RUNS} runs, got {len(wanted)}"
        )
    store = services.tracking
    experiment = store.get_experiment(experiment_id)
    found = store.search_runs(
        [experiment.experiment_id],
        "attributes.run_id IN (" + ", ".join(quote_literal(r) for r in wanted) + ")",
        ViewType.ALL,
        MAX_COMPARED_RUNS,
    )
    by_id = {run.info.run_id: run for run in found}
    for run_id in wanted:
        if run_id not in by_id:
            other = store.get_run(run_id)  # NotFound for an unknown run
            raise InvalidInput(
                f"run {run_id} belongs to experiment {other.info.experiment_id}, not {experiment.experiment_id}"
            )
    rows = [_row(by_id[r]) for r in wanted]
    metrics = _compare_rows(rows, "metrics")
    return ComparePage(experiment, rows, metrics, _compare_rows(rows, "params"),
                       [m.key for m in metrics][:MAX_CHARTS])
