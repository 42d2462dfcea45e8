"""Sampled request/prediction logging from the scoring server into the store.

The request path only draws a random number and appends to a queue; a background thread
writes batches, so a slow or unavailable database never slows down or fails scoring (rows
that cannot be written are dropped and counted).
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from typing import Any

import numpy as np
import pandas as pd

from trackflow.entities.inference import InferenceRecord
from trackflow.errors import InvalidInput
from trackflow.models.signature import PositionalRows
from trackflow.store.inference_base import InferenceLogStore

logger = logging.getLogger("trackflow.serving.inference_log")

MAX_ROWS_PER_RECORD = 1000  # big batch requests are truncated in the log, not in scoring


def _rows(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, PositionalRows):  # the scoring fast path: name the columns here, off the hot path
        data = PositionalRows(data.array[:MAX_ROWS_PER_RECORD], data.columns).to_frame()
    if isinstance(data, pd.DataFrame):
        frame = data.head(MAX_ROWS_PER_RECORD)
        return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")  # type: ignore[return-value]
    if isinstance(data, np.ndarray):
        array = data[:MAX_ROWS_PER_RECORD]
        if array.ndim == 1:
            return [{"0": v} for v in array.tolist()]
        flat = array.reshape(len(array), -1).tolist()
        return [{str(i): v for i, v in enumerate(row)} for row in flat]
    if isinstance(data, dict):
        return [{k: (np.asarray(v).tolist() if isinstance(v, np.ndarray) else v) for k, v in data.items()}]
    if isinstance(data, list):
        return [r if isinstance(r, dict) else {"0": r} for r in data[:MAX_ROWS_PER_RECORD]]
    return [{"0": data}]


def _jsonable(predictions: Any) -> Any:
    from trackflow.serving.payload import predictions_to_jsonable

    out = predictions_to_jsonable(predictions)
    return out[:MAX_ROWS_PER_RECORD] if isinstance(out, list) else out


class InferenceLogger:
    def __init__(
        self,
        store: InferenceLogStore,
        endpoint: str,
        sample_rate: float = 1.0,
        flush_interval: float = 1.0,
        batch_size: int = 200,
        rng: random.Random | None = None,
    ) -> None:
        if not 0.0 <= sample_rate <= 1.0:
            raise InvalidInput(f"inference log sample rate must be between 0 and 1, got {sample_rate}")
        self.store = store
        self.endpoint = endpoint
        self.sample_rate = sample_rate
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.dropped = 0
        self.written = 0
        self.failed = 0
        self._enqueued = 0
        self._rng = rng or random.Random()
        self._queue: queue.Queue[tuple[int, Any, Any, float] | None] = queue.Queue(maxsize=10_000)
        self._thread = threading.Thread(target=self._run, name="trackflow-inference-log", daemon=True)
        self._thread.start()

    def maybe_log(self, model_input: Any, predictions: Any, latency_s: float) -> None:
        if self.sample_rate < 1.0 and self._rng.random() >= self.sample_rate:
            return
        try:
            self._queue.put_nowait((int(time.time() * 1000), model_input, predictions, latency_s * 1000))
            self._enqueued += 1
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        pending: list[InferenceRecord] = []
        closing = False
        while not closing:
            deadline = time.monotonic() + self.flush_interval
            while len(pending) < self.batch_size:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    closing = True
                    break
                ts, data, predictions, latency_ms = item
                pending.append(InferenceRecord(self.endpoint, ts, _rows(data), _jsonable(predictions), latency_ms))
            if pending:
                try:
                    self.store.log_inferences(pending)
                    self.written += len(pending)
                except Exception:  # noqa: BLE001 - logging must never take scoring down
                    logger.exception("could not write %d inference records; dropping them", len(pending))
                    self.failed += len(pending)
                pending = []

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until everything queued so far is written (used by close and tests)."""
        end = time.monotonic() + timeout
        while self.written + self.failed < self._enqueued and time.monotonic() < end:
            time.sleep(0.01)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)
