"""Pure decisions: trigger rules, cascades, mapping, retries, queueing. Functions of (state, now)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from trackflow.pipelines.scheduler import decisions as d
from trackflow.pipelines.spec import DagSpec, MapInput, TaskSpec

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def spec_of(*tasks: TaskSpec) -> DagSpec:
    down: dict[str, list[str]] = {}
    for t in tasks:
        for up in t.upstream:
            down.setdefault(up, []).append(t.task_id)
    return DagSpec("x", tasks=tuple(TaskSpec(**{**t.to_dict(), "downstream": tuple(down.get(t.task_id, ())),
                                                   "map_inputs": t.map_inputs}) for t in tasks))


def counts(**kw: int) -> d.UpstreamCounts:
    states = [s for state, n in kw.items() for s in [None if state == "none" else state] * n]
    return d.count_upstream(states)


@pytest.mark.parametrize(
    ("rule", "upstream", "verdict"),
    [
        ("all_success", {"success": 2}, d.Verdict.RUN),
        ("all_success", {"success": 1, "running": 1}, d.Verdict.WAIT),
        ("all_success", {"failed": 1, "running": 1}, d.Verdict.UPSTREAM_FAILED),  # eager, as Airflow
        ("all_success", {"success": 1, "skipped": 1}, d.Verdict.SKIP),
        ("all_failed", {"failed": 1, "upstream_failed": 1}, d.Verdict.RUN),
        ("all_failed", {"failed": 1, "success": 1}, d.Verdict.SKIP),
        ("all_done", {"failed": 1, "skipped": 1}, d.Verdict.RUN),
        ("all_done", {"failed": 1, "running": 1}, d.Verdict.WAIT),
        ("one_success", {"success": 1, "running": 1}, d.Verdict.RUN),
        ("one_success", {"skipped": 2}, d.Verdict.SKIP),
        ("one_success", {"failed": 1, "skipped": 1}, d.Verdict.UPSTREAM_FAILED),
        ("one_failed", {"failed": 1, "running": 1}, d.Verdict.RUN),
        ("one_failed", {"success": 2}, d.Verdict.SKIP),
        ("none_failed", {"success": 1, "skipped": 1}, d.Verdict.RUN),
        ("none_failed", {"upstream_failed": 1, "success": 1}, d.Verdict.UPSTREAM_FAILED),
        ("none_skipped", {"failed": 1, "success": 1}, d.Verdict.RUN),
        ("none_skipped", {"skipped": 1, "running": 1}, d.Verdict.SKIP),
        ("none_failed_min_one_success", {"success": 1, "skipped": 1}, d.Verdict.RUN),
        ("none_failed_min_one_success", {"skipped": 2}, d.Verdict.SKIP),
        ("none_failed_min_one_success", {"failed": 1, "skipped": 1}, d.Verdict.UPSTREAM_FAILED),
        ("always", {"failed": 1, "none": 1}, d.Verdict.RUN),
        # Airflow 3's all_done_min_one_success (ti_deps/deps/trigger_rule_dep.py @3.3.2)
        ("all_done_min_one_success", {"success": 1, "failed": 1}, d.Verdict.RUN),
        ("all_done_min_one_success", {"failed": 1, "upstream_failed": 1}, d.Verdict.UPSTREAM_FAILED),
        ("all_done_min_one_success", {"success": 1, "skipped": 1}, d.Verdict.SKIP),
        ("all_done_min_one_success", {"success": 1, "running": 1}, d.Verdict.WAIT),
        ("all_done_setup_success", {"failed": 1, "skipped": 1}, d.Verdict.RUN),
    ],
)
def test_trigger_rules(rule: str, upstream: dict[str, int], verdict: d.Verdict) -> None:
    assert d.evaluate_trigger_rule(rule, counts(**upstream)) is verdict


def test_failure_cascades_in_one_decision_and_run_fails_from_leaves() -> None:
    spec = spec_of(TaskSpec("a", "op"), TaskSpec("b", "op", upstream=("a",)), TaskSpec("c", "op", upstream=("b",)),
                   TaskSpec("cleanup", "op", upstream=("c",), trigger_rule="all_done"))
    tis = d.initial_task_instances(spec)
    tis[("a", -1)] = d.TIView("a", state=d.FAILED)
    decision = d.decide_run(spec, tis, NOW)
    assert decision.changes == {("b", -1): d.UPSTREAM_FAILED, ("c", -1): d.UPSTREAM_FAILED}
    assert decision.to_schedule == [("cleanup", -1)]
    tis.update({k: d.TIView(k[0], state=s) for k, s in decision.changes.items()})
    tis[("cleanup", -1)] = d.TIView("cleanup", state=d.SUCCESS)
    # the only leaf succeeded: like Airflow, the run succeeds (leaves decide)
    assert d.decide_run(spec, tis, NOW).run_state == d.RUN_SUCCESS


def test_skips_propagate_and_empty_tasks_succeed_without_running() -> None:
    spec = spec_of(TaskSpec("branch", "op"), TaskSpec("left", "op", upstream=("branch",)),
                   TaskSpec("right", "op", upstream=("branch",)), TaskSpec("after", "op", upstream=("right",)),
                   TaskSpec("join", "EmptyOperator", upstream=("left", "after"),
                            trigger_rule="none_failed_min_one_success", is_empty=True))
    tis = d.initial_task_instances(spec)
    tis[("branch", -1)] = d.TIView("branch", state=d.SUCCESS)
    tis[("left", -1)] = d.TIView("left", state=d.SUCCESS)
    decision = d.decide_run(spec, tis, NOW, skip_requests=["right"])
    assert decision.changes == {("right", -1): d.SKIPPED, ("after", -1): d.SKIPPED, ("join", -1): d.SUCCESS}
    assert decision.run_state == d.RUN_SUCCESS


def test_retry_waits_until_next_retry_at() -> None:
    spec = spec_of(TaskSpec("a", "op", retries=2))
    later = NOW + timedelta(seconds=10)
    tis = {("a", -1): d.TIView("a", state=d.UP_FOR_RETRY, try_number=1, max_tries=2, next_retry_at=later)}
    assert d.decide_run(spec, tis, NOW).to_schedule == []
    assert d.decide_run(spec, tis, later).to_schedule == [("a", -1)]


def test_retry_delay_exponential_backoff_and_cap() -> None:
    task = TaskSpec("a", "op", retries=5, retry_delay=10, retry_exponential_backoff=True, max_retry_delay=60)
    delays = [d.retry_delay(task, n, "dag", NOW).total_seconds() for n in (1, 2, 3, 4)]
    assert 10 <= delays[0] < 20 and 20 <= delays[1] < 40 and 40 <= delays[2] <= 60 and delays[3] == 60
    assert d.retry_delay(task, 2, "dag", NOW) == d.retry_delay(task, 2, "dag", NOW)  # deterministic
    plain = TaskSpec("a", "op", retries=1, retry_delay=30)
    assert d.on_failure(plain, 1, 1, NOW, "dag", NOW) == d.FailureOutcome(d.UP_FOR_RETRY, NOW + timedelta(seconds=30))
    assert d.on_failure(plain, 2, 1, NOW, "dag", NOW).state == d.FAILED
    assert d.on_failure(plain, 1, 1, NOW, "dag", NOW, allow_retry=False).state == d.FAILED


def test_mapped_task_expands_with_cartesian_length_or_skips_when_empty() -> None:
    mapped = TaskSpec("m", "op", upstream=("src",), is_mapped=True,
                      map_inputs=(MapInput("x", "output", task_id="src"), MapInput("y", "literal", length=3)))
    spec = spec_of(TaskSpec("src", "op"), mapped, TaskSpec("after", "op", upstream=("m",)))
    tis = d.initial_task_instances(spec)
    tis[("src", -1)] = d.TIView("src", state=d.SUCCESS)
    assert d.decide_run(spec, tis, NOW).to_expand == ["m"]
    assert d.map_length(mapped, {("src", "return_value"): 2}) == 6
    assert d.map_length(mapped, {("src", "return_value"): None}) is None
    expanded = d.expand(tis, "m", 6)
    assert sorted(k for k in expanded if k[0] == "m") == [("m", i) for i in range(6)]
    assert d.decide_run(spec, expanded, NOW).to_schedule == [("m", i) for i in range(6)]
    empty = d.expand(tis, "m", 0)
    assert empty[("m", -1)].state == d.SKIPPED
    assert d.decide_run(spec, empty, NOW).changes == {("after", -1): d.SKIPPED}


def test_select_to_queue_priority_pools_and_limits() -> None:
    def cand(task: str, weight: int, pool: str = "p", slots: int = 1, run: str = "r1") -> d.Candidate:
        return d.Candidate("dag", run, task, -1, weight, pool, slots)

    cands = [cand("low", 1), cand("high", 9), cand("mid", 5), cand("big", 8, slots=3), cand("other", 7, run="r2")]
    chosen = d.select_to_queue(cands, {"p": 2}, {("dag", "r1"): 10, ("dag", "r2"): 0}, executor_open=10)
    assert [c.task_id for c in chosen] == ["high", "mid"]  # big needs 3 slots; r2 is full
    assert len(d.select_to_queue(cands, {"p": 100}, {("dag", "r1"): 10}, executor_open=1)) == 1
    assert d.select_to_queue([cand("x", 1, pool="missing")], {}, {("dag", "r1"): 1}, 5) == []
    assert d.runs_to_start(["a", "b", "c"], active=1, max_active_runs=2) == ["a"]


def test_liveness_helpers() -> None:
    assert d.is_stale(None, NOW, timedelta(seconds=5))
    assert not d.is_stale(NOW - timedelta(seconds=4), NOW, timedelta(seconds=5))
    assert d.is_timed_out(NOW - timedelta(seconds=20), 10, NOW)
    assert not d.is_timed_out(NOW - timedelta(seconds=12), 10, NOW)
