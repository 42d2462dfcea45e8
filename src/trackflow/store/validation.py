"""Input rules for tracking data, matching MLflow's so that the same calls pass or fail.

Every check raises InvalidInput naming the bad key or value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from trackflow.entities import Metric, Param, RunTag
from trackflow.errors import InvalidInput

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 256
MAX_RUN_NAME_LENGTH = 250
MAX_BATCH_METRICS = 1000
MAX_BATCH_PARAMS_TAGS = 100
MAX_BATCH_ENTITIES = 1000
MAX_RESULTS_LIMIT = 50_000

# Alphanumerics, underscores, dashes, periods, spaces, colons and slashes (MLflow's rule).
_KEY_RE = re.compile(r"^[/\w.\- :]*$")


def validate_key(kind: str, key: object) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidInput(f"{kind} key must be a non-empty string, got {key!r}")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"{kind} key {key[:40]!r}... is {len(key)} characters long, the limit is {MAX_KEY_LENGTH}")
    if not _KEY_RE.fullmatch(key):  # fullmatch: "$" alone would accept a trailing newline
        raise InvalidInput(
            f"invalid {kind} key {key!r}: names may only contain alphanumerics, underscores (_), dashes (-), "
            "periods (.), spaces ( ), colons (:) and slashes (/)"
        )
    if key.startswith("/") or any(part in ("..", ".") for part in key.split("/")):
        raise InvalidInput(f"invalid {kind} key {key!r}: it may not start with '/' or contain '.' or '..' path parts")
    return key


def _validate_text(kind: str, key: str, value: object, limit: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{kind} {key!r} must have a string value, got {type(value).__name__}")
    if len(value) > limit:
        raise InvalidInput(f"{kind} {key!r} value is {len(value)} characters long, the limit is {limit}")
    _reject_nul(f"{kind} {key!r} value", value)
    return value


def _reject_nul(what: str, value: str) -> None:
    # PostgreSQL text cannot hold NUL; refusing it everywhere keeps the backends alike.
    if "\x00" in value:
        raise InvalidInput(f"{what} contains a NUL character: {value[:60]!r}")


def validate_param(param: Param) -> None:
    validate_key("param", param.key)
    _validate_text("param", param.key, param.value, MAX_PARAM_VALUE_LENGTH)


def validate_tag(tag: RunTag) -> None:
    validate_key("tag", tag.key)
    _validate_text("tag", tag.key, tag.value, MAX_TAG_VALUE_LENGTH)


def validate_metric(metric: Metric) -> None:
    validate_key("metric", metric.key)
    if isinstance(metric.value, bool) or not isinstance(metric.value, int | float):
        raise InvalidInput(f"metric {metric.key!r} value must be a number, got {metric.value!r}")
    if isinstance(metric.timestamp, bool) or not isinstance(metric.timestamp, int):
        raise InvalidInput(f"metric {metric.key!r} timestamp must be an integer (ms), got {metric.timestamp!r}")
    if isinstance(metric.step, bool) or not isinstance(metric.step, int):
        raise InvalidInput(f"metric {metric.key!r} step must be an integer, got {metric.step!r}")
    if abs(metric.step) >= 2**63 or abs(metric.timestamp) >= 2**63:
        raise InvalidInput(f"metric {metric.key!r} step or timestamp is out of the 64-bit range")
    if not math.isnan(metric.value) and not math.isinf(metric.value) and abs(metric.value) > 1.7976931348623157e308:
        raise InvalidInput(f"metric {metric.key!r} value is out of range")


def validate_batch(metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]) -> None:
    if len(metrics) > MAX_BATCH_METRICS:
        raise InvalidInput(f"a batch may hold at most {MAX_BATCH_METRICS} metrics, got {len(metrics)}")
    if len(params) + len(tags) > MAX_BATCH_PARAMS_TAGS * 2 or len(params) > MAX_BATCH_PARAMS_TAGS:
        raise InvalidInput(f"a batch may hold at most {MAX_BATCH_PARAMS_TAGS} params, got {len(params)}")
    if len(tags) > MAX_BATCH_PARAMS_TAGS:
        raise InvalidInput(f"a batch may hold at most {MAX_BATCH_PARAMS_TAGS} tags, got {len(tags)}")
    for metric in metrics:
        validate_metric(metric)
    seen: set[str] = set()
    for param in params:
        validate_param(param)
        if param.key in seen:  # even with the same value, as MLflow refuses it
            raise InvalidInput(f"param {param.key!r} appears twice in the batch: log one value per key")
        seen.add(param.key)
    for tag in tags:
        validate_tag(tag)


def validate_experiment_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"experiment name must be a non-empty string, got {name!r}")
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH:
        raise InvalidInput(f"experiment name is {len(name)} characters long, the limit is {MAX_EXPERIMENT_NAME_LENGTH}")
    _reject_nul("experiment name", name)
    return name


def validate_run_name(name: object) -> str:
    if not isinstance(name, str):
        raise InvalidInput(f"run name must be a string, got {name!r}")
    if len(name) > MAX_RUN_NAME_LENGTH:
        raise InvalidInput(f"run name is {len(name)} characters long, the limit is {MAX_RUN_NAME_LENGTH}")
    _reject_nul("run name", name)
    return name


def validate_max_results(max_results: object) -> int:
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise InvalidInput(f"max_results must be a positive integer, got {max_results!r}")
    if max_results > MAX_RESULTS_LIMIT:
        raise InvalidInput(f"max_results must be at most {MAX_RESULTS_LIMIT}, got {max_results}")
    return max_results


def validate_run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not re.fullmatch(r"[0-9a-zA-Z_\-]{1,64}", run_id):
        raise InvalidInput(f"invalid run id {run_id!r}")
    return run_id
