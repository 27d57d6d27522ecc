"""`dental discover`: a plan per table from information_schema in a constant number of queries,
written to an editable file whose edits survive the next discover."""

from __future__ import annotations

from pathlib import Path

import pymysql
import pytest
import yaml

from dental_etl.errors import ConfigError
from dental_etl.settings import MySQLSource, SyncSettings
from dental_etl.sync.discovered import read_catalogue
from dental_etl.sync.plan import Strategy
from dental_etl.sync.table_config import discover, read_table_config
from tests.integration.sync.helpers import mysql_execute

STAMP = "timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp()"
SOURCE_TABLES = (
    f"CREATE TABLE patient (PatNum bigint PRIMARY KEY, LName varchar(100) NOT NULL, DateTStamp {STAMP})",
    f"CREATE TABLE procedurelog (ProcNum bigint PRIMARY KEY, ProcDate date NOT NULL, DateTStamp {STAMP})",
    "CREATE TABLE definition (DefNum bigint PRIMARY KEY, ItemName varchar(255) NOT NULL)",
    "CREATE TABLE securitylog (SecurityLogNum bigint PRIMARY KEY AUTO_INCREMENT, Perm int NOT NULL)"
    " ENGINE=MyISAM",
    "INSERT INTO securitylog (Perm) SELECT seq FROM seq_1_to_50",
    "CREATE TABLE loose (Code varchar(5) NOT NULL)",
    f"CREATE TABLE pair (A bigint NOT NULL, B int NOT NULL, SecDateTEdit {STAMP}, PRIMARY KEY (A, B))",
    "CREATE TABLE appstamped (Id bigint PRIMARY KEY, SecDateTEdit datetime NOT NULL)",
    f"CREATE TABLE twostamps (Id bigint PRIMARY KEY, Other {STAMP}, DateTStamp {STAMP})",
)


def test_default_plans_follow_keys_stamps_and_size(source: MySQLSource, tmp_path: Path) -> None:
    mysql_execute(source, *SOURCE_TABLES)
    report = discover(source, SyncSettings(full_reload_max_rows=10), tmp_path / "tables.yaml")
    plans = report.tables
    assert sorted(plans) == sorted(
        ["patient", "procedurelog", "definition", "securitylog", "loose", "pair", "appstamped", "twostamps"]
    )
    summary = {
        name: (p.strategy, p.primary_key, p.change_column, p.lookback_column, p.deletes)
        for name, p in plans.items()
    }
    assert summary == {
        "patient": (
            Strategy.INCREMENTAL,
            "PatNum",
            "DateTStamp",
            None,
            False,
        ),  # OD never hard-deletes patients
        "procedurelog": (Strategy.INCREMENTAL, "ProcNum", "DateTStamp", "ProcDate", False),
        "definition": (Strategy.FULL, "DefNum", None, None, True),
        "securitylog": (Strategy.APPEND, "SecurityLogNum", None, None, True),
        "loose": (Strategy.FULL, None, None, None, True),
        "pair": (Strategy.INCREMENTAL, ["A", "B"], "SecDateTEdit", None, True),
        "appstamped": (Strategy.INCREMENTAL, "Id", "SecDateTEdit", None, True),
        "twostamps": (Strategy.INCREMENTAL, "Id", "DateTStamp", None, True),
    }
    assert plans["securitylog"].rows == 50 and plans["securitylog"].engine == "MyISAM"


def test_rediscover_keeps_edits_refreshes_facts_and_reports_changes(
    source: MySQLSource, tmp_path: Path
) -> None:
    mysql_execute(source, *SOURCE_TABLES)
    path = tmp_path / "tables.yaml"
    discover(source, SyncSettings(), path)
    data = yaml.safe_load(path.read_text())
    data["tables"]["procedurelog"].update(strategy="full", chunk_rows=1234)
    path.write_text(yaml.safe_dump(data))
    mysql_execute(
        source,
        "DROP TABLE definition",
        "CREATE TABLE newcomer (Id bigint PRIMARY KEY)",
        "INSERT INTO securitylog (Perm) SELECT seq FROM seq_1_to_25",
    )
    report = discover(source, SyncSettings(), path)
    assert (report.added, report.removed) == (["newcomer"], ["definition"])
    kept = read_table_config(path)
    assert kept is not None
    assert (kept.tables["procedurelog"].strategy, kept.tables["procedurelog"].chunk_rows) == (
        Strategy.FULL,
        1234,
    )
    assert kept.tables["securitylog"].rows == 75
    assert "definition" not in kept.tables


def test_catalogue_is_read_in_a_constant_number_of_queries(
    source: MySQLSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    mysql_execute(source, *(f"CREATE TABLE t{i} (Id bigint PRIMARY KEY, V int NOT NULL)" for i in range(60)))
    statements: list[str] = []
    original = pymysql.cursors.Cursor.execute

    def counting(self: pymysql.cursors.Cursor, query: str, args: object = None) -> int:
        statements.append(query)
        return original(self, query, args)

    monkeypatch.setattr(pymysql.cursors.Cursor, "execute", counting)
    catalogue = read_catalogue(source)
    assert len(catalogue.tables) == 60
    assert len(statements) == 5  # time zone, clock, tables, columns, primary keys


def test_a_broken_table_config_is_named(tmp_path: Path) -> None:
    path = tmp_path / "tables.yaml"
    path.write_text("tables:\n  patient:\n    strategy: sometimes\n")
    with pytest.raises(ConfigError, match=f"{path} is not a valid table config"):
        read_table_config(path)
