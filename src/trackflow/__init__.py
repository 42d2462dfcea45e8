"""trackflow: experiment tracking, models and DAG pipelines in one system.

Only the public contract is exported. Everything loads lazily on first use, so
``import trackflow`` stays cheap (no SQLAlchemy, pandas or FastAPI until needed).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    **{
        name: "trackflow.tracking.fluent"
        for name in (
            "set_tracking_uri",
            "get_tracking_uri",
            "set_experiment",
            "start_run",
            "end_run",
            "active_run",
            "last_active_run_id",
            "get_run",
            "log_param",
            "log_params",
            "log_metric",
            "log_metrics",
            "set_tag",
            "set_tags",
            "delete_tag",
            "log_input",
            "log_artifact",
            "log_artifacts",
            "log_text",
            "log_dict",
            "log_image",
            "log_figure",
            "search_runs",
        )
    },
    "Client": "trackflow.registry.client",
    "ActiveRun": "trackflow.tracking.fluent",
    **{name: "trackflow.evaluation" for name in ("evaluate", "scorer", "EvaluationResult", "EvaluationGateFailed")},
    **{name: "trackflow.registry.prompts"
       for name in ("register_prompt", "load_prompt", "set_prompt_alias", "search_prompts", "PromptVersion")},
    **{
        name: "trackflow.pipelines.authoring"
        for name in (
            "dag",
            "task",
            "task_group",
            "setup",
            "teardown",
            "DAG",
            "TaskGroup",
            "Param",
            "chain",
            "get_current_context",
            "TriggerRule",
            "Label",
            "BaseOperator",
            "AirflowException",
            "AirflowSkipException",
            "AirflowFailException",
            "AirflowTaskTimeout",
            "XComArg",
        )
    },
    **{name: "trackflow.sensors" for name in ("BaseSensorOperator", "PokeReturnValue")},
    "NEVER_EXPIRE": "trackflow.pipelines.runtime.state_store",
    "Variable": "trackflow.pipelines.variables",
    **{name: "trackflow.tracing.api"
       for name in ("trace", "start_span", "get_trace", "search_traces", "get_last_active_trace_id")},
    **{name: "trackflow.pipelines.authoring.assets"
       for name in ("Asset", "AssetAccessControl", "AssetAlias", "AssetAll", "AssetAny", "AssetNameRef",
                    "AssetWatcher", "Metadata")},
    **{name: "trackflow.pipelines.authoring.asset_decorator"
       for name in ("asset", "AssetDefinition", "MultiAssetDefinition")},
    **{name: "trackflow.pipelines.authoring.retry_policy"
       for name in ("ExceptionRetryPolicy", "RetryAction", "RetryDecision", "RetryPolicy", "RetryRule")},
    **{name: "trackflow.pipelines.authoring.timetable_api"
       for name in ("Timetable", "DagRunInfo", "DataInterval", "TimeRestriction")},
    **{name: "trackflow.pipelines.authoring.priority_strategy" for name in ("PriorityWeightStrategy", "WeightRule")},
    "AirflowPlugin": "trackflow.pipelines.authoring.plugins",
    **{name: "trackflow.pipelines.scheduler.timetables"
       for name in ("AssetOrTimeSchedule", "CronTriggerTimetable", "CronPartitionTimetable",
                    "PartitionedAssetTimetable", "PartitionedAtRuntime")},
    **{name: "trackflow.entities.partition_mappers"
       for name in ("PartitionMapper", "IdentityMapper", "AllowedKeyMapper", "FixedKeyMapper", "StartOfHourMapper",
                    "StartOfDayMapper", "StartOfWeekMapper", "StartOfMonthMapper", "StartOfQuarterMapper",
                    "StartOfYearMapper", "ProductMapper", "ChainMapper", "RollupMapper", "FanOutMapper")},
    **{name: "trackflow.entities.partition_windows"
       for name in ("Window", "HourWindow", "DayWindow", "WeekWindow", "MonthWindow", "QuarterWindow", "YearWindow",
                    "SegmentWindow", "WaitPolicy", "WaitForAll", "MinimumCount")},
}
_SUBMODULES = {"sklearn", "pyfunc", "pytorch", "operators", "sensors", "entities", "errors", "models", "timezone",
               "evaluation"}

__all__ = sorted([*_EXPORTS, *_SUBMODULES, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"trackflow.{name}")
    raise AttributeError(f"module 'trackflow' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
