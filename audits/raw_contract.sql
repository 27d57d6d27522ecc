-- The loader's contract for one raw table, in one query: the primary key is set and unique, and
-- every row carries its load metadata (_loaded_at, _sync_run_id). Only the keys of rows the loader
-- wrote after the last transform are grouped (a key becomes duplicate or NULL only by a write, and
-- the rows before were checked by an earlier run; the first run checks every row): a GROUP BY over
-- the whole table cost up to a second per table in DuckDB on every run. `_dental.transform_state`
-- is created before any plan or run (config.yaml, before_all).
AUDIT (name raw_contract);
SELECT @column AS key_value, COUNT(*) AS row_count
FROM @this_model
WHERE
  @column IS NULL
  OR _loaded_at IS NULL
  OR _sync_run_id IS NULL
  OR @column IN (
    SELECT @column
    FROM @this_model
    WHERE _sync_run_id > (SELECT COALESCE(MAX(synced_through), -1) FROM _dental.transform_state)
  )
GROUP BY @column
HAVING COUNT(*) > 1 OR @column IS NULL OR COUNT(_loaded_at) < COUNT(*) OR COUNT(_sync_run_id) < COUNT(*)
