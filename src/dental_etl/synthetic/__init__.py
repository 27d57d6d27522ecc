"""A synthetic OpenDental practice: realistic, deterministic, from a toy to 17.8 million rows.

Public surface:
- `GeneratorConfig`, `generate_practice(config) -> Practice` (all 42 core tables as polars frames,
  `Practice.to_arrow()` in the warehouse raw format);
- `write_to_mariadb(practice, source, replace=..., progress=...)`: OpenDental DDL + bulk load;
- `apply_changes(source, n_changes, seed=..., today=...)`: a day of activity on an existing database.
"""

from dental_etl.synthetic.changes import ChangeSummary, apply_changes
from dental_etl.synthetic.config import GeneratorConfig
from dental_etl.synthetic.mariadb import WriteReport, write_to_mariadb
from dental_etl.synthetic.practice import Practice, arrow_schema, generate_practice

__all__ = [
    "ChangeSummary",
    "GeneratorConfig",
    "Practice",
    "WriteReport",
    "apply_changes",
    "arrow_schema",
    "generate_practice",
    "write_to_mariadb",
]
