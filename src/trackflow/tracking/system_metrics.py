"""Background sampling of CPU, memory, disk and (NVIDIA) GPU use into a run, with psutil."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time

import psutil

from trackflow.entities import Metric
from trackflow.tracking.client import Client


def sample_system_metrics() -> dict[str, float]:
    """One reading, with MLflow's metric names (system/...)."""
    memory = psutil.virtual_memory()
    disk = psutil.disk_usage("/")
    values = {
        "system/cpu_utilization_percentage": psutil.cpu_percent(interval=None),
        "system/system_memory_usage_megabytes": (memory.total - memory.available) / 2**20,
        "system/system_memory_usage_percentage": memory.percent,
        "system/disk_usage_megabytes": disk.used / 2**20,
        "system/disk_usage_percentage": disk.percent,
        "system/disk_available_megabytes": disk.free / 2**20,
    }
    values.update(_gpu_metrics())
    return values


def _gpu_metrics() -> dict[str, float]:
    # nvidia-smi is present wherever an NVIDIA driver is; without it there is no GPU to report.
    if shutil.which("nvidia-smi") is None:
        return {}
    query = "utilization.gpu,memory.used,memory.total"
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout
    except (subprocess.SubprocessError, OSError):
        return {}
    values: dict[str, float] = {}
    for index, line in enumerate(out.strip().splitlines()):
        try:
            utilization, used, total = (float(x) for x in line.split(","))
        except ValueError:
            continue
        values[f"system/gpu_{index}_utilization_percentage"] = utilization
        values[f"system/gpu_{index}_memory_usage_megabytes"] = used
        values[f"system/gpu_{index}_memory_usage_percentage"] = 100 * used / total if total else 0.0
    return values


class SystemMetricsMonitor:
    """Samples every ``interval`` seconds on a daemon thread until stopped."""

    def __init__(self, client: Client, run_id: str, interval: float = 10.0) -> None:
        self.client, self.run_id, self.interval = client, run_id, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="trackflow-system-metrics", daemon=True)
        self._step = 0

    def start(self) -> None:
        psutil.cpu_percent(interval=None)  # the first call primes the CPU counter
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.log_sample()

    def log_sample(self) -> None:
        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, self._step) for k, v in sample_system_metrics().items()]
        self.client.log_batch(self.run_id, metrics=metrics)
        self._step += 1

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 5)
        self.log_sample()  # a final reading so short runs get at least one point
