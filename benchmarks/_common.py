"""Shared helpers for the side-by-side benchmarks (stdlib + psutil + requests only).

Every benchmark script runs with trackflow's interpreter (.venv); the peer systems
(MLflow, Airflow) run from their own virtualenvs under benchmarks/.work/ and are
driven through their CLIs, their HTTP APIs or worker scripts run with their python.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
WORK = BENCH_DIR / ".work"
RESULTS_MD = BENCH_DIR / "RESULTS.md"

TF_VENV = ROOT / ".venv"
TF_PY = TF_VENV / "bin" / "python"
TF_BIN = TF_VENV / "bin" / "trackflow"
MLFLOW_VENV = ROOT / ".peers" / "mlflow"  # scripts/ensure-peers.sh, shared with the differential tests
MLFLOW_PY = MLFLOW_VENV / "bin" / "python"
MLFLOW_BIN = MLFLOW_VENV / "bin" / "mlflow"
AIRFLOW_VENV = WORK / "venv-airflow"
AIRFLOW_PY = AIRFLOW_VENV / "bin" / "python"
AIRFLOW_BIN = AIRFLOW_VENV / "bin" / "airflow"


def venv_env(venv: Path, **extra: str) -> dict[str, str]:
    """Environment of an activated virtualenv (peers spawn tools such as uvicorn by name)."""
    return {"PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '')}", "VIRTUAL_ENV": str(venv), **extra}


class Unavailable(Exception):
    """One side of a comparison cannot be measured; the message says why."""


# --------------------------------------------------------------------------- statistics
@dataclass
class Stat:
    """Median and range of repeated measurements (seconds, or any unit)."""

    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def lo(self) -> float:
        return min(self.values) if self.values else float("nan")

    @property
    def hi(self) -> float:
        return max(self.values) if self.values else float("nan")

    def pct(self, p: float) -> float:
        if not self.values:
            return float("nan")
        xs = sorted(self.values)
        k = min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))
        return xs[k]


def fmt_num(x: float | None, unit: str = "") -> str:
    if x is None or x != x:  # NaN
        return "n/a"
    if unit == "s":
        if x < 1e-3:
            return f"{x * 1e6:.0f} µs"
        if x < 1:
            return f"{x * 1e3:.1f} ms"
        return f"{x:.2f} s"
    if unit == "MB":
        return f"{x:.0f} MB"
    if abs(x) >= 100:
        return f"{x:,.0f}{(' ' + unit) if unit else ''}"
    return f"{x:.3g}{(' ' + unit) if unit else ''}"


def fmt_stat(s: Stat | None, unit: str = "s") -> str:
    if s is None or not s.values:
        return "n/a"
    if len(s.values) == 1:
        return fmt_num(s.median, unit)
    return f"{fmt_num(s.median, unit)} ({fmt_num(s.lo, unit)}–{fmt_num(s.hi, unit)})"


def ratio(peer: float | None, ours: float | None, higher_is_better: bool = False) -> float | None:
    """How many times better trackflow is than the peer (>1 means trackflow wins)."""
    if peer is None or ours is None or peer != peer or ours != ours or peer <= 0 or ours <= 0:
        return None
    return ours / peer if higher_is_better else peer / ours


def fmt_ratio(r: float | None) -> str:
    return "n/a" if r is None else f"{r:.1f}x"


# --------------------------------------------------------------------------- processes
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None,
              interval: float = 0.02) -> float:
    """Poll url until it answers 200; return seconds waited. Raise Unavailable on timeout/exit."""
    t0 = time.perf_counter()
    deadline = t0 + timeout
    last = ""
    while time.perf_counter() < deadline:
        if proc is not None and proc.poll() is not None:
            raise Unavailable(f"process exited with code {proc.returncode} before {url} answered")
        try:
            r = requests.get(url, timeout=2)
            if r.status_code == 200:
                return time.perf_counter() - t0
            last = f"HTTP {r.status_code}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(interval)
    raise Unavailable(f"{url} did not answer 200 within {timeout:.0f}s (last: {last})")


def tree(pid: int) -> list[psutil.Process]:
    try:
        p = psutil.Process(pid)
        return [p, *p.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_memory(pid: int) -> tuple[float, float, int]:
    """(sum RSS MB, sum PSS MB, process count) of a process and all its descendants."""
    rss = pss = 0.0
    n = 0
    for p in tree(pid):
        try:
            mi = p.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        rss += mi.rss
        pss += getattr(mi, "pss", mi.rss)
        n += 1
    return rss / 2**20, pss / 2**20, n


def tree_cpu_percent(pid: int, seconds: float) -> float:
    """CPU used by the process tree over `seconds`, in % of one core."""

    def total() -> float:
        t = 0.0
        for p in tree(pid):
            try:
                c = p.cpu_times()
                t += c.user + c.system + getattr(c, "children_user", 0.0) + getattr(c, "children_system", 0.0)
            except psutil.NoSuchProcess:
                continue
        return t

    a = total()
    time.sleep(seconds)
    b = total()
    return max(0.0, (b - a) / seconds * 100)


class Service:
    """A long-running server started in its own session; the whole group is killed on stop."""

    def __init__(self, name: str, cmd: Sequence[str], log_path: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None):
        self.name = name
        self.cmd = list(cmd)
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.t_launch = 0.0

    def start(self) -> Service:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed with the process
        self.t_launch = time.perf_counter()
        self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                     cwd=self.cwd, start_new_session=True)
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def wait_ready(self, url: str, timeout: float) -> float:
        """Seconds from launch until url answered 200."""
        try:
            wait_http(url, timeout, self.proc)
        except Unavailable as exc:
            raise Unavailable(f"{self.name}: {exc}; log tail: {self.log_tail()}") from None
        return time.perf_counter() - self.t_launch

    def log_tail(self, n: int = 400) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:].replace("\n", " | ")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        procs = tree(self.proc.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        _, alive = psutil.wait_procs(procs, timeout=10)
        for p in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)


@contextlib.contextmanager
def service(name: str, cmd: Sequence[str], log_path: Path, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> Iterator[Service]:
    svc = Service(name, cmd, log_path, env, cwd).start()
    try:
        yield svc
    finally:
        svc.stop()


def run_json(cmd: Sequence[str], timeout: float, env: dict[str, str] | None = None,
             cwd: Path | None = None) -> dict:
    """Run a worker that prints one JSON object as its last stdout line."""
    p = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, **(env or {})}, cwd=cwd)
    if p.returncode != 0:
        raise Unavailable(f"{Path(cmd[1]).name if len(cmd) > 1 else cmd[0]} exited {p.returncode}: "
                          f"{(p.stderr or p.stdout).strip()[-600:]}")
    lines = [ln for ln in p.stdout.strip().splitlines() if ln.startswith("{")]
    if not lines:
        raise Unavailable(f"no JSON result from {cmd[:3]}: {p.stdout[-300:]} {p.stderr[-300:]}")
    return json.loads(lines[-1])


def timed_cmd(cmd: Sequence[str], timeout: float, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    p = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, **(env or {})}, cwd=cwd)
    return time.perf_counter() - t0, p


def require(path: Path, what: str) -> None:
    if not path.exists():
        raise Unavailable(f"{what} not installed ({path} missing; run `bash benchmarks/run.sh setup`)")


def trackflow_cli_has(*words: str) -> str | None:
    """None when `trackflow <words> --help` works, else the reason it does not."""
    if not TF_BIN.exists():
        return f"{TF_BIN} missing"
    p = subprocess.run([str(TF_BIN), *words, "--help"], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        return f"`trackflow {' '.join(words)}` not available: {(p.stderr or p.stdout).strip()[-200:]}"
    return None


_SHIM = ("import sys; from trackflow.cli import main as m; "
         "m.COMMANDS.setdefault(sys.argv[1], {target!r}); m.main(sys.argv[1:])")


def trackflow_command(group: str, *sub: str, fallbacks: Sequence[str] = ()) -> tuple[list[str], str]:
    """argv prefix that runs `trackflow <group>` plus a note on how it was found.

    When the group is not registered in the root CLI yet but its module exists (helpers write
    `trackflow.cli.<name>` before the lead registers it), it is run through a shim that registers
    it first. Raise Unavailable when neither works."""
    why = trackflow_cli_has(group, *sub)
    if why is None:
        return [str(TF_BIN), group], ""
    for target in fallbacks:
        prefix = [str(TF_PY), "-c", _SHIM.format(target=target), group]
        p = subprocess.run([*prefix, *sub, "--help"], capture_output=True, text=True, timeout=60)
        if p.returncode == 0:
            return prefix, f"`trackflow {group}` not registered in the CLI yet; ran {target} through a shim"
    raise Unavailable(why)


# --------------------------------------------------------------------------- reporting
def machine_line() -> str:
    la = os.getloadavg()
    return (f"{platform.node() or 'host'}: {os.cpu_count()} cores, "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, Python {platform.python_version()}, "
            f"load avg {la[0]:.2f}/{la[1]:.2f}/{la[2]:.2f}")


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def verdict(r: float | None, target: float) -> str:
    if r is None:
        return "n/a"
    return "met" if r >= target else "NOT met"


def at_most(value: float | None, limit: float) -> str:
    if value is None or value != value:
        return "n/a"
    return "met" if value <= limit else "NOT met"


def write_section(key: str, title: str, body: str, quick: bool) -> None:
    """Replace (or append) this benchmark's section of RESULTS.md."""
    start, end = f"<!-- bench:{key}:start -->", f"<!-- bench:{key}:end -->"
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    mode = " (--quick: reduced sizes, not the reference figures)" if quick else ""
    section = f"{start}\n## {title}\n\nRun {stamp}{mode}. {machine_line()}.\n\n{body.strip()}\n{end}"
    text = RESULTS_MD.read_text() if RESULTS_MD.exists() else (
        "# Benchmark results\n\nWritten by `make bench` (`bash benchmarks/run.sh`); "
        "each script replaces its own section. Ratios are how many times better trackflow is "
        "than the peer (>1 = trackflow wins).\n"
    )
    if start in text and end in text:
        pre, rest = text.split(start, 1)
        _, post = rest.split(end, 1)
        text = pre + section + post
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    RESULTS_MD.write_text(text)
    print(f"\nwrote section '{key}' of {RESULTS_MD}")


def cleanup_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so `finally` blocks stop the servers a benchmark started."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def say(*args: object) -> None:
    print(*args, flush=True)
    sys.stdout.flush()
