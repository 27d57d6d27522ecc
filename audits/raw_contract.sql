-- The loader's contract for one raw table: the primary key is set and unique, and every row
-- carries its load metadata (_loaded_at, _sync_run_id).
-- On PostgreSQL (VERSION() says which engine: external models get no Python macros) the
-- warehouse enforces it itself (the loader declares the primary key and the
-- load columns NOT NULL; tests/integration/test_models_warehouse.py checks that a duplicate is
-- refused), so no row is read. Elsewhere (DuckDB's raw tables carry no constraints, which would
-- slow every load) only the keys of rows written after the last transform are grouped: a key
-- becomes duplicate or NULL only by a write, and the rows before were checked by an earlier run
-- (the first run checks every row). A GROUP BY over the whole table cost up to a second per table
-- on every run. `_dental.transform_state` is created before any plan or run (config.yaml, before_all).
AUDIT (name raw_contract);
SELECT @column AS key_value, COUNT(*) AS row_count
FROM @this_model
WHERE
  NOT VERSION() LIKE 'PostgreSQL%'
  AND @column IN (
    SELECT @column
    FROM @this_model
    WHERE _sync_run_id > (SELECT COALESCE(MAX(synced_through), -1) FROM _dental.transform_state)
  )
GROUP BY @column
HAVING COUNT(*) > 1 OR COUNT(_loaded_at) < COUNT(*)
UNION ALL
SELECT NULL AS key_value, COUNT(*) AS row_count
FROM @this_model
WHERE NOT VERSION() LIKE 'PostgreSQL%' AND (@column IS NULL OR _sync_run_id IS NULL)
HAVING COUNT(*) > 0
