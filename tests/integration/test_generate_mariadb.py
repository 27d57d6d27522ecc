"""`dental generate` against the real MariaDB: DDL, codes, integrity, ledger, determinism,
`--changes`, and bad input. Practices are small (a few hundred patients) to keep this quick."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

import pymysql
import pytest

from dental_etl.errors import RefusedToOverwrite, SourceUnreachable
from dental_etl.mysql import connect
from dental_etl.opendental.schema import load_schema
from dental_etl.settings import MySQLSource
from dental_etl.synthetic import GeneratorConfig, apply_changes, generate_practice, write_to_mariadb
from tests.integration.synthetic_oracle import family_balances

pytestmark = pytest.mark.mariadb

TODAY = date(2025, 6, 30)
PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@contextmanager
def fresh_database(server: MySQLSource, create: bool = True) -> Iterator[MySQLSource]:
    name = f"dtest_{uuid.uuid4().hex[:10]}"
    conn = connect(server, database=False)
    try:
        with conn.cursor() as cur:
            if create:
                cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb3")
        yield server.with_database(name)
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


@pytest.fixture(scope="module")
def generated(mysql_server):
    practice = generate_practice(GeneratorConfig(seed=11, patients=250, today=TODAY))
    with fresh_database(mysql_server) as source:
        write_to_mariadb(practice, source)
        yield practice, source


@pytest.fixture
def cur(generated):
    conn = connect(generated[1])
    with conn.cursor() as c:
        c.execute("SET SESSION time_zone = '+00:00'")
        yield c
    conn.close()


def _normal_default(col) -> tuple[str | None, str]:
    """What information_schema shows for the schema's default: (COLUMN_DEFAULT, EXTRA)."""
    if col.auto_increment:
        return None, "auto_increment"
    if col.is_timestamp:
        return "current_timestamp()", "on update current_timestamp()"
    if col.is_text:
        return None, ""
    return col.default, ""


def test_ddl_matches_schema_column_for_column(generated, cur):
    source = generated[1]
    for spec in load_schema():
        cur.execute(
            "SELECT COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA "
            "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
            "ORDER BY ORDINAL_POSITION",
            (source.database, spec.name),
        )
        live = cur.fetchall()
        assert [r[0] for r in live] == spec.column_names, spec.name
        for (name, _, column_type, nullable, default, extra), col in zip(live, spec.columns, strict=True):
            assert column_type == col.mysql_type, (spec.name, name)
            assert nullable == "NO", (spec.name, name)
            assert (default, extra) == _normal_default(col), (spec.name, name)
        cur.execute(f"SELECT COUNT(*) FROM `{spec.name}`")
        assert cur.fetchone()[0] == generated[0].tables[spec.name].height


def test_codes_stay_within_opendental_enums(cur):
    checked = 0
    for spec in load_schema():
        for col in spec.columns:
            allowed = spec.enums.get(col.name)
            if allowed is not None and col.base_type in {"varchar", "char"}:
                allowed = {name: code for code, name in allowed.items()}  # text enums hold the name
            if allowed is None and col.coded_values and col.base_type == "char":
                allowed = {k: v for k, v in col.coded_values.items() if k != "_note"}
                if not allowed:  # a free-form code
                    continue
                allowed[(col.default or "").strip("'")] = "default"
            if allowed is None:
                continue
            cur.execute(f"SELECT DISTINCT `{col.name}` FROM `{spec.name}`")
            values = {str(r[0]) for r in cur.fetchall()}
            assert values <= set(allowed), (spec.name, col.name, values - set(allowed))
            checked += 1
    assert checked > 80


def test_definition_columns_point_at_their_category(cur):
    for spec in load_schema():
        for col in spec.columns:
            if col.def_category_value is None or col.fk_list:
                continue
            cur.execute(
                f"SELECT COUNT(*) FROM `{spec.name}` t LEFT JOIN definition d ON d.DefNum = t.`{col.name}` "
                f"AND d.Category = %s WHERE t.`{col.name}` <> 0 AND d.DefNum IS NULL",
                (col.def_category_value,),
            )
            assert cur.fetchone()[0] == 0, (spec.name, col.name)
    cur.execute("SELECT BlockoutTypes FROM appointmenttype WHERE BlockoutTypes <> ''")
    cur2 = [int(x) for (v,) in cur.fetchall() for x in v.split(",")]
    cur.execute("SELECT DefNum FROM definition WHERE Category = 25")
    assert set(cur2) <= {r[0] for r in cur.fetchall()}


