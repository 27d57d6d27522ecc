"""What the last plan left behind, so a run can skip planning when the project has not changed.

Planning is the expensive half of SQLMesh's fixed cost: loading and rendering every model to
compare it with the environment (~10 s for this project, whatever the data). After a plan,
`run_transform` records the project's fingerprint (a hash of every file a plan reads) with the
plan id SQLMesh gave the production environment and the models that read the run date. The next
run that finds the same fingerprint *and* the same plan id (nobody planned in between, say with
`sqlmesh plan`) runs straight from SQLMesh's state, without loading the project.

Models that read the run date (`@execution_ds`: aging as of today, recall due ...) refresh when
the date changes; within a day they change only with their inputs, which the run selects anyway.

The record is one row in `_dental.transform_state`, next to the loader's state in the warehouse.
"""

from __future__ import annotations

import hashlib
import json
import typing as t
from datetime import UTC, datetime
from pathlib import Path

import msgspec

STATE_TABLE = "_dental.transform_state"
STATE_COLUMNS = (
    "fingerprint TEXT NOT NULL, plan_id TEXT NOT NULL, date_dependent_models TEXT NOT NULL,"
    " run_date TEXT, synced_through BIGINT, written_at TIMESTAMP NOT NULL"
)

# the aging's log of families to age again, and from which date (macros/aging.py); emptied by a
# successful transform (transform/changes.py)
FAMILY_CHANGES = "_dental.family_changes"
FAMILY_CHANGES_COLUMNS = "guarantor_id BIGINT NOT NULL, from_date DATE"

# keys whose row an upstream model rewrote or deleted, as they were before (`@remember_keys`,
# macros/incremental.py): e.g. the appointment a changed procedure was attached to, for
# `int_appointments` to recompute it; emptied by a successful transform like the families
KEY_CHANGES = "_dental.key_changes"
KEY_CHANGES_COLUMNS = "topic TEXT NOT NULL, key_value BIGINT NOT NULL, day DATE"
# the same for a mart kept by day, provider and clinic (`@remember_groups`): the group a changed
# or deleted row counted in before, for `production_income_daily` to recompute it
GROUP_CHANGES = "_dental.group_changes"
GROUP_CHANGES_COLUMNS = "topic TEXT NOT NULL, day DATE, provider_id BIGINT, clinic_id BIGINT"

# what a plan reads: the SQLMesh project (tests are not: runs skip them)
_PROJECT_FILES = ("config.yaml", "config.yml", "external_models.yaml")
_PROJECT_FOLDERS = ("models", "audits", "macros")


class ProjectState(msgspec.Struct, frozen=True):
    fingerprint: str  # project_fingerprint() when the plan ran
    plan_id: str  # the production environment's plan id after it
    date_dependent_models: list[str]  # models that read @execution_ds ...
    run_date: str | None = None  # ... and the @execution_ds they were last refreshed for
    synced_through: int | None = None  # the newest loader run the last transform had seen


def project_fingerprint(project_dir: Path) -> str:
    """SHA-256 over the path and bytes of every project file, and the SQLMesh version."""
    import sqlmesh

    digest = hashlib.sha256(f"sqlmesh {sqlmesh.__version__}\n".encode())
    files = [project_dir / name for name in _PROJECT_FILES if (project_dir / name).is_file()]
    for folder in _PROJECT_FOLDERS:
        if (project_dir / folder).is_dir():
            files += sorted(p for p in (project_dir / folder).rglob("*") if p.is_file() and _counts(p))
    for path in files:
        digest.update(str(path.relative_to(project_dir)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _counts(path: Path) -> bool:
    return "__pycache__" not in path.parts and not path.name.startswith(".")


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def read_state(adapter: t.Any) -> ProjectState | None:
    """The recorded state, or None (never planned by `run_transform`, or an older layout)."""
    try:
        rows = adapter.fetchall(
            "SELECT fingerprint, plan_id, date_dependent_models, run_date, synced_through"
            f" FROM {STATE_TABLE}",
            quote_identifiers=False,
        )
    except Exception:  # no table yet: the first transform on this warehouse
        return None
    if len(rows) != 1:
        return None
    fingerprint, plan_id, models, run_date, synced_through = rows[0]
    try:
        return ProjectState(
            str(fingerprint),
            str(plan_id),
            list(json.loads(models)),
            str(run_date) if run_date else None,
            int(synced_through) if synced_through is not None else None,
        )
    except (TypeError, ValueError):
        return None


def last_applied_run(adapter: t.Any) -> int | None:
    """The newest loader run the last successful transform applied (`synced_through`): every row a
    model reads that changed since carries a newer run id. None when no transform recorded one."""
    try:
        row = adapter.fetchone(f"SELECT MAX(synced_through) FROM {STATE_TABLE}", quote_identifiers=False)
    except Exception:  # no table yet
        return None
    return None if not row or row[0] is None else int(row[0])


def write_state(adapter: t.Any, state: ProjectState) -> None:
    """Replace the record (one transaction; the table is re-created, so an older layout goes)."""
    written_at = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")
    values = ", ".join(
        [
            _quoted(state.fingerprint),
            _quoted(state.plan_id),
            _quoted(json.dumps(state.date_dependent_models)),
            _quoted(state.run_date) if state.run_date else "NULL",
            str(int(state.synced_through)) if state.synced_through is not None else "NULL",
            f"CAST({_quoted(written_at)} AS TIMESTAMP)",
        ]
    )
    adapter.execute("CREATE SCHEMA IF NOT EXISTS _dental", quote_identifiers=False)
    with adapter.transaction():
        for sql in (
            f"DROP TABLE IF EXISTS {STATE_TABLE}",
            f"CREATE TABLE {STATE_TABLE} ({STATE_COLUMNS})",
            f"INSERT INTO {STATE_TABLE} VALUES ({values})",
        ):
            adapter.execute(sql, quote_identifiers=False)
