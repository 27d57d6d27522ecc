from pathlib import Path

import pytest

from dental_etl.errors import ConfigError
from dental_etl.settings import DuckDBWarehouse, MySQLSource, PostgresWarehouse, load_settings

PROJECT_DIR = Path(__file__).resolve().parents[2]


def test_defaults_point_at_embedded_duckdb_and_local_opendental(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DENTAL_GATEWAY", "DENTAL_DUCKDB_PATH", "DENTAL_SOURCE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(PROJECT_DIR)
    assert settings.gateway == "duckdb"
    assert isinstance(settings.warehouse, DuckDBWarehouse)
    assert settings.warehouse.database == str(PROJECT_DIR / "data/warehouse.duckdb")
    assert settings.source == MySQLSource(
        host="127.0.0.1", port=3306, user="root", password="", database="opendental"
    )


def test_environment_overrides_gateway_and_postgres_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DENTAL_GATEWAY", "postgres")
    monkeypatch.setenv("DENTAL_PG_PORT", "6543")
    monkeypatch.setenv("DENTAL_PG_DATABASE", "practice")
    settings = load_settings(PROJECT_DIR)
    assert settings.warehouse == PostgresWarehouse(port=6543, database="practice")
    assert settings.warehouse.url == "postgresql://postgres@127.0.0.1:6543/practice"


def test_source_url_round_trips_with_escaped_password() -> None:
    source = MySQLSource.from_url("mysql://od%40user:p%3Ass@db.example:3307/opendental")
    assert (source.user, source.password, source.host, source.port) == ("od@user", "p:ss", "db.example", 3307)
    assert MySQLSource.from_url(source.url) == source
    assert "p:ss" not in source.display


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://x@h/db", "must start with mysql://"),
        ("mysql://root@127.0.0.1:3306", "names no database"),
    ],
)
def test_bad_source_url_is_named(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        MySQLSource.from_url(url)


def test_unknown_gateway_lists_known_ones() -> None:
    with pytest.raises(ConfigError, match="known: duckdb, postgres"):
        load_settings(PROJECT_DIR, gateway="snowflake")
