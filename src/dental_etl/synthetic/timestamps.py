"""MySQL `timestamp` change columns (DateTStamp, SecDateTEdit) with realistic past values.

A live OpenDental database does not have one timestamp per row edit: rows last touched before
the database's last version upgrade share that upgrade's time, and nightly jobs (aging) bump many
rows at once. Nothing is stamped after 23:00 the day before `today`, so that `--changes`, run
later, always moves the timestamps forward (MySQL's own ON UPDATE) and an incremental loader's
watermark sees them.
"""

from __future__ import annotations

import polars as pl

from dental_etl.synthetic.columns import table
from dental_etl.synthetic.rand import DAY, datetimes


def upgrade_time(today_day: int) -> int:
    """Seconds: the last version upgrade, about 13 months ago at 02:14:07."""
    return (today_day - 400) * DAY + 2 * 3600 + 14 * 60 + 7


def stamp(name: str, frame: pl.DataFrame, *, upgrade: int, cap: int, setup: int) -> pl.DataFrame:
    """Set the table's change column from `_edit` (seconds of the row's last edit; `setup` if absent)."""
    column = table(name).change_column
    if column is None:
        return frame
    edit = frame["_edit"] if "_edit" in frame.columns else pl.Series([setup] * frame.height, dtype=pl.Int64)
    edit = edit.cast(pl.Int64)
    value = pl.select(pl.when(edit < upgrade).then(upgrade).otherwise(edit).clip(upper_bound=cap)).to_series()
    return frame.with_columns(datetimes(value).alias(column))
