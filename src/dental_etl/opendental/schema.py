"""OpenDental 24.3's core tables as typed objects, read from the bundled `schema_core.json`.

The JSON is the single description of the source that every part of the project uses: the
synthetic generator builds its DDL and default values from it, the tests compare the live
MariaDB catalogue against it, and the models take their enum labels from it.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

import msgspec


class ChangeTracking(msgspec.Struct, frozen=True):
    """Which columns MySQL or OpenDental stamp when a row is written."""

    updated_on_every_change: tuple[str, ...] = ()
    set_on_insert_immutable: tuple[str, ...] = ()
    set_on_insert_app_editable: tuple[str, ...] = ()


class Column(msgspec.Struct, frozen=True):
    """One column as OpenDental declares it; `live_type` wins when unsigned-ness was reconstructed."""

    name: str
    type: str
    since: str = ""
    default: str | None = None
    pk: bool = False
    auto_increment: bool = False
    fk: str | None = None
    is_bool: bool = msgspec.field(default=False, name="bool")
    enum: str | None = None
    live_type: str | None = None
    unsigned: bool = False
    def_category: str | None = None
    def_category_value: int | None = None
    deprecated: bool = False
    sentinels: dict[str, str] | None = None
    coded_values: dict[str, str] | None = None
    crud_special: tuple[str, ...] = ()
    type_history: tuple[str, ...] = ()
    fk_list: str | None = None
    fk_polymorphic: str | None = None

    @property
    def mysql_type(self) -> str:
        """The column type as it appears in a live 24.3 database (`SHOW CREATE TABLE`)."""
        return self.live_type or self.type

    @property
    def base_type(self) -> str:
        """The type keyword without length or sign: `tinyint(3) unsigned` -> `tinyint`."""
        return re.split(r"[(\s]", self.mysql_type, maxsplit=1)[0].lower()

    @property
    def is_text(self) -> bool:
        return self.base_type in {"text", "mediumtext", "longtext", "tinytext"}

    @property
    def is_timestamp(self) -> bool:
        return self.base_type == "timestamp"


class Table(msgspec.Struct, frozen=True):
    name: str
    primary_key: str
    columns: tuple[Column, ...]
    change_tracking: ChangeTracking
    hard_deletes: str
    enums: dict[str, dict[str, str]]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def change_column(self) -> str | None:
        """The timestamp MySQL bumps on every change, or None when the table has none."""
        stamps = self.change_tracking.updated_on_every_change
        return stamps[0] if stamps else None


class _TableDoc(msgspec.Struct):
    primary_key: str
    columns: tuple[Column, ...]
    change_tracking: ChangeTracking
    hard_deletes: str
    enums: dict[str, dict[str, str]] = {}


class _SchemaDoc(msgspec.Struct):
    opendental_version: str
    tables: dict[str, _TableDoc]


class Schema(msgspec.Struct, frozen=True):
    version: str
    tables: dict[str, Table]

    def __getitem__(self, name: str) -> Table:
        return self.tables[name]

    def __iter__(self):  # type: ignore[override]
        return iter(self.tables.values())


@functools.cache
def load_schema() -> Schema:
    """Parse the bundled schema once per process."""
    raw = resources.files("dental_etl.opendental").joinpath("schema_core.json").read_bytes()
    doc = msgspec.json.decode(raw, type=_SchemaDoc)
    tables = {
        name: Table(
            name=name,
            primary_key=t.primary_key,
            columns=t.columns,
            change_tracking=t.change_tracking,
            hard_deletes=t.hard_deletes,
            enums=t.enums,
        )
        for name, t in doc.tables.items()
    }
    return Schema(version=doc.opendental_version, tables=tables)
