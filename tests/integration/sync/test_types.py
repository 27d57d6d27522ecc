"""Every MySQL type OpenDental uses arrives in both warehouses equal to the source value, or with
the documented normalisation (raw_schema.py): zero and zero-in-date dates -> NULL, '0001-01-01'
kept, NUL characters stripped from text, TIME as an interval, TIMESTAMP in UTC."""

from __future__ import annotations

import decimal
from datetime import date, datetime, timedelta
from pathlib import Path

import connectorx as cx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dental_etl.settings import DuckDBWarehouse, MySQLSource, PostgresWarehouse
from dental_etl.sync.runner import run_sync
from tests.integration.sync.helpers import make_settings, mysql_execute, warehouse_rows

COLUMNS = {
    "Num": "bigint(20) NOT NULL",
    "BigVal": "bigint(20) NOT NULL",
    "IntVal": "int(11) NOT NULL",
    "TinyU": "tinyint(3) unsigned NOT NULL",
    "TinyS": "tinyint(4) NOT NULL",
    "Flag": "tinyint(1) NOT NULL",
    "SmallU": "smallint(5) unsigned NOT NULL",
    "SmallS": "smallint(6) NOT NULL",
    "Amount": "double NOT NULL",
    "Ratio": "float NOT NULL",
    "Price": "decimal(10,2) NOT NULL",
    "ADate": "date NOT NULL",
    "ADateTime": "datetime NOT NULL",
    "AStamp": "timestamp NULL DEFAULT NULL",
    "ATime": "time NOT NULL",
    "Code": "char(1) NOT NULL",
    "Name": "varchar(255) NOT NULL",
    "Note": "text NOT NULL",
    "Big": "mediumtext NOT NULL",
    "Raw": "blob NOT NULL",
}
ZERO_DATE = "0000-00-00"

# utf8mb3: the Basic Multilingual Plane without surrogates; NUL included on purpose
_text = st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=40)
_dates = st.one_of(
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(lambda d: d.isoformat()),
    st.sampled_from([ZERO_DATE, "2020-00-15", "2020-03-00", "0000-05-10", "0001-01-01"]),
)
_datetimes = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)).map(
        lambda d: d.replace(microsecond=0).isoformat(sep=" ")
    ),
    st.sampled_from([ZERO_DATE + " 00:00:00", "0001-01-01 00:00:00"]),
)
_stamps = st.one_of(
    st.none(),
    st.just(ZERO_DATE + " 00:00:00"),
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2038, 1, 18)).map(
        lambda d: d.replace(microsecond=0).isoformat(sep=" ")
    ),
)
_times = st.integers(min_value=-(838 * 3600 + 59 * 60 + 59), max_value=838 * 3600 + 59 * 60 + 59)

ROW = st.fixed_dictionaries(
    {
        "BigVal": st.integers(-(2**63), 2**63 - 1),
        "IntVal": st.integers(-(2**31), 2**31 - 1),
        "TinyU": st.integers(0, 255),
        "TinyS": st.integers(-128, 127),
        "Flag": st.integers(-128, 127),
        "SmallU": st.integers(0, 65535),
        "SmallS": st.integers(-32768, 32767),
        "Amount": st.floats(allow_nan=False, allow_infinity=False, width=64),
        "Ratio": st.floats(allow_nan=False, allow_infinity=False, width=32),
        "Price": st.decimals(min_value=-99999999, max_value=99999999, places=2, allow_nan=False),
        "ADate": _dates,
        "ADateTime": _datetimes,
        "AStamp": _stamps,
        "ATime": _times,
        "Code": st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)), max_size=1),
        "Name": _text,
        "Note": _text,
        "Big": _text,
        "Raw": st.binary(max_size=40),
    }
)


def _time_literal(seconds: int) -> str:
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    return f"{sign}{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _date_or_none(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None  # zero date or zero-in-date: the documented NULL


def _datetime_or_none(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def expected(num: int, row: dict) -> tuple:
    """The documented normalisation, written out independently of the loader."""
    strip = lambda s: s.replace("\x00", "")  # noqa: E731
    return (
        num,
        row["BigVal"],
        row["IntVal"],
        row["TinyU"],
        row["TinyS"],
        row["Flag"],
        row["SmallU"],
        row["SmallS"],
        row["Amount"],
        row["Ratio"],
        row["Price"].normalize() if row["Price"] != 0 else decimal.Decimal(0),
        _date_or_none(row["ADate"]),
        _datetime_or_none(row["ADateTime"]),
        _datetime_or_none(row["AStamp"]),
        timedelta(seconds=row["ATime"]),
        strip(row["Code"]).rstrip(" "),  # CHAR drops trailing spaces in MySQL itself
        strip(row["Name"]),
        strip(row["Note"]),
        strip(row["Big"]),
        row["Raw"],
    )


def _load(source: MySQLSource, rows: list[dict]) -> None:
    body = ", ".join(f"`{name}` {kind}" for name, kind in COLUMNS.items())
    mysql_execute(source, "DROP TABLE IF EXISTS typed", f"CREATE TABLE typed ({body}, PRIMARY KEY (Num))")
    names = list(COLUMNS)
    placeholders = ", ".join("%s" for _ in names)
    params = []
    for num, row in enumerate(rows, start=1):
        values = dict(row, Num=num, ATime=_time_literal(row["ATime"]))
        params.append(tuple(values[n] for n in names))
    if params:
        mysql_execute(source, f"INSERT INTO typed VALUES ({placeholders})", params=params)


# no shrinking: each example costs real syncs, and the falsifying example is printed as found
@settings(
    max_examples=12,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rows=st.lists(ROW, min_size=1, max_size=12))
def test_every_opendental_type_round_trips(
    rows: list[dict], source: MySQLSource, warehouse: DuckDBWarehouse | PostgresWarehouse, tmp_path: Path
) -> None:
    _load(source, rows)
    settings_ = make_settings(tmp_path, source, warehouse)
    run = run_sync(settings_, ["typed"], full=True)
    assert [t.error for t in run.tables] == [None]
    got = warehouse_rows(settings_, "typed", list(COLUMNS), "Num")
    assert got == [expected(num, row) for num, row in enumerate(rows, start=1)]


def test_connectorx_reads_tinyint_as_integers_not_booleans(source: MySQLSource) -> None:
    """connectorx releases have mapped tinyint(1) to boolean; 0.4.6 keeps the value. Keep it so."""
    mysql_execute(
        source,
        "CREATE TABLE tiny (Id bigint PRIMARY KEY, B tinyint(1) NOT NULL, S tinyint(4) NOT NULL,"
        " U tinyint(3) unsigned NOT NULL)",
        "INSERT INTO tiny VALUES (1, 2, -1, 255), (2, 1, 0, 0), (3, -128, 127, 200)",
    )
    table = cx.read_sql(source.url, "SELECT B, S, U FROM tiny ORDER BY Id", return_type="arrow")
    assert [str(t) for t in table.schema.types] == ["int8", "int8", "uint8"]
    assert table.to_pydict() == {"B": [2, 1, -128], "S": [-1, 0, 127], "U": [255, 0, 200]}
