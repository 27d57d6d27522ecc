"""CREATE TABLE statements for OpenDental's tables, written the way OpenDental writes them.

OpenDental's conventions: every column NOT NULL with '' / 0 / '0001-01-01' as "none", text columns
without defaults, `timestamp` change columns maintained by MySQL itself, signed bigint keys,
utf8 (3-byte) tables, no foreign-key constraints.
"""

from __future__ import annotations

from dental_etl.mysql import quote_ident
from dental_etl.opendental.schema import Column, Table

# Secondary indexes we add beyond the primary key: the foreign keys OpenDental indexes itself for
# the big tables, plus the change-tracking timestamp that incremental extraction filters on.
_INDEXED_FK_COLUMNS = {"PatNum", "AptNum", "ProcNum", "ClaimNum", "PayNum", "Guarantor", "PlanNum"}

# OpenDental keeps its high-volume audit tables in MyISAM (no transactions, no consistent
# snapshot); the loader must cope with both engines.
MYISAM_TABLES = frozenset({"securitylog", "entrylog"})


def column_definition(col: Column) -> str:
    parts = [quote_ident(col.name), col.mysql_type, "NOT NULL"]
    if col.auto_increment:
        parts.append("AUTO_INCREMENT")
    elif col.is_timestamp:
        parts.append("DEFAULT current_timestamp() ON UPDATE current_timestamp()")
    elif col.default is not None and not col.is_text:
        parts.append(f"DEFAULT {col.default}")
    return " ".join(parts)


def index_columns(table: Table) -> list[str]:
    """Columns that get a secondary index (never the primary key)."""
    wanted = set(_INDEXED_FK_COLUMNS)
    if table.change_column:
        wanted.add(table.change_column)
    return [c.name for c in table.columns if c.name in wanted and c.name != table.primary_key]


def create_table(table: Table, *, with_indexes: bool = True) -> str:
    lines = [column_definition(c) for c in table.columns]
    lines.append(f"PRIMARY KEY ({quote_ident(table.primary_key)})")
    if with_indexes:
        lines += [f"KEY {quote_ident(name)} ({quote_ident(name)})" for name in index_columns(table)]
    engine = "MyISAM" if table.name in MYISAM_TABLES else "InnoDB"
    body = ",\n  ".join(lines)
    return f"CREATE TABLE {quote_ident(table.name)} (\n  {body}\n) ENGINE={engine} DEFAULT CHARSET=utf8mb3"


def add_indexes(table: Table) -> str | None:
    """ALTER TABLE adding the secondary indexes (bulk loads run faster with them added afterwards)."""
    names = index_columns(table)
    if not names:
        return None
    adds = ", ".join(f"ADD KEY {quote_ident(n)} ({quote_ident(n)})" for n in names)
    return f"ALTER TABLE {quote_ident(table.name)} {adds}"
