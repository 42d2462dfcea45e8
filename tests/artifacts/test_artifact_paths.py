from __future__ import annotations

import pytest

from trackflow.artifacts import safe_relative_path
from trackflow.errors import InvalidInput


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("", ""),
        (".", ""),
        ("./", ""),
        ("a", "a"),
        ("a/b/c.txt", "a/b/c.txt"),
        ("a//b/", "a/b"),
        ("./a/./b", "a/b"),
        ("a/../b", "b"),
        ("a/b/../../c", "c"),
        ("a/..", ""),
        ("..a/b..", "..a/b.."),  # dots inside names are just names
        ("dir with space/ünï.txt", "dir with space/ünï.txt"),
        ("%2e%2e/x", "%2e%2e/x"),  # not decoded: a literal name, harmless
    ],
)
def test_normalizes(given: str, expected: str) -> None:
    assert safe_relative_path(given) == expected


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("../x", "escapes"),
        ("..", "escapes"),
        ("a/../../b", "escapes"),
        ("a/b/../../../etc/passwd", "escapes"),
        ("/etc/passwd", "absolute"),
        ("//server/share", "absolute"),
        ("a\\..\\..\\b", "backslash"),
        ("..\\x", "backslash"),
        ("C:/Windows", "drive"),
        ("c:evil", "drive"),
        ("a\x00b", "control"),
        ("a\nb", "control"),
    ],
)
def test_rejects_with_the_path_named(bad: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason) as info:
        safe_relative_path(bad)
    assert repr(bad) in str(info.value)


def test_rejects_non_strings() -> None:
    with pytest.raises(InvalidInput):
        safe_relative_path(None)  # type: ignore[arg-type]
