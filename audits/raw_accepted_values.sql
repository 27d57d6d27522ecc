-- A status code of a raw table within OpenDental's enum (codegen.KPI_ENUM_COLUMNS): a value
-- outside it stops the run, because the KPIs reading it would silently be wrong. Only the rows
-- written after the last transform are read: a code changes only by a write, and the rows before
-- were checked by an earlier run (the first run checks every row). Reading the whole table cost
-- up to two seconds a table on every PostgreSQL run; the loader's BRIN index on _sync_run_id finds
-- the new rows there. NULL is not flagged, as SQLMesh's own accepted_values does not.
AUDIT (name raw_accepted_values);
SELECT *
FROM @this_model
WHERE
  @column NOT IN @is_in
  AND _sync_run_id > (SELECT COALESCE(MAX(synced_through), -1) FROM _dental.transform_state)
