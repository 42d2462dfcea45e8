"""Turning the first bytes of an artifact into something the preview pane can show: text, a
table (CSV/TSV, parquet through pyarrow), a model's MLmodel summary. Each reader stops reading
at its cap (ArtifactRepository.read_head: a byte range on S3, a capped read of a local file or
of the proxy's response), so a 10 GB artifact costs the same as a small one."""

from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from trackflow.artifacts import ArtifactRepository
from trackflow.errors import InvalidInput
from trackflow.models.format import MLMODEL_FILE, Model
from trackflow.models.signature import Schema, TensorSpec

__all__ = ["MLMODEL_FILE", "ModelSummary", "read_delimited", "read_model", "read_parquet", "read_text"]

TEXT_MAX_BYTES = 100 * 1024
TABLE_MAX_BYTES = 1024 * 1024
PARQUET_MAX_BYTES = 64 * 1024 * 1024  # parquet keeps its schema at the end: the whole file is read
MLMODEL_MAX_BYTES = 1024 * 1024
TABLE_ROWS = 100
TABLE_COLUMNS = 100
CELL_CHARS = 200


def read_prefix(repo: ArtifactRepository, path: str, cap: int) -> tuple[bytes, bool]:
    """The first ``cap`` bytes of the file, and True when the file is longer."""
    return repo.read_head(path, cap)


def _decode(data: bytes, truncated: bool) -> str:
    # A cut file may end inside a multi-byte character: drop that tail rather than show garbage.
    return codecs.getincrementaldecoder("utf-8")(errors="replace").decode(data, final=not truncated)


def read_text(repo: ArtifactRepository, path: str) -> tuple[str | None, bool]:
    """(text, truncated); text is None for a file that looks binary (a NUL byte near the start)."""
    data, truncated = read_prefix(repo, path, TEXT_MAX_BYTES)
    if b"\x00" in data[:8192]:
        return None, truncated
    return _decode(data, truncated), truncated


def pretty_json(text: str) -> str | None:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return None


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"


Table = tuple[list[str], list[list[str]], bool, int | None]  # columns, rows, truncated, total rows


def read_delimited(repo: ArtifactRepository, path: str, delimiter: str) -> Table:
    """The header and first TABLE_ROWS rows of a CSV/TSV file (reading at most TABLE_MAX_BYTES)."""
    data, cut = read_prefix(repo, path, TABLE_MAX_BYTES)
    text = _decode(data, cut)
    if cut:
        text = text[: text.rfind("\n") + 1]  # the last line is incomplete
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] = []
    rows: list[list[str]] = []
    try:
        header = next(reader, [])
        for row in reader:
            if len(rows) == TABLE_ROWS:
                return _columns(header), rows, True, None
            rows.append([_cell(v) for v in row[:TABLE_COLUMNS]])
    except csv.Error:  # a stray quote or NUL byte: show what parsed
        return _columns(header), rows, True, None
    return _columns(header), rows, cut, None if cut else len(rows)


def _columns(header: list[str]) -> list[str]:
    return [_cell(h) for h in header[:TABLE_COLUMNS]]


def read_parquet(repo: ArtifactRepository, path: str, size: int | None) -> Table | str:
    """The first TABLE_ROWS rows of a parquet file, or a message saying why not (pyarrow missing,
    file too large, not parquet)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return "Parquet preview needs pyarrow, which is not installed on the server (pip install pyarrow)."
    if size is not None and size > PARQUET_MAX_BYTES:
        return f"No preview: parquet files over {PARQUET_MAX_BYTES // (1024 * 1024)} MB are not read; download it."
    data, cut = read_prefix(repo, path, PARQUET_MAX_BYTES)
    if cut:
        return f"No preview: parquet files over {PARQUET_MAX_BYTES // (1024 * 1024)} MB are not read; download it."
    try:
        parquet = pq.ParquetFile(pa.BufferReader(data))
        names = parquet.schema_arrow.names
        batch = next(parquet.iter_batches(batch_size=TABLE_ROWS, columns=names[:TABLE_COLUMNS]), None)
    except (pa.ArrowException, OSError, ValueError) as exc:
        return f"No preview: not a readable parquet file ({exc})."
    columns = [_cell(n) for n in names[:TABLE_COLUMNS]]
    rows = [] if batch is None else [[_cell(v) for v in row.values()] for row in batch.to_pylist()]
    total = parquet.metadata.num_rows
    return columns, rows, total > len(rows) or len(names) > TABLE_COLUMNS, total


# MLmodel ----------------------------------------------------------------------------------
@dataclass
class SignatureColumn:
    name: str
    type: str
    required: bool


@dataclass
class ModelSummary:
    """A model directory's MLmodel: its flavors (with their settings) and its signature."""

    path: str  # of the MLmodel file
    flavors: dict[str, dict[str, str]] = field(default_factory=dict)
    inputs: list[SignatureColumn] = field(default_factory=list)
    outputs: list[SignatureColumn] = field(default_factory=list)
    params: list[SignatureColumn] = field(default_factory=list)
    has_signature: bool = False
    run_id: str | None = None
    model_uuid: str | None = None
    utc_time_created: str | None = None
    error: str | None = None  # the MLmodel could not be read; the rest is empty


def _columns_of(schema: Schema | None) -> list[SignatureColumn]:
    out = []
    for spec in schema.specs if schema else ():
        if isinstance(spec, TensorSpec):
            out.append(SignatureColumn(spec.name or "", f"tensor {spec.dtype} {list(spec.shape)}", True))
        else:
            out.append(SignatureColumn(spec.name or "", spec.type, spec.required))
    return out


def read_model(repo: ArtifactRepository, path: str) -> ModelSummary:
    data, cut = read_prefix(repo, path, MLMODEL_MAX_BYTES)
    summary = ModelSummary(path)
    if cut:
        summary.error = f"MLmodel is over {MLMODEL_MAX_BYTES // 1024} KB; not read"
        return summary
    try:
        raw = yaml.safe_load(data.decode("utf-8", errors="replace"))
        if not isinstance(raw, dict):
            raise InvalidInput("it does not hold a mapping")
        model = Model.from_dict(raw)
        signature = model.signature
        params = [SignatureColumn(str(p.get("name", "")), str(p.get("type", "")), "default" not in p)
                  for p in (signature.params or []) if isinstance(p, dict)] if signature else []
    except (yaml.YAMLError, InvalidInput, ValueError, TypeError, AttributeError) as exc:
        summary.error = f"MLmodel could not be read: {getattr(exc, 'message', exc)}"
        return summary
    summary.flavors = {
        str(name): {str(k): _cell(v) for k, v in conf.items()} if isinstance(conf, dict) else {}
        for name, conf in model.flavors.items()
    }
    if signature is not None:
        summary.has_signature = True
        summary.inputs, summary.outputs, summary.params = _columns_of(signature.inputs), \
            _columns_of(signature.outputs), params
    summary.run_id, summary.model_uuid = model.run_id, model.model_uuid
    summary.utc_time_created = model.utc_time_created or None
    return summary
