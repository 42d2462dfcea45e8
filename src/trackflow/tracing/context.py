"""What the trace being recorded in this context has used, noted by code that must not import
OpenTelemetry to do so (a prompt loaded inside a traced call: the trace records it in its
``mlflow.linkedPrompts`` tag, as MLflow's traces do)."""

from __future__ import annotations

from contextvars import ContextVar

# The prompt versions the open trace of this context used; None outside a trace.
open_trace_prompts: ContextVar[list[dict[str, str]] | None] = ContextVar("trackflow_trace_prompts", default=None)


def note_prompt(name: str, version: str) -> None:
    """Record that the trace open in this context (if any) used this prompt version."""
    prompts = open_trace_prompts.get()
    entry = {"name": name, "version": version}
    if prompts is not None and entry not in prompts:
        prompts.append(entry)
