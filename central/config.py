"""The province's central configuration (one TOML file for `motcua central`).

Like an office config, every model forbids unknown keys and errors name file, line and field.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge.config import ConfigError, ConfigIssue
from edge.config.locate import format_path, line_map, locate


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CentralBroker(Strict):
    host: str = Field("127.0.0.1", description="The province broker (one node of the cluster)")
    port: int = Field(1883, ge=1, le=65535, description="Its MQTT port")
    username: str | None = Field(None, description="User of `motcua central` on the province broker")
    password_file: str | None = Field(None, description="File holding that user's password (mode 0600)")
    client_id: str = Field("motcua-central", pattern=r"^[A-Za-z0-9._-]{1,64}$",
                           description="Fixed client id: the broker keeps its session (and unacknowledged events) across restarts")
    tls: bool = Field(False, description="Connect with TLS")
    ca_file: str | None = Field(None, description="CA bundle for TLS")
    keepalive_s: int = Field(30, ge=5, le=600, description="MQTT keepalive")


class Database(Strict):
    dsn: str = Field("dbname=motcua_central", description="libpq connection string of the central PostgreSQL")
    password_file: str | None = Field(None, description="File holding the database password, when the DSN has none")
    batch_max: int = Field(500, ge=1, le=20000, description="Most events written in one transaction")
    batch_wait_ms: int = Field(50, ge=0, le=5000, description="Longest wait to fill a batch")


class CentralWeb(Strict):
    bind: str = Field("127.0.0.1", description="Address the province page listens on (the province LAN address)")
    port: int = Field(8090, ge=0, le=65535, description="Its port (0: any free port)")
    data_dir: str = Field("/var/lib/motcua/central", description="Folder of the page's staff accounts and session key")
    tls_cert: str | None = Field(None, description="PEM certificate for HTTPS")
    tls_key: str | None = Field(None, description="PEM key for HTTPS")
    login_attempts_per_min: int = Field(10, ge=1, le=1000, description="Sign-in attempts allowed per address per minute")


class OfficeEntry(Strict):
    id: str = Field(description="Office id (agency code), as in the office's config")
    name: str = Field(description="Office name shown on the province's pages")


class CentralConfig(Strict):
    province: str = Field(min_length=1, description="Province name, e.g. Tỉnh Hưng Yên")
    broker: CentralBroker = Field(default_factory=CentralBroker, description="The province broker")
    database: Database = Field(default_factory=Database, description="The central store")
    web: CentralWeb = Field(default_factory=CentralWeb, description="The province's page (`motcua central-web`)")
    offices: list[OfficeEntry] = Field(default_factory=list,
                                       description="Offices expected to report (others are recorded when they appear)")
    stale_after_s: int = Field(120, ge=10, description="An office whose bridge is down, or silent this long, counts as unreachable")


def load(path: str | Path) -> CentralConfig:
    """Load and validate; ConfigError with file:line: field: message."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([ConfigIssue(str(path), None, "(file)", str(exc))]) from None
    try:
        return CentralConfig.model_validate(data)
    except ValidationError as exc:
        lines = line_map(text)
        issues = []
        for e in exc.errors():
            line, clean = locate(lines, tuple(e["loc"]), {})
            issues.append(ConfigIssue(str(path), line, format_path(clean), e["msg"].removeprefix("Value error, ")))
        raise ConfigError(issues) from None
