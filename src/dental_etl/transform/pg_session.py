"""The PostgreSQL session settings every model statement and audit runs with.

JIT compiles every statement estimated to be expensive before running it: 0.3-1.7 s of LLVM
inlining and optimisation per statement here, more than it saves on queries of a few seconds
(merging 37,000 rows: 3.4 s with it, 2.5 s without; an audit that reads no row: 0.9 s). The
default work_mem (4 MB) is an OLTP server's: a model's hash aggregates and joins over a few
hundred thousand rows spill to disk with it (patient_retention's visit months once took seven
minutes in 444,220 batches).

`dental transform` opens SQLMesh's connections with them (libpq `options`), so audits get them
too; on the postgres gateway the models also set them themselves (`@session_settings()`, a
pre-statement of that gateway's `model_defaults` in config.yaml), for `sqlmesh plan` / `sqlmesh run`
started by hand.
"""

from __future__ import annotations

SESSION_SETTINGS: dict[str, str] = {"jit": "off", "work_mem": "64MB"}


def set_statements() -> list[str]:
    """`SET name = 'value'` for each setting."""
    return [f"SET {name} = '{value}'" for name, value in SESSION_SETTINGS.items()]


def libpq_options() -> str:
    """The settings as libpq's `options` connection parameter: `-c name=value ...`."""
    return " ".join(f"-c {name}={value}" for name, value in SESSION_SETTINGS.items())
