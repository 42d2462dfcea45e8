"""Real artifact files for the artifact-browser tests: nested directories, JSON, YAML, a PNG, an
SVG, CSV, parquet, HTML carrying a script, a binary file, large files past the preview caps, and
a saved scikit-learn model (an MLmodel with a signature)."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

CONFIG = {"lr": 0.01, "layers": [64, 32], "name": "café"}
BIG_TEXT_BYTES = 300 * 1024
CSV_ROWS = 250
PARQUET_ROWS = 250
SCRIPT_MARKER = "script did not run"


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    """A real, tiny RGB PNG (red pixels)."""
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def write_tree(root: Path) -> Path:
    """The files under ``root`` (returned), as a run would log them with log_artifacts."""
    (root / "config").mkdir(parents=True)
    (root / "config" / "params.json").write_text(json.dumps(CONFIG, ensure_ascii=False))
    (root / "config" / "broken.json").write_text('{"unclosed": ')
    (root / "config" / "settings.yaml").write_text("optimizer: adam\nschedule:\n  warmup: 100\n")
    (root / "data" / "nested" / "deeper").mkdir(parents=True)
    lines = ["step,loss,label"] + [f"{i},{1 / (i + 1):.6f},row-{i}" for i in range(CSV_ROWS)]
    (root / "data" / "metrics.csv").write_text("\n".join(lines) + "\n")
    (root / "data" / "nested" / "deeper" / "notes.txt").write_text("deep notes\n")
    (root / "data" / "frame.parquet").write_bytes(parquet_bytes())
    (root / "plots").mkdir()
    (root / "plots" / "curve.png").write_bytes(png_bytes())
    (root / "plots" / "shape.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>parent.svgRan = 1</script>'
        '<rect width="10" height="10" fill="blue"/></svg>'
    )
    (root / "report.html").write_text(
        "<html><head><title>report</title></head><body>"
        f'<p id="marker">{SCRIPT_MARKER}</p>'
        "<script>document.getElementById('marker').textContent = 'script ran';"
        "try { window.parent.document.title = 'pwned'; } catch (e) {}"
        "try { window.parent.artifactScriptRan = true; } catch (e) {}</script>"
        "</body></html>"
    )
    (root / "weights.bin").write_bytes(bytes(range(256)) * 8)
    (root / "big.log").write_text(("x" * 99 + "\n") * (BIG_TEXT_BYTES // 100))
    return root


def parquet_bytes() -> bytes:
    import io

    import pandas as pd

    frame = pd.DataFrame({"id": range(PARQUET_ROWS), "score": [i / 10 for i in range(PARQUET_ROWS)],
                          "tag": [f"t{i}" for i in range(PARQUET_ROWS)]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def save_sklearn_model(path: Path) -> Path:
    """A fitted LogisticRegression saved with a signature inferred from a named-column example."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from trackflow.models.flavors import sklearn as sk_flavor

    X = pd.DataFrame({"sepal_length": [5.1, 6.2, 4.9, 6.9], "petal_width": [0.2, 1.8, 0.1, 2.1]})
    y = [0, 1, 0, 1]
    sk_flavor.save_model(LogisticRegression().fit(X, y), path, input_example=X[:2])
    return path


def log_sklearn_model(server: str, run_id: str, name: str = "classifier") -> str:
    """``trackflow.sklearn.log_model`` into ``run_id`` on ``server`` (MLflow 3 style: the files go to
    the logged model's own location); returns the logged model's id. The fluent state is restored."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from trackflow.models.flavors import sklearn as sk_flavor
    from trackflow.tracking import fluent

    X = pd.DataFrame({"sepal_length": [5.1, 6.2, 4.9, 6.9], "petal_width": [0.2, 1.8, 0.1, 2.1]})
    saved = dict(fluent._state)
    fluent.set_tracking_uri(server)
    try:
        info = sk_flavor.log_model(LogisticRegression().fit(X, [0, 1, 0, 1]), name=name, input_example=X[:2],
                                   run_id=run_id)
    finally:
        fluent._state.clear()
        fluent._state.update(saved)
    return str(info.model_id)
