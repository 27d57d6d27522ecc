"""What a `dental sync` process loads: every second of imports is paid on every (cron) run, and an
incremental sync is mostly start-up. Each check runs in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def _loaded(code: str) -> set[str]:
    """The top-level packages loaded after running `code` in a fresh interpreter."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_command_line_loads_no_dataframe_library() -> None:
    loaded = _loaded("import dental_etl.cli")
    assert not loaded & {"pandas", "polars", "duckdb", "psycopg", "sqlmesh", "connectorx"}


@pytest.mark.parametrize(
    ("writer", "foreign"),
    [("dental_etl.sync.written.postgres", "duckdb"), ("dental_etl.sync.written.duckdb", "psycopg")],
)
def test_a_sync_loads_its_own_warehouse_driver_only(writer: str, foreign: str) -> None:
    loaded = _loaded(f"import dental_etl.cli, dental_etl.sync.runner, {writer}")
    assert foreign not in loaded
    assert not loaded & {"pandas", "polars"}


def test_the_watermark_of_a_time_zone_aware_column_does_not_load_pandas() -> None:
    code = (
        "import struct\n"
        "from datetime import datetime\n"
        "import pyarrow as pa\n"
        "from dental_etl.sync.table_sync import _max_naive\n"
        "ticks = pa.py_buffer(struct.pack('<3q', 0, 1_751_284_800_000_000, 5))\n"
        "stamps = pa.Array.from_buffers(pa.timestamp('us', tz='UTC'), 3, [None, ticks])\n"
        "assert _max_naive(pa.chunked_array([stamps])) == datetime(2025, 6, 30, 12, 0)\n"
    )
    assert "pandas" not in _loaded(code)


def test_the_demo_command_default_is_the_demo_database() -> None:
    from dental_etl import demo
    from dental_etl.cli import demo as demo_command

    assert demo_command.DEMO_DATABASE == demo.DEMO_DATABASE


def test_the_project_config_is_read_without_jinja() -> None:
    root = str(Path(__file__).resolve().parents[2])
    code = f"import pathlib\nfrom dental_etl import settings\nsettings.load_settings(pathlib.Path({root!r}))"
    assert "jinja2" not in _loaded(code)
