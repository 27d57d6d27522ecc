"""Any sequence of inserts, updates, hard deletes and syncs leaves every warehouse table equal to
its source table — InnoDB and MyISAM, DuckDB and PostgreSQL, with the watermark lag at zero so
the change filter (not a re-read of everything) is what is being tested."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dental_etl.settings import DuckDBWarehouse, MySQLSource, PostgresWarehouse, Settings
from dental_etl.sync.runner import run_sync
from tests.integration.sync.helpers import make_settings, mysql_execute, source_rows, warehouse_rows

TABLES = {"inno": "InnoDB", "myi": "MyISAM"}
COLUMNS = ["Id", "PatNum", "Amount", "Status", "Note", "ProcDate", "DateTStamp"]
DDL = """CREATE TABLE {name} (
  Id bigint NOT NULL AUTO_INCREMENT, PatNum bigint NOT NULL, Amount double NOT NULL,
  Status tinyint unsigned NOT NULL, Note varchar(100) NOT NULL, ProcDate date NOT NULL,
  DateTStamp timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  PRIMARY KEY (Id), KEY (DateTStamp)) ENGINE={engine}"""

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.integers(1, 8)),
        st.tuples(st.just("update"), st.integers(2, 4), st.integers(0, 3)),
        st.tuples(st.just("delete"), st.integers(2, 6), st.integers(0, 5)),
        st.tuples(st.just("sync")),
    ),
    max_size=10,
)


def _insert(source: MySQLSource, count: int, rng: random.Random) -> None:
    rows = [
        (
            rng.randint(1, 50),
            round(rng.uniform(-500, 500), 2),
            rng.randint(0, 255),
            rng.choice(["", "ok", "réglé", "a\tb"]),
            rng.choice(["0000-00-00", "0001-01-01", "2024-05-17"]),
        )
        for _ in range(count)
    ]
    for name in TABLES:
        mysql_execute(
            source,
            f"INSERT INTO {name} (PatNum, Amount, Status, Note, ProcDate) VALUES (%s, %s, %s, %s, %s)",
            params=rows,
        )


def _apply(source: MySQLSource, op: tuple, rng: random.Random) -> None:
    kind = op[0]
    if kind == "insert":
        _insert(source, op[1], rng)
    elif kind == "update":
        modulus, rest = op[1], op[2] % op[1]
        for name in TABLES:
            mysql_execute(
                source,
                f"UPDATE {name} SET Amount = Amount + 1, Status = (Status + 7) % 256, Note = 'edited' "
                f"WHERE Id % {modulus} = {rest}",
            )
    elif kind == "delete":
        modulus, rest = op[1], op[2] % op[1]
        for name in TABLES:
            mysql_execute(source, f"DELETE FROM {name} WHERE Id % {modulus} = {rest}")


def _sync_and_compare(settings_: Settings, source: MySQLSource, *, full: bool = False) -> None:
    run = run_sync(settings_, list(TABLES), full=full, force=True)
    assert [(t.table, t.error) for t in run.tables] == [(n, None) for n in sorted(TABLES)]
    for name in TABLES:
        assert warehouse_rows(settings_, name, COLUMNS, "Id") == source_rows(source, name, COLUMNS, "Id"), (
            name
        )


# no shrinking: each example costs real syncs, and the falsifying example is printed as found
@settings(
    max_examples=10,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(initial=st.integers(0, 20), ops=OPS, seed=st.integers(0, 2**16))
def test_any_sequence_of_changes_and_syncs_leaves_an_exact_copy(
    initial: int,
    ops: list[tuple],
    seed: int,
    source: MySQLSource,
    warehouse: DuckDBWarehouse | PostgresWarehouse,
    tmp_path: Path,
) -> None:
    rng = random.Random(seed)
    for name, engine in TABLES.items():
        mysql_execute(source, f"DROP TABLE IF EXISTS {name}", DDL.format(name=name, engine=engine))
    _insert(source, initial, rng)
    settings_ = make_settings(tmp_path, source, warehouse, lag_seconds=0)
    _sync_and_compare(settings_, source, full=True)
    for op in ops:
        if op[0] == "sync":
            _sync_and_compare(settings_, source)
        else:
            _apply(source, op, rng)
    _sync_and_compare(settings_, source)
