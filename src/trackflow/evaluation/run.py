"""``trackflow.evaluate(model, data, scorers)``: run the model over each row, score every
row with every scorer, and record it all as a tracked run — aggregate metrics
(``<scorer>/mean``, ``/min``, ``/max``; a pass/fail scorer's mean is its pass rate), the
per-row table as ``eval_results_table.json`` (MLflow's ``log_table`` format, so MLflow's UI
shows it too) — in the active run (e.g. a pipeline task's), else in a new one. With
``thresholds`` it is a gate: ``EvaluationGateFailed`` names each aggregate below its bound,
which fails a pipeline task."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trackflow.errors import InvalidInput, TrackflowError
from trackflow.evaluation.scorers import Scorer, as_scorer
from trackflow.tracking import fluent
from trackflow.tracking.client import Client

TABLE_FILE = "eval_results_table.json"
MAX_ROWS = 100_000


class EvaluationGateFailed(TrackflowError):
    """An aggregate metric missed its threshold (a failed gate: in a task, the task fails)."""

    error_code = "INVALID_STATE"


@dataclass
class EvaluationResult:
    run_id: str
    metrics: dict[str, float]
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def table(self) -> Any:
        """The per-row results as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.rows)


@dataclass(frozen=True)
class _Row:
    inputs: Any
    expectations: Any
    outputs: Any


def _rows(data: Any) -> list[_Row]:
    if hasattr(data, "to_dict") and hasattr(data, "columns"):  # a pandas DataFrame
        data = data.to_dict(orient="records")
    if isinstance(data, (str, bytes, Mapping)) or not isinstance(data, Iterable):
        raise InvalidInput("evaluate() takes data as a list of rows (dicts) or a pandas DataFrame")
    rows = []
    for number, row in enumerate(data):
        if not isinstance(row, Mapping):
            raise InvalidInput(f"row {number} of the data is not a dict: {row!r}")
        if number >= MAX_ROWS:
            raise InvalidInput(f"evaluate() takes at most {MAX_ROWS:,} rows")
        expectations = row.get("expectations", row.get("expected"))
        if "inputs" in row:
            inputs = row["inputs"]
        else:
            inputs = {k: v for k, v in row.items() if k not in ("outputs", "expectations", "expected")}
        rows.append(_Row(inputs, expectations, row.get("outputs")))
    if not rows:
        raise InvalidInput("evaluate() needs at least one row of data")
    return rows


def _call(model: Callable[..., Any], inputs: Any) -> Any:
    return model(**inputs) if isinstance(inputs, Mapping) else model(inputs)


def _model_function(model: Any) -> Callable[..., Any] | None:
    """A function of one row's inputs: the model itself, or a logged model (its URI, e.g.
    ``models:/iris/1``) whose ``predict`` gets the row as a one-row DataFrame."""
    if model is None or callable(model):
        return model
    if isinstance(model, str):
        import pandas as pd

        from trackflow.pyfunc import load_model

        loaded = load_model(model)

        def predict(**inputs: Any) -> Any:
            answer = loaded.predict(pd.DataFrame([inputs]))
            values = answer.tolist() if hasattr(answer, "tolist") else list(answer)
            return values[0] if len(values) == 1 else values
        return predict
    raise InvalidInput(f"evaluate() takes a function, a model URI or None (outputs in the data), got {model!r}")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)) and not math.isnan(float(value)):
        return float(value)
    return None


