"""`trackflow models serve|predict`: the scoring server and batch scoring.

Heavy imports (pandas, the model's library, uvicorn) happen inside the commands so that
`trackflow --help` stays fast and the server answers /ping soon after launch.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from trackflow.config import Settings


@click.group()
def models() -> None:
    """Serve models and score files with them."""


@models.command("serve")
@click.option(
    "-m", "--model-uri", required=True, help="runs:/<run_id>/<path>, models:/<name>/<version|@alias>, or a path."
)
@click.option("-h", "--host", default="127.0.0.1", show_default=True)
@click.option("-p", "--port", type=click.IntRange(0, 65535), default=5001, show_default=True)
@click.option("-w", "--workers", type=click.IntRange(1, 256), default=1, show_default=True)
@click.option("--max-body-mb", type=click.FloatRange(0.001, 4096), default=50.0, show_default=True,
              help="Larger request bodies are refused with 400.")
@click.option("--log-inferences/--no-log-inferences", default=False, show_default=True,
              help="Log sampled requests and predictions to the inference log in the tracking database.")
@click.option("--sample-rate", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True,
              help="Fraction of requests logged when --log-inferences is on.")
@click.option("--env-manager", type=click.Choice(["local"]), default="local",
              help="Accepted for MLflow compatibility; models are served in the current environment.")
@click.option("--require-token", is_flag=True,
              help="Require the token in TRACKFLOW_SERVING_TOKEN as Bearer on /invocations and /metrics.")
@click.pass_obj
def serve(
    settings: Settings,
    model_uri: str,
    host: str,
    port: int,
    workers: int,
    max_body_mb: float,
    log_inferences: bool,
    sample_rate: float,
    env_manager: str,
    require_token: bool,
) -> None:
    """Serve a model over HTTP: POST /invocations, GET /ping, /health, /version, /metrics."""
    from trackflow.models.uri import download_model
    from trackflow.serving.server import ServeOptions
    from trackflow.serving.server import serve as run_server
    from trackflow.serving.tokens import token_sha256

    if require_token and len(settings.serving_token) < 16:
        raise click.UsageError("--require-token needs TRACKFLOW_SERVING_TOKEN (or serving_token) of at least 16 "
                               "characters")
    tracking_uri = settings.resolved_tracking_uri
    model_dir = download_model(model_uri, tracking_uri=tracking_uri)
    inference_uri = None
    if log_inferences:
        if tracking_uri.startswith(("http://", "https://")):
            raise click.UsageError("--log-inferences needs a database tracking URI (sqlite:/// or postgresql://)")
        inference_uri = tracking_uri
    click.echo(f"serving {model_uri} on http://{host}:{port} ({workers} worker{'s' if workers > 1 else ''})", err=True)
    run_server(
        ServeOptions(
            model_dir=str(model_dir),
            model_uri=model_uri,
            host=host,
            port=port,
            workers=workers,
            max_body_bytes=int(max_body_mb * 1024 * 1024),
            inference_log_uri=inference_uri,
            sample_rate=sample_rate,
            token_sha256=token_sha256(settings.serving_token) if require_token else None,
        )
    )


@models.command("predict")
@click.option("-m", "--model-uri", required=True, help="runs:/..., models:/..., or a path.")
@click.option("-i", "--input-path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="A .csv, .json or .parquet file.")
@click.option("-o", "--output-path", type=click.Path(dir_okay=False),
              help="Where predictions go (.json, .csv or .parquet); stdout (JSON) by default.")
@click.option("-t", "--content-type", type=click.Choice(["csv", "json", "parquet"]),
              help="Input format when the file extension does not tell.")
@click.pass_obj
def predict(
    settings: Settings, model_uri: str, input_path: str, output_path: str | None, content_type: str | None
) -> None:
    """Score a file with a model (batch inference)."""
    from trackflow.serving.batch import predict_file

    text = predict_file(model_uri, Path(input_path), Path(output_path) if output_path else None,
                        content_type, tracking_uri=settings.resolved_tracking_uri)
    if text is not None:
        sys.stdout.write(text + "\n")
