"""Typed settings, read in exactly one place: `config.yaml` (rendered with env_var) + environment.

`config.yaml` is SQLMesh's project file. SQLMesh refuses unknown top-level keys, so the loader's
own settings live under `variables.dental`; the warehouse is whichever SQLMesh gateway is selected
(`DENTAL_GATEWAY`, default `duckdb`), so the loader writes exactly where the models read.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, unquote, urlsplit

import msgspec
import yaml

from dental_etl.errors import ConfigError

CONFIG_FILE = "config.yaml"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10x faster


class MySQLSource(msgspec.Struct, frozen=True):
    """Where the OpenDental database lives."""

    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "root"
    password: str = ""
    database: str = "opendental"

    @classmethod
    def from_url(cls, url: str) -> MySQLSource:
        parts = urlsplit(url)
        if parts.scheme not in {"mysql", "mariadb"}:
            raise ConfigError(f"source URL must start with mysql:// (got {parts.scheme or 'no scheme'!r})")
        database = parts.path.lstrip("/")
        if not database:
            raise ConfigError("source URL names no database: use mysql://user:password@host:3306/opendental")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            database=database,
        )

    def with_database(self, database: str) -> MySQLSource:
        return msgspec.structs.replace(self, database=database)

    @property
    def url(self) -> str:
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        return f"mysql://{auth}@{self.host}:{self.port}/{self.database}"

    @property
    def display(self) -> str:
        """The URL without the password, for messages and logs."""
        return f"mysql://{self.user}@{self.host}:{self.port}/{self.database}"


class DuckDBWarehouse(
    msgspec.Struct, frozen=True, tag="duckdb", tag_field="type", forbid_unknown_fields=False
):
    """The embedded default: one DuckDB file."""

    database: str = "data/warehouse.duckdb"

    @property
    def url(self) -> str:
        return f"duckdb:///{self.database}"

    @property
    def display(self) -> str:
        return self.url


class PostgresWarehouse(
    msgspec.Struct, frozen=True, tag="postgres", tag_field="type", forbid_unknown_fields=False
):
    """The production warehouse."""

    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str = ""
    database: str = "dental"

    @property
    def url(self) -> str:
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        return f"postgresql://{auth}@{self.host}:{self.port}/{self.database}"

    @property
    def display(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"


class Gateway(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    connection: DuckDBWarehouse | PostgresWarehouse


class SyncSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The loader's knobs (`variables.dental.sync` in config.yaml); every one has a safe default.

    - table_config: the editable per-table plan `dental discover` writes (relative to the project).
    - workers: tables copied at once; 0 = one per CPU core.
    - lag_seconds: incremental reads start this long before the last watermark, so a transaction
      that stamped its rows earlier but committed after the last read is still picked up.
    - lookback_days: tables with a `lookback_column` in the table config also re-read every row
      whose business date lies in the last N days (OpenDental edits that do not bump the stamp).
    - lookback_every_hours: how often that window is re-read (it scans the table when the business
      date has no index); 0 = on every sync.
    - delete_guard_share / delete_guard_min_rows: refuse (without --force) to delete more than this
      share of a table's rows, once more than `delete_guard_min_rows` rows would go.
    - full_reload_max_rows: a table without a change column is reloaded whole when at most this big;
      a larger one is synced append-only by primary key (new rows + deletes; edits need --full).
    - chunk_bytes: target source bytes per extracted chunk; bounds memory whatever the table size.
    - retries / retry_backoff_seconds: a table hit by a transient connection error is retried with
      exponential backoff (1x, 2x, 4x ... the base).
    - skip_unchanged: skip tables whose MySQL `UPDATE_TIME` is older than their last read.
    - duckdb_memory_limit: DuckDB's buffer limit while loading (keeps peak memory bounded).
    """

    table_config: str = "dental_tables.yaml"
    workers: Annotated[int, msgspec.Meta(ge=0, le=64)] = 0
    lag_seconds: Annotated[int, msgspec.Meta(ge=0)] = 300
    lookback_days: Annotated[int, msgspec.Meta(ge=0)] = 7
    lookback_every_hours: Annotated[float, msgspec.Meta(ge=0)] = 24
    delete_guard_share: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.2
    delete_guard_min_rows: Annotated[int, msgspec.Meta(ge=0)] = 100
    full_reload_max_rows: Annotated[int, msgspec.Meta(ge=0)] = 20_000
    chunk_bytes: Annotated[int, msgspec.Meta(ge=1 << 16)] = 48 << 20
    retries: Annotated[int, msgspec.Meta(ge=0, le=10)] = 3
    retry_backoff_seconds: Annotated[float, msgspec.Meta(ge=0)] = 1.0
    skip_unchanged: bool = True
    duckdb_memory_limit: str = "1GB"

    @property
    def worker_count(self) -> int:
        return self.workers or os.cpu_count() or 1


