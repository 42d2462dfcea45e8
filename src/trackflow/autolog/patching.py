"""Replace methods on classes and put the originals back: the one mechanism autologging uses.

A method can reach a class three ways, and each is patched where it is found:

- defined on the class itself: replaced there, and restored on ``restore``;
- inherited (``RandomForestClassifier.fit`` comes from ``BaseForest``): the wrapper is set on
  the class itself, so the base class and its other subclasses are untouched, and ``restore``
  deletes it again so lookup falls through to the base as before;
- an sklearn ``available_if`` descriptor (``Pipeline.fit_predict`` exists only when the last
  step has one): a copy of the descriptor with its function wrapped is set on the class, so
  ``hasattr`` keeps answering as the original descriptor does.

The original is always looked up before anything is patched, bypassing descriptors
(``inspect.getattr_static``), so patching a base class and then its subclass never wraps a
wrapper.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable
from typing import Any

_MISSING = object()

# make_wrapper(original_function) -> the function to install in its place
WrapperFactory = Callable[[Callable[..., Any]], Callable[..., Any]]


class Patches:
    """The methods replaced so far, with what to put back."""

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any]] = []  # (owner, attribute, previous value or _MISSING)

    def __bool__(self) -> bool:
        return bool(self._undo)

    def originals(self, owner: Any, names: list[str]) -> dict[str, Any]:
        """The raw attributes ``owner`` has now for ``names`` (absent names left out)."""
        found = {}
        for name in names:
            try:
                found[name] = inspect.getattr_static(owner, name)
            except AttributeError:
                continue
        return found

    def wrap_method(self, owner: type, name: str, raw: Any, make_wrapper: WrapperFactory) -> bool:
        """Install ``make_wrapper(function)`` as ``owner.name``, ``raw`` being the original attribute
        found by ``originals``. Returns False (and patches nothing) for attributes that are not
        plain functions or sklearn ``available_if`` descriptors (properties, static methods...)."""
        if inspect.isfunction(raw):
            replacement: Any = _marked(functools.wraps(raw)(make_wrapper(raw)))
        elif inspect.isfunction(getattr(raw, "fn", None)) and callable(getattr(raw, "check", None)):
            replacement = copy.copy(raw)
            replacement.fn = _marked(functools.wraps(raw.fn)(make_wrapper(raw.fn)))
        else:
            return False
        self._set(owner, name, replacement)
        return True

    def replace_function(self, module: Any, name: str, make_wrapper: WrapperFactory) -> None:
        """Install ``make_wrapper(module.name)`` as ``module.name`` (module-level functions)."""
        original = getattr(module, name)
        self._set(module, name, _marked(functools.wraps(original)(make_wrapper(original))))

    def restore(self) -> None:
        """Put every original back, newest first."""
        while self._undo:
            owner, name, previous = self._undo.pop()
            if previous is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, previous)

    def _set(self, owner: Any, name: str, value: Any) -> None:
        previous = owner.__dict__.get(name, _MISSING) if isinstance(owner, type) else getattr(owner, name)
        self._undo.append((owner, name, previous))
        setattr(owner, name, value)


def _marked(wrapper: Callable[..., Any]) -> Callable[..., Any]:
    """Tag an installed wrapper (``trackflow_autolog``) so that it can be told from the
    original, which ``functools.wraps`` otherwise makes it look like."""
    wrapper.trackflow_autolog = True  # type: ignore[attr-defined]
    return wrapper
