"""``>>`` / ``<<`` wiring shared by operators, task outputs and task groups; ``chain``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from trackflow.errors import InvalidInput

if TYPE_CHECKING:
    from trackflow.pipelines.authoring.baseoperator import BaseOperator


class DependencyMixin:
    """Anything that can sit on either side of ``>>``: exposes its roots and leaves."""

    @property
    def roots(self) -> list[BaseOperator]:
        raise NotImplementedError

    @property
    def leaves(self) -> list[BaseOperator]:
        raise NotImplementedError

    def set_downstream(self, other: Any) -> None:
        if isinstance(other, Label):
            other.set_upstream(self)
            return
        for leaf in self.leaves:
            for root in flatten_roots(other):
                link(leaf, root)

    def set_upstream(self, other: Any) -> None:
        if isinstance(other, Label):
            other.set_downstream(self)
            return
        for root in self.roots:
            for leaf in flatten_leaves(other):
                link(leaf, root)

    def __rshift__(self, other: Any) -> Any:
        self.set_downstream(other)
        return other

    def __lshift__(self, other: Any) -> Any:
        self.set_upstream(other)
        return other

    def __rrshift__(self, other: Any) -> Any:
        """``[a, b] >> self``"""
        self.set_upstream(other)
        return self

    def __rlshift__(self, other: Any) -> Any:
        """``[a, b] << self``"""
        self.set_downstream(other)
        return self


class Label(DependencyMixin):
    """``a >> Label("when ok") >> b``: the edge a -> b, named (Airflow's edge label). The name
    is kept on the edge for the UI; the dependency is the same as ``a >> b``."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._upstream: list[BaseOperator] = []
        self._downstream: list[BaseOperator] = []

    @property
    def roots(self) -> list[BaseOperator]:
        return []

    @property
    def leaves(self) -> list[BaseOperator]:
        return []

    def set_upstream(self, other: Any) -> None:
        new = flatten_leaves(other)
        self._upstream += new
        for leaf in new:
            for root in self._downstream:
                link(leaf, root)

    def set_downstream(self, other: Any) -> None:
        new = flatten_roots(other)
        self._downstream += new
        for root in new:
            for leaf in self._upstream:
                link(leaf, root)

    def __repr__(self) -> str:
        return f"Label({self.label!r})"


def _items(value: Any) -> list[Any]:
    if isinstance(value, DependencyMixin):
        return [value]
    if isinstance(value, (list, tuple, set)):
        return list(value)
    raise InvalidInput(f"cannot set a dependency on {value!r}: expected a task, a task output, a group or a list")


def flatten_roots(value: Any) -> list[BaseOperator]:
    return [root for item in _items(value) for root in _check(item).roots]


def flatten_leaves(value: Any) -> list[BaseOperator]:
    return [leaf for item in _items(value) for leaf in _check(item).leaves]


def _check(item: Any) -> DependencyMixin:
    if not isinstance(item, DependencyMixin):
        raise InvalidInput(f"cannot set a dependency on {item!r}: expected a task, a task output or a group")
    return item


def link(upstream: BaseOperator, downstream: BaseOperator) -> None:
    """Record ``upstream >> downstream``; both end up in the same DAG."""
    if upstream is downstream:
        raise InvalidInput(f"task {upstream.task_id!r} cannot depend on itself")
    if upstream.dag is None and downstream.dag is not None:
        downstream.dag.add_task(upstream)
    elif downstream.dag is None and upstream.dag is not None:
        upstream.dag.add_task(downstream)
    elif upstream.dag is not downstream.dag:
        raise InvalidInput(
            f"tasks {upstream.task_id!r} and {downstream.task_id!r} belong to different DAGs"
        )
    upstream.downstream_task_ids.add(downstream.task_id)
    downstream.upstream_task_ids.add(upstream.task_id)


def chain(*elements: Any) -> None:
    """``chain(a, [b, c], d)``: a >> [b, c] >> d; two lists in a row are linked pairwise."""
    for up, down in zip(elements, elements[1:], strict=False):
        if isinstance(up, Sequence) and isinstance(down, Sequence) and not isinstance(up, str):
            if len(up) != len(down):
                raise InvalidInput(
                    f"chain: lists of different lengths cannot be linked pairwise ({len(up)} and {len(down)})"
                )
            for a, b in zip(up, down, strict=True):
                _check(a).set_downstream(b)
        elif isinstance(up, Sequence):
            for a in up:
                _check(a).set_downstream(down)
        else:
            _check(up).set_downstream(down)


def cross_downstream(from_tasks: Sequence[Any], to_tasks: Any) -> None:
    """Every task of ``from_tasks`` upstream of every task of ``to_tasks``."""
    for task in from_tasks:
        _check(task).set_downstream(to_tasks)
