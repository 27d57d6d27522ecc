"""The editable table config (`dental_tables.yaml`): one plan per source table.

`dental discover` writes it; people edit it (strategy, keys, change column, chunk size); running
discover again keeps those edits, refreshes the facts, adds new tables and drops vanished ones,
and reports both. `dental sync` reads it; a table the file does not mention gets its default plan.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import yaml

from dental_etl.errors import ConfigError
from dental_etl.settings import MySQLSource, SyncSettings
from dental_etl.sync.discovered import SourceCatalogue, default_plan, read_catalogue, refresh_facts
from dental_etl.sync.plan import EDITABLE_FIELDS, Strategy, TablePlan

# libyaml when installed: the pure-Python parser takes ~0.2 s for 42 tables, ~2 s for 430
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

_HEADER = """\
# The loader's plan for every table of the OpenDental source — written by `dental discover`,
# read by `dental sync`. Edit freely: running `dental discover` again keeps what you set in
# {editable}
# and only refreshes the facts below them (engine, rows, bytes, size).
#
# strategy:  incremental  re-read rows whose change_column moved (and, with lookback_column, rows
#                         whose business date is within variables.dental.sync.lookback_days)
#            append       re-read rows above the highest primary key loaded (edits need --full)
#            full         reload the whole table every sync (tables without a change column)
#            skip         never copy this table
# deletes:   compare primary keys with the warehouse and delete rows that vanished from the source
# chunk_rows, partitions: rows per extracted chunk, connectorx partitions per chunk
"""


class TableConfig(msgspec.Struct, frozen=True):
    source: str
    discovered_at: str
    tables: dict[str, TablePlan]


class DiscoveryReport(msgspec.Struct, frozen=True):
    path: str
    tables: dict[str, TablePlan]
    added: list[str]
    removed: list[str]
    kept: list[str]
    seconds: float


def read_table_config(path: Path) -> TableConfig | None:
    """The table config, or None when it has not been written yet."""
    if not path.is_file():
        return None
    try:
        data = yaml.load(path.read_text(), Loader=_LOADER) or {}
        return msgspec.convert(data, type=TableConfig)
    except (yaml.YAMLError, msgspec.ValidationError) as exc:
        raise ConfigError(
            f"{path} is not a valid table config: {exc} (fix it, or delete it and run dental discover)"
        ) from None


def write_table_config(path: Path, config: TableConfig) -> None:
    header = _HEADER.format(editable="# " + ", ".join(EDITABLE_FIELDS))
    body = yaml.dump(msgspec.to_builtins(config), Dumper=_DUMPER, sort_keys=False, default_flow_style=False)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(header + body)
    tmp.replace(path)


def plans_for(
    catalogue: SourceCatalogue, config: TableConfig | None, settings: SyncSettings
) -> dict[str, TablePlan]:
    """The plan of every source table: the config file's where it has one, else the default."""
    existing = config.tables if config else {}
    return {
        name: existing[name] if name in existing else default_plan(table, settings)
        for name, table in sorted(catalogue.tables.items())
    }


def discover(source: MySQLSource, settings: SyncSettings, path: Path) -> DiscoveryReport:
    """Read the catalogue, merge it with the existing file and write the file back."""
    started = time.perf_counter()
    catalogue = read_catalogue(source)
    previous = read_table_config(path)
    old = previous.tables if previous else {}
    tables: dict[str, TablePlan] = {}
    for name, table in sorted(catalogue.tables.items()):
        tables[name] = refresh_facts(old[name], table) if name in old else default_plan(table, settings)
    config = TableConfig(
        source=source.display,
        discovered_at=datetime.now(UTC).replace(microsecond=0).isoformat(),
        tables=tables,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_table_config(path, config)
    return DiscoveryReport(
        path=str(path),
        tables=tables,
        added=sorted(set(tables) - set(old)) if previous else [],
        removed=sorted(set(old) - set(tables)),
        kept=sorted(set(tables) & set(old)),
        seconds=time.perf_counter() - started,
    )


def strategy_counts(tables: dict[str, TablePlan]) -> dict[str, int]:
    counts = {s.value: 0 for s in Strategy}
    for plan in tables.values():
        counts[plan.strategy.value] += 1
    return counts