def _score(scorers: list[Scorer], row: _Row, outputs: Any, latency: float | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for scorer in scorers:
        try:
            value = scorer(inputs=row.inputs, outputs=outputs, expectations=row.expectations, latency=latency)
        except InvalidInput:
            raise  # a scorer used wrongly (no expectations given): the caller's mistake, said once
        except Exception as exc:  # a scorer that fails on one row scores nothing there
            out[f"{scorer.name}/error"] = f"{type(exc).__name__}: {exc}"
            continue
        if isinstance(value, Mapping):
            out.update({f"{scorer.name}/{k}": v for k, v in value.items()})
        else:
            out[scorer.name] = value
    return out


def _aggregate(rows: list[dict[str, Any]], names: list[str]) -> dict[str, float]:
    metrics: dict[str, float] = {"rows": float(len(rows)),
                                 "error_count": float(sum(1 for r in rows if r.get("error")))}
    for name in names:
        values = [n for r in rows if (n := _number(r.get(name))) is not None]
        if values:
            metrics.update({f"{name}/mean": sum(values) / len(values), f"{name}/min": min(values),
                            f"{name}/max": max(values)})
    return metrics


def _gate(metrics: dict[str, float], thresholds: Mapping[str, float]) -> list[str]:
    missed = []
    for name, bound in thresholds.items():
        if name not in metrics:
            missed.append(f"{name}: no such metric (have {', '.join(sorted(metrics))})")
        elif name in ("error_count",) or name.startswith("latency/") or name.startswith("token_count/"):
            if metrics[name] > bound:  # less is better
                missed.append(f"{name} = {metrics[name]:g} > {bound:g}")
        elif metrics[name] < bound:
            missed.append(f"{name} = {metrics[name]:g} < {bound:g}")
    return missed


def evaluate(model: Callable[..., Any] | str | None, data: Any, scorers: Iterable[Any], *,
             experiment_name: str | None = None, run_name: str | None = None,
             thresholds: Mapping[str, float] | None = None, client: Client | None = None) -> EvaluationResult:
    """Score ``model`` (a function, a logged model's URI, or None when each row holds its
    ``outputs``) on ``data``
    (rows with ``inputs`` — a dict of keyword arguments or one value — and ``expectations``).
    Lower is better for ``error_count``, ``latency/*`` and ``token_count/*`` thresholds,
    higher for the others."""
    chosen = [as_scorer(s) for s in scorers]
    if not chosen:
        raise InvalidInput("evaluate() needs at least one scorer")
    if len({s.name for s in chosen}) != len(chosen):
        raise InvalidInput(f"two scorers share a name: {[s.name for s in chosen]}; name them with @scorer(name=)")
    model = _model_function(model)
    rows = _rows(data)
    results = []
    for row in rows:
        outputs, latency, error = row.outputs, None, None
        if model is not None:
            started = time.perf_counter()
            try:
                outputs = _call(model, row.inputs)
            except Exception as exc:  # recorded per row: one bad input does not end the evaluation
                error = f"{type(exc).__name__}: {exc}"
            latency = time.perf_counter() - started
        elif outputs is None:
            raise InvalidInput("without a model every row needs its outputs")
        scored = _score(chosen, row, outputs, latency) if error is None else {}
        results.append({"inputs": row.inputs, "outputs": outputs, "expectations": row.expectations,
                        "error": error, **scored})
    metrics = _aggregate(results, [s.name for s in chosen] + sorted(
        {k for r in results for k in r if "/" in k and not k.endswith("/error")}))
    run_id = _record(client or fluent.get_client(), chosen, results, metrics, experiment_name, run_name)
    missed = _gate(metrics, thresholds or {})
    if missed:
        raise EvaluationGateFailed(f"evaluation gate failed (run {run_id}): " + "; ".join(missed))
    return EvaluationResult(run_id, metrics, results)


def _record(client: Client, scorers: list[Scorer], rows: list[dict[str, Any]], metrics: dict[str, float],
            experiment_name: str | None, run_name: str | None) -> str:
    from trackflow.entities import Metric, Param

    active = fluent.active_run()
    owns = active is None or experiment_name is not None
    if owns:
        experiment_id = fluent._experiment_id()
        if experiment_name is not None:
            found = client.get_experiment_by_name(experiment_name)
            experiment_id = found.experiment_id if found else client.create_experiment(experiment_name)
        run_id = client.create_run(experiment_id, run_name=run_name or "evaluation").info.run_id
    else:
        run_id = active.info.run_id  # type: ignore[union-attr]
    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in sorted(metrics.items())],
                     params=[Param("scorers", ",".join(s.name for s in scorers)[:6000])])
    columns = list(dict.fromkeys(k for r in rows for k in r))
    table = {"columns": columns, "data": [[_jsonable(r.get(c)) for c in columns] for r in rows]}
    client.log_dict(run_id, table, TABLE_FILE)
    client.set_tag(run_id, "mlflow.loggedArtifacts", json.dumps([{"path": TABLE_FILE, "type": "table"}]))
    if owns:
        client.set_terminated(run_id)
    return run_id


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        return repr(value)