def _foreign_keys_hold(cur) -> None:
    schema = load_schema()
    for spec in schema:
        for col in spec.columns:
            if not col.fk or col.fk_list or col.fk_polymorphic:
                continue
            target, target_col = col.fk.split(".")
            if target not in schema.tables:
                continue
            none = "''" if col.base_type in {"varchar", "char"} else "0"
            cur.execute(
                f"SELECT COUNT(*) FROM `{spec.name}` t "
                f"LEFT JOIN `{target}` x ON x.`{target_col}` = t.`{col.name}` "
                f"WHERE t.`{col.name}` <> {none} AND x.`{target_col}` IS NULL"
            )
            assert cur.fetchone()[0] == 0, f"{spec.name}.{col.name} -> {col.fk}"


def test_referential_integrity(cur):
    _foreign_keys_hold(cur)


def _ledger_holds(cur, as_of: date) -> None:
    cur.execute(
        "SELECT COUNT(*) FROM payment p "
        "LEFT JOIN (SELECT PayNum, SUM(SplitAmt) s FROM paysplit GROUP BY PayNum) x "
        "USING (PayNum) WHERE ABS(p.PayAmt - COALESCE(x.s, 0)) > 0.005"
    )
    assert cur.fetchone()[0] == 0
    expected = family_balances(cur, as_of)
    cur.execute(
        "SELECT PatNum, Guarantor, Bal_0_30, Bal_31_60, Bal_61_90, BalOver90, BalTotal, InsEst FROM patient"
    )
    rows = cur.fetchall()
    assert any(abs(r[6]) > 0 for r in rows)
    for pat, guar, *stored in rows:
        want = expected.get(pat, (0.0,) * 6) if pat == guar else (0.0,) * 6
        assert stored == pytest.approx(list(want), abs=0.011), pat


def test_ledger_invariants(cur):
    _ledger_holds(cur, TODAY)


def test_text_dates_and_timestamps_round_trip(generated, cur):
    practice = generated[0]
    cur.execute("SELECT ProcNoteNum, Note FROM procnote ORDER BY ProcNoteNum")
    assert [r[1] for r in cur.fetchall()] == practice.tables["procnote"]["Note"].to_list()
    cur.execute("SELECT Note FROM appointment ORDER BY AptNum")
    notes = [r[0] for r in cur.fetchall()]
    assert notes == practice.tables["appointment"]["Note"].to_list()
    assert any("\\" in n for n in notes) and any('"' in n for n in notes) and any("\r\n" in n for n in notes)
    cur.execute("SELECT CAST(Birthdate AS CHAR), DateTStamp FROM patient ORDER BY PatNum")
    rows = cur.fetchall()
    births = practice.tables["patient"]["Birthdate"].to_list()
    assert [r[0] for r in rows] == [b.isoformat() if b else "0000-00-00" for b in births]
    assert "0000-00-00" in [r[0] for r in rows]
    assert [r[1] for r in rows] == practice.tables["patient"]["DateTStamp"].to_list()
    cur.execute("SELECT MAX(DateTStamp) FROM procedurelog")
    assert cur.fetchone()[0] < datetime(TODAY.year, TODAY.month, TODAY.day)


def _checksums(source: MySQLSource) -> dict[str, int]:
    conn = connect(source)
    try:
        with conn.cursor() as c:
            c.execute("CHECKSUM TABLE " + ", ".join(f"`{t.name}`" for t in load_schema()))
            return {name.split(".")[-1]: value for name, value in c.fetchall()}
    finally:
        conn.close()


def test_same_seed_same_database_other_seed_other_database(generated, mysql_server):
    with fresh_database(mysql_server) as again, fresh_database(mysql_server) as other:
        write_to_mariadb(generate_practice(GeneratorConfig(seed=11, patients=250, today=TODAY)), again)
        write_to_mariadb(generate_practice(GeneratorConfig(seed=12, patients=250, today=TODAY)), other)
        first, second, third = _checksums(generated[1]), _checksums(again), _checksums(other)
    assert first == second
    assert first["patient"] != third["patient"] and first["procedurelog"] != third["procedurelog"]


