"""Git context of the running script, as MLflow records it on a new run
(``mlflow.source.git.commit``, ``.branch``, ``.repoURL``). Read once per process through the
``git`` command; nothing when the script is not in a repository or git is not installed."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

GIT_COMMIT = "mlflow.source.git.commit"
GIT_BRANCH = "mlflow.source.git.branch"
GIT_REPO_URL = "mlflow.source.git.repoURL"


def _git(directory: str, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", directory, *args], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    out = done.stdout.strip()
    return out if done.returncode == 0 and out else None


def strip_credentials(url: str) -> str:
    """``https://user:token@host/repo`` -> ``https://host/repo``: tags are shown to everyone."""
    parts = urlsplit(url)
    if not parts.scheme or "@" not in parts.netloc:
        return url
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query, parts.fragment))


@functools.cache
def git_tags() -> dict[str, str]:
    """The git tags for runs started by this process's main script ({} outside a repository)."""
    main = sys.argv[0] if sys.argv and sys.argv[0] else ""
    if not main or not os.path.exists(main):
        return {}
    directory = os.path.dirname(os.path.abspath(main))
    commit = _git(directory, "rev-parse", "HEAD")
    if commit is None:
        return {}
    tags = {GIT_COMMIT: commit}
    branch = _git(directory, "symbolic-ref", "--short", "-q", "HEAD")  # none when detached
    if branch:
        tags[GIT_BRANCH] = branch
    remote = (_git(directory, "remote") or "").splitlines()
    url = _git(directory, "remote", "get-url", remote[0]) if remote else None
    if url:
        tags[GIT_REPO_URL] = strip_credentials(url)
    return tags
