"""Settings: read once at the edge, validated, passed down.

Precedence, highest first: CLI flags, environment variables, the config file
(``$TRACKFLOW_HOME/config.toml`` or the file named by ``TRACKFLOW_CONFIG``), defaults.
Nothing else in trackflow reads ``os.environ`` for its own settings.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from trackflow.errors import InvalidInput

# setting name -> environment variable
ENV_VARS: dict[str, str] = {
    "home": "TRACKFLOW_HOME",
    "tracking_uri": "TRACKFLOW_TRACKING_URI",
    "artifacts_destination": "TRACKFLOW_ARTIFACTS_DESTINATION",
    "dags_folder": "TRACKFLOW_DAGS_FOLDER",
    "host": "TRACKFLOW_HOST",
    "port": "TRACKFLOW_PORT",
    "parallelism": "TRACKFLOW_PARALLELISM",
    "executor": "TRACKFLOW_EXECUTOR",
    "celery_broker_url": "TRACKFLOW_CELERY_BROKER_URL",
    "celery_result_backend": "TRACKFLOW_CELERY_RESULT_BACKEND",
    "server_url": "TRACKFLOW_SERVER_URL",
    "heartbeat_interval": "TRACKFLOW_HEARTBEAT_INTERVAL",
    "heartbeat_timeout": "TRACKFLOW_HEARTBEAT_TIMEOUT",
    "queued_timeout": "TRACKFLOW_QUEUED_TIMEOUT",
    "airflow_imports": "TRACKFLOW_AIRFLOW_IMPORTS",
    "auth": "TRACKFLOW_AUTH",
    "auth_default_permission": "TRACKFLOW_AUTH_DEFAULT_PERMISSION",
    "tracking_token": "TRACKFLOW_TRACKING_TOKEN",
    "serving_token": "TRACKFLOW_SERVING_TOKEN",
    "fernet_key": "TRACKFLOW_FERNET_KEY",
    "session_secret": "TRACKFLOW_SESSION_SECRET",
    "session_hours": "TRACKFLOW_SESSION_HOURS",
    "session_cookie_secure": "TRACKFLOW_SESSION_COOKIE_SECURE",
    "max_upload_mb": "TRACKFLOW_MAX_UPLOAD_MB",
    "login_max_failures": "TRACKFLOW_LOGIN_MAX_FAILURES",
    "login_failure_window": "TRACKFLOW_LOGIN_FAILURE_WINDOW",
    "oidc_issuer": "TRACKFLOW_OIDC_ISSUER",
    "oidc_client_id": "TRACKFLOW_OIDC_CLIENT_ID",
    "oidc_client_secret": "TRACKFLOW_OIDC_CLIENT_SECRET",
    "oidc_scopes": "TRACKFLOW_OIDC_SCOPES",
    "oidc_provider_name": "TRACKFLOW_OIDC_PROVIDER_NAME",
    "oidc_username_claim": "TRACKFLOW_OIDC_USERNAME_CLAIM",
    "oidc_create_users": "TRACKFLOW_OIDC_CREATE_USERS",
}

EXECUTORS = ("local", "celery")
PERMISSION_LEVELS = ("READ", "EDIT", "MANAGE", "NO_PERMISSIONS")
OIDC_USERNAME_CLAIMS = ("preferred_username", "email", "sub")


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Empty strings mean "derive from home"."""

    home: str = ""
    tracking_uri: str = ""
    artifacts_destination: str = ""
    dags_folder: str = ""
    host: str = "127.0.0.1"
    port: int = 5000
    parallelism: int = 8
    executor: str = "local"  # local | celery
    celery_broker_url: str = "redis://127.0.0.1:6379/0"
    celery_result_backend: str = ""  # the broker itself when it is Redis, else "rpc://"
    server_url: str = ""  # where workers reach this server's task API; from host and port if empty
    heartbeat_interval: float = 5.0  # seconds between a running try's heartbeats
    heartbeat_timeout: float = 60.0  # a running try silent this long died: retried or failed
    queued_timeout: float = 120.0  # a try queued this long never started: queued again
    airflow_imports: bool = False  # DAG files' airflow.* imports resolve to trackflow (see airflow_shim)
    auth: bool = False  # the server requires a user (Basic) or an API token (Bearer) on every request
    # what a user may do with an object no grant names them (or their groups) on: MLflow's default_permission
    auth_default_permission: str = "READ"  # READ | EDIT | MANAGE | NO_PERMISSIONS
    tracking_token: str = ""  # the API token trackflow's clients send to a server with auth on
    serving_token: str = ""  # the token `models serve --require-token` asks of callers
    fernet_key: str = ""  # encrypts Variables at rest; empty: a key generated into $TRACKFLOW_HOME/fernet.key
    session_secret: str = ""  # signs the UI's session cookies; empty: a key generated into $TRACKFLOW_HOME/session.key
    session_hours: float = 12.0  # a UI session (auth on) ends this long after sign-in
    # always mark the session cookie Secure (behind a TLS proxy); on https requests it is anyway
    session_cookie_secure: bool = False
    # the largest request body the server accepts (an artifact upload included): 413 above it
    max_upload_mb: float = 5120.0
    # failed sign-ins allowed per username and per client address within the window (seconds),
    # counted in the database: one limit for every server process
    login_max_failures: int = 10
    login_failure_window: float = 300.0
    # sign-in with an OpenID Connect provider (authorization code + PKCE); off while the issuer is empty
    oidc_issuer: str = ""  # e.g. https://accounts.example.com (its /.well-known/openid-configuration is read)
    oidc_client_id: str = ""
    oidc_client_secret: str = ""  # empty: a public client (PKCE only)
    oidc_scopes: str = "openid email profile"
    oidc_provider_name: str = "OIDC"  # the login page shows "Sign in with <this>"
    oidc_username_claim: str = "preferred_username"  # preferred_username | email | sub
    oidc_create_users: bool = False  # make a (non-admin) user on first sign-in; else only pre-created users

    @property
    def home_path(self) -> Path:
        return Path(self.home or Path.home() / ".trackflow").expanduser()

    @property
    def resolved_tracking_uri(self) -> str:
        return self.tracking_uri or f"sqlite:///{self.home_path / 'trackflow.db'}"

    @property
    def resolved_artifacts_destination(self) -> str:
        return self.artifacts_destination or str(self.home_path / "artifacts")

    @property
    def resolved_dags_folder(self) -> str:
        return self.dags_folder or str(self.home_path / "dags")

    @property
    def resolved_celery_result_backend(self) -> str:
        if self.celery_result_backend:
            return self.celery_result_backend
        return self.celery_broker_url if self.celery_broker_url.startswith(("redis://", "rediss://")) else "rpc://"

    @property
    def resolved_server_url(self) -> str:
        if self.server_url:
            return self.server_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host  # a bind-all address
        return f"http://{host}:{self.port}"

    def to_environ(self) -> dict[str, str]:
        """These settings as environment variables, so processes started from here (task
        processes, workers) see the same tracking URI and artifact destination."""
        out = {}
        for name, var in ENV_VARS.items():
            value = getattr(self, name)
            if value not in ("", None):
                out[var] = str(value)
        return out

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the given (non-None) values, validated."""
        clean = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, **_coerce(clean, source="flag"))


def _coerce(values: Mapping[str, Any], source: str) -> dict[str, Any]:
    known = {f.name: f.type for f in fields(Settings)}
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise InvalidInput(f"unknown setting {key!r} in {source}")
        if known[key] == "int":
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise InvalidInput(f"setting {key!r} from {source} must be an integer, got {value!r}") from None
            if number <= 0 or (key == "port" and number > 65535):
                raise InvalidInput(f"setting {key!r} from {source} is out of range: {number}")
            out[key] = number
        elif known[key] == "bool":
            text = str(value).strip().lower()
            if text not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise InvalidInput(f"setting {key!r} from {source} must be true or false, got {value!r}")
            out[key] = text in ("1", "true", "yes", "on")
        elif known[key] == "float":
            try:
                seconds = float(value)
            except (TypeError, ValueError):
                raise InvalidInput(f"setting {key!r} from {source} must be a number, got {value!r}") from None
            if not 0 < seconds < 1e7:
                raise InvalidInput(f"setting {key!r} from {source} is out of range: {seconds:g}")
            out[key] = seconds
        elif key == "auth_default_permission" and str(value) not in PERMISSION_LEVELS:
            raise InvalidInput(f"setting 'auth_default_permission' from {source} must be one of "
                               f"{', '.join(PERMISSION_LEVELS)}, got {value!r}")
        elif key == "oidc_username_claim" and str(value) not in OIDC_USERNAME_CLAIMS:
            raise InvalidInput(f"setting 'oidc_username_claim' from {source} must be one of "
                               f"{', '.join(OIDC_USERNAME_CLAIMS)}, got {value!r}")
        elif key == "oidc_issuer" and value and not str(value).startswith(("https://", "http://")):
            raise InvalidInput(f"setting 'oidc_issuer' from {source} must be an http(s) URL, got {value!r}")
        elif key == "executor" and str(value) not in EXECUTORS:
            raise InvalidInput(f"setting 'executor' from {source} must be one of {', '.join(EXECUTORS)}, got {value!r}")
        else:
            out[key] = str(value)
    return out


def load_settings(environ: Mapping[str, str] | None = None, **flags: Any) -> Settings:
    """Build Settings from the config file, then env vars, then CLI flags."""
    env = os.environ if environ is None else environ
    home = flags.get("home") or env.get("TRACKFLOW_HOME") or ""
    config_path = Path(env.get("TRACKFLOW_CONFIG") or Path(home or Path.home() / ".trackflow") / "config.toml")
    values: dict[str, Any] = {}
    if config_path.expanduser().is_file():
        try:
            file_values = tomllib.loads(config_path.expanduser().read_text())
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInput(f"config file {config_path} is not valid TOML: {exc}") from None
        values.update(_coerce(file_values.get("trackflow", file_values), source=str(config_path)))
    for name, var in ENV_VARS.items():
        if env.get(var):
            values.update(_coerce({name: env[var]}, source=var))
    return Settings(**values).with_overrides(**flags)
