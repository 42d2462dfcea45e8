"""Run the scoring app under uvicorn, with one or several worker processes.

With one worker the app is built and served in this process.

With several (on systems with ``fork``), this process loads the model once, binds the
socket, and forks the workers: each inherits the loaded model and the imported libraries,
so N workers are ready about as soon as one, and share the model's memory until they write
to it. Each worker builds its own app, metrics and inference logger after the fork (threads,
database connections and metric files must belong to the process that uses them). The parent
only supervises: it restarts a worker that dies and forwards SIGINT/SIGTERM to all of them.

Models whose loading runs user code (custom pyfunc models, flavors trackflow does not
implement) may start threads or open connections that would not survive a fork, so for them
each worker loads the model itself after the fork. Without ``fork`` (Windows), uvicorn
spawns fresh worker processes that import :func:`app_from_environment`; the serve command
hands them their configuration through one environment variable (the only way into a
spawned worker) and the model as an already-downloaded local directory.

Metrics of all workers are summed through ``PROMETHEUS_MULTIPROC_DIR``, which must be set
before prometheus_client is imported: this module imports the scoring app only after.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

WORKER_CONFIG_ENV = "TRACKFLOW_SCORING_WORKER_CONFIG"
# loader modules whose loading runs only trackflow and library code, so the model can be
# loaded before forking (see the module docstring)
FORK_SAFE_LOADERS = ("trackflow.models.flavors.sklearn",)
RESTART_DELAY_S = 1.0  # a worker that keeps crashing is restarted at most this often
QUICK_FAILURE_S = 10.0  # a worker exiting sooner than this after its start counts as failing to start
MAX_QUICK_FAILURES = 3


@dataclass(frozen=True)
class ServeOptions:
    model_dir: str
    model_uri: str
    host: str = "127.0.0.1"
    port: int = 5001
    workers: int = 1
    max_body_bytes: int = 50 * 1024 * 1024
    inference_log_uri: str | None = None  # a database URI; None disables logging
    sample_rate: float = 1.0
    metrics_dir: str | None = None
    token_sha256: str | None = None  # requests to /invocations and /metrics need the token (its hash here)


def build_app(options: ServeOptions, model: Any = None) -> Any:
    """The scoring app for ``options``; ``model`` is the already loaded model, if any."""
    from trackflow.models.pyfunc import load_local
    from trackflow.serving.app import ScoringConfig, create_scoring_app

    if model is None:
        model = load_local(options.model_dir)
    inference_logger = None
    if options.inference_log_uri:
        from trackflow.serving.inference_log import InferenceLogger
        from trackflow.store.sql.inference_store import SqlInferenceLogStore
        from trackflow.tracking.backend import open_database

        store = SqlInferenceLogStore(open_database(options.inference_log_uri))
        inference_logger = InferenceLogger(store, options.model_uri, options.sample_rate)
    config = ScoringConfig(options.model_uri, options.max_body_bytes, options.metrics_dir, options.token_sha256)
    return create_scoring_app(model, config, inference_logger)


def app_from_environment() -> Any:
    """uvicorn factory for spawned worker processes (see module docstring)."""
    return build_app(ServeOptions(**json.loads(os.environ[WORKER_CONFIG_ENV])))


def _uvicorn_kwargs(options: ServeOptions) -> dict[str, Any]:
    # uvloop and httptools when installed (the uvicorn[standard] extra); no websockets here
    return {"log_level": "warning", "access_log": False, "ws": "none", "loop": "auto", "http": "auto"}


def serve(options: ServeOptions) -> None:
    import uvicorn

    kwargs = _uvicorn_kwargs(options)
    if options.workers <= 1:
        uvicorn.run(build_app(options), host=options.host, port=options.port, **kwargs)
        return
    import tempfile

    metrics_dir = tempfile.mkdtemp(prefix="trackflow-metrics-")
    options = ServeOptions(**{**asdict(options), "metrics_dir": metrics_dir})
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # before prometheus_client is imported
    try:
        if hasattr(os, "fork"):
            _serve_forked(options)
        else:
            os.environ[WORKER_CONFIG_ENV] = json.dumps(asdict(options))
            uvicorn.run("trackflow.serving.server:app_from_environment", factory=True, workers=options.workers,
                        host=options.host, port=options.port, **kwargs)
    finally:
        import shutil

        shutil.rmtree(metrics_dir, ignore_errors=True)


def _loads_before_fork(model_dir: str) -> bool:
    from trackflow.models.format import Model
    from trackflow.models.pyfunc import LOADERS

    loader = str(Model.load(model_dir).pyfunc_conf.get("loader_module") or "")
    return LOADERS.get(loader, loader) in FORK_SAFE_LOADERS


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _serve_forked(options: ServeOptions) -> None:
    from trackflow.models.pyfunc import load_local

    model = load_local(options.model_dir) if _loads_before_fork(options.model_dir) else None
    # import the server stack once here rather than in every worker
    import uvicorn  # noqa: F401

    import trackflow.serving.app  # noqa: F401

    sock = _bind(options.host, options.port)
    gc.freeze()  # what exists now lives as long as the workers: keep it out of their collections
    workers: dict[int, float] = {}  # pid -> start time
    stopping = False
    quick_failures = exit_code = 0

    def start_worker() -> None:
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the parent's code
            code = 1
            try:
                for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
                    signal.signal(sig, signal.SIG_DFL)
                _run_worker(options, model, sock)
                code = 0
            except BaseException:  # noqa: BLE001 - report, then leave without running the parent's cleanup
                import traceback

                traceback.print_exc()
            finally:
                sys.stderr.flush()
                os._exit(code)
        workers[pid] = time.monotonic()

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(workers):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for _ in range(options.workers):
        start_worker()
    while workers:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        started = workers.pop(pid, None)
        if started is None or stopping:
            continue
        code = os.waitstatus_to_exitcode(status)
        lived = time.monotonic() - started
        quick_failures = quick_failures + 1 if lived < QUICK_FAILURE_S else 0
        if quick_failures >= MAX_QUICK_FAILURES:  # e.g. the model cannot load: give up, don't spin
            print(f"scoring workers keep exiting (last: {code}); stopping", file=sys.stderr, flush=True)
            stop(signal.SIGTERM, None)
            exit_code = 1
            continue
        print(f"scoring worker {pid} exited with {code}; starting another", file=sys.stderr, flush=True)
        time.sleep(max(0.0, RESTART_DELAY_S - lived))
        if not stopping:
            start_worker()
    sock.close()
    if exit_code:
        raise SystemExit(exit_code)


def _run_worker(options: ServeOptions, model: Any, sock: socket.socket) -> None:
    import uvicorn

    app = build_app(options, model)
    config = uvicorn.Config(app, **_uvicorn_kwargs(options))
    uvicorn.Server(config).run(sockets=[sock])