def test_changes_bump_timestamps_delete_rows_and_keep_the_ledger(mysql_server):
    practice = generate_practice(GeneratorConfig(seed=21, patients=200, today=TODAY))
    with fresh_database(mysql_server) as source:
        write_to_mariadb(practice, source)
        conn = connect(source)
        c = conn.cursor()
        c.execute("SET SESSION time_zone = '+00:00'")
        c.execute("SELECT MAX(DateTStamp) FROM appointment")
        before_stamp = c.fetchone()[0]
        counts = {}
        for table in ("appointment", "paysplit", "adjustment", "commlog"):
            c.execute(f"SELECT COUNT(*) FROM {table}")
            counts[table] = c.fetchone()[0]
        summary = apply_changes(source, 400, seed=5, today=TODAY)
        assert summary.total >= 400
        for table in ("appointment", "paysplit", "adjustment", "commlog"):
            change = summary.tables[table]
            assert change.deleted >= 1, table
            c.execute(f"SELECT COUNT(*) FROM {table}")
            assert c.fetchone()[0] == counts[table] + change.inserted - change.deleted, table
        # completed today: MySQL bumped their change timestamps itself
        c.execute(
            "SELECT COUNT(*), MIN(DateTStamp) FROM appointment "
            "WHERE AptStatus = 2 AND DATE(AptDateTime) = %s",
            (TODAY,),
        )
        done, oldest = c.fetchone()
        assert done >= 1 and oldest > before_stamp
        c.execute("SELECT MIN(DateTStamp) FROM procedurelog WHERE ProcStatus = 2 AND ProcDate = %s", (TODAY,))
        assert c.fetchone()[0] > before_stamp
        c.execute("SELECT COUNT(*) FROM appointment WHERE DateTStamp > %s", (before_stamp,))
        assert c.fetchone()[0] >= summary.tables["appointment"].updated // 2
        c.execute(
            "SELECT COUNT(*) FROM histappointment h LEFT JOIN appointment a USING (AptNum) "
            "WHERE h.HistApptAction = 4 AND h.HistDateTStamp > %s AND a.AptNum IS NULL",
            (before_stamp,),
        )
        assert c.fetchone()[0] == summary.tables["appointment"].deleted
        _ledger_holds(c, TODAY)
        _foreign_keys_hold(c)
        conn.close()


def test_existing_database_is_refused_and_untouched(mysql_server):
    practice = generate_practice(GeneratorConfig(seed=1, patients=50, today=TODAY))
    with fresh_database(mysql_server) as source:
        conn = connect(source)
        with conn.cursor() as c:
            c.execute("CREATE TABLE keepme (id INT PRIMARY KEY)")
            c.execute("INSERT INTO keepme VALUES (1), (2)")
        with pytest.raises(RefusedToOverwrite, match="--replace"):
            write_to_mariadb(practice, source)
        with conn.cursor() as c:
            c.execute("SELECT COUNT(*) FROM keepme")
            assert c.fetchone()[0] == 2
            c.execute("SHOW TABLES")
            assert [r[0] for r in c.fetchall()] == ["keepme"]
        conn.close()
        report = write_to_mariadb(practice, source, replace=True)
        assert report.total == practice.row_count
        conn = connect(source)
        with conn.cursor() as c:
            c.execute("SHOW TABLES LIKE 'keepme'")
            assert c.fetchall() == ()
        conn.close()


def test_unreachable_server_is_a_clear_error():
    practice = generate_practice(GeneratorConfig(seed=1, patients=50, today=TODAY))
    with pytest.raises(SourceUnreachable, match=r"cannot reach MySQL at 127\.0\.0\.1:1"):
        write_to_mariadb(practice, MySQLSource(port=1, database="nowhere"))
    with pytest.raises(SourceUnreachable):
        apply_changes(MySQLSource(port=1, database="nowhere"), 10)


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.path.join(PROJECT, "src"))
    return subprocess.run(
        [sys.executable, "-m", "dental_etl", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT,
        timeout=120,
    )


def test_cli_prints_one_line_for_an_unreachable_server():
    done = _cli("--source", "mysql://root@127.0.0.1:1/nowhere", "generate", "--patients", "60")
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot reach MySQL at 127.0.0.1:1" in lines[0]


@pytest.mark.parametrize(
    "args", [["--patients", "0"], ["--patients", "-3"], ["--rows", "10"], ["--patients", "99999999"]]
)
def test_cli_refuses_nonsense_scale_before_writing(mysql_server, args):
    with fresh_database(mysql_server, create=False) as source:
        done = _cli("--source", source.url, "generate", *args)
        assert done.returncode == 2
        assert "error:" in done.stderr and ("--patients" in done.stderr or "--rows" in done.stderr)
        conn = connect(source, database=False)
        with conn.cursor() as c:
            c.execute(
                "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (source.database,)
            )
            assert c.fetchone()[0] == 0
        conn.close()


def test_driver_error_types_are_not_leaked():
    assert issubclass(SourceUnreachable, Exception)
    assert pymysql.err.OperationalError is not SourceUnreachable


def test_cli_generates_then_applies_changes(mysql_server):
    with fresh_database(mysql_server, create=False) as source:
        done = _cli(
            "--source", source.url, "generate", "--patients", "60", "--today", "2025-06-30", "--seed", "3"
        )
        assert done.returncode == 0, done.stderr
        assert "rows in 42 tables" in done.stdout
        again = _cli("--source", source.url, "generate", "--patients", "60")
        assert again.returncode == 2 and "--replace" in again.stderr
        changed = _cli("--source", source.url, "generate", "--changes", "50", "--today", "2025-06-30")
        assert changed.returncode == 0, changed.stderr
        assert "securitylog" in changed.stdout