class DentalVariables(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    source_url: str = "mysql://root@127.0.0.1:3306/opendental"
    sync: SyncSettings = SyncSettings()


class _Variables(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    dental: DentalVariables = DentalVariables()


class _ProjectConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    gateways: dict[str, Gateway]
    default_gateway: str = "duckdb"
    variables: _Variables = _Variables()


class Settings(msgspec.Struct, frozen=True):
    """Everything the CLI needs to know about where data comes from and goes to."""

    project_dir: Path
    source: MySQLSource
    gateway: str
    warehouse: DuckDBWarehouse | PostgresWarehouse
    sync: SyncSettings = SyncSettings()

    @property
    def table_config_path(self) -> Path:
        path = Path(self.sync.table_config)
        return path if path.is_absolute() else self.project_dir / path

    def with_gateway(self, gateway: str) -> Settings:
        config = _read_project_config(self.project_dir)
        return msgspec.structs.replace(
            self, gateway=gateway, warehouse=_warehouse_for(config, gateway, self.project_dir)
        )

    def with_source_url(self, url: str) -> Settings:
        return msgspec.structs.replace(self, source=MySQLSource.from_url(url))


_ENV_VAR = re.compile(r"\{\{\s*env_var\(\s*'([^'{}]*)'\s*(?:,\s*'([^'{}]*)'\s*)?\)\s*\}\}")


def _render(text: str) -> str:
    """The file rendered as SQLMesh renders it (jinja2, with `env_var`). A file whose only
    templates are `{{ env_var('NAME', 'default') }}` — the project's own — is rendered without
    loading jinja2, a tenth of a second of every `dental` command; anything else goes to jinja2."""
    simple = _ENV_VAR.sub(lambda m: str(os.environ.get(m[1], m[2])), text)
    if not any(mark in simple for mark in ("{{", "{%", "{#")):
        return simple
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.globals["env_var"] = lambda name, default=None: os.environ.get(name, default)
    try:
        return env.from_string(text).render()
    except jinja2.TemplateError as exc:
        raise ConfigError(f"{exc}") from exc


def _read_project_config(project_dir: Path) -> _ProjectConfig:
    path = project_dir / CONFIG_FILE
    if not path.is_file():
        raise ConfigError(f"{path} not found: run dental from the project folder or pass --project-dir")
    try:
        data = yaml.load(_render(path.read_text()), Loader=_YAML_LOADER)
        return msgspec.convert(data, type=_ProjectConfig)
    except (yaml.YAMLError, ConfigError, msgspec.ValidationError) as exc:
        raise ConfigError(f"{path} is not valid: {exc}") from exc


def _warehouse_for(
    config: _ProjectConfig, gateway: str, project_dir: Path
) -> DuckDBWarehouse | PostgresWarehouse:
    try:
        connection = config.gateways[gateway].connection
    except KeyError:
        known = ", ".join(sorted(config.gateways))
        raise ConfigError(f"no gateway {gateway!r} in {CONFIG_FILE} (known: {known})") from None
    if isinstance(connection, DuckDBWarehouse) and not Path(connection.database).is_absolute():
        connection = DuckDBWarehouse(database=str(project_dir / connection.database))
    return connection


def find_project_dir(start: Path | None = None) -> Path:
    """The nearest folder holding config.yaml, from `start` (default: cwd) upwards."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    return here


def load_settings(project_dir: Path | None = None, gateway: str | None = None) -> Settings:
    """Read config.yaml (with environment overrides) into typed settings."""
    folder = (project_dir or find_project_dir()).resolve()
    config = _read_project_config(folder)
    chosen = gateway or config.default_gateway
    return Settings(
        project_dir=folder,
        source=MySQLSource.from_url(config.variables.dental.source_url),
        gateway=chosen,
        warehouse=_warehouse_for(config, chosen, folder),
        sync=config.variables.dental.sync,
    )
