"""`dental transform` from the command line: a warehouse that cannot be reached gives one clear
line naming it and a non-zero exit, before anything is written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def test_unreachable_postgres_warehouse_is_one_clear_line() -> None:
    env = dict(os.environ, PYTHONPATH=str(PROJECT / "src"), DENTAL_PG_PORT="1", DENTAL_PG_DATABASE="nowhere")
    done = subprocess.run(
        [sys.executable, "-m", "dental_etl", "--gateway", "postgres", "transform"],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert "cannot reach warehouse postgresql://postgres@127.0.0.1:1/nowhere" in done.stderr
    assert "Traceback" not in done.stderr


def test_empty_duckdb_warehouse_asks_for_a_sync_first(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.duckdb"
    env = dict(os.environ, PYTHONPATH=str(PROJECT / "src"), DENTAL_DUCKDB_PATH=str(database))
    done = subprocess.run(
        [sys.executable, "-m", "dental_etl", "transform"],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert "42 of the 42 raw tables missing): run `dental sync` first" in done.stderr
    assert "Traceback" not in done.stderr
