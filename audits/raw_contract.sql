-- The loader's contract for one raw table, in one query: the primary key is set and unique, and
-- every row carries its load metadata (_loaded_at, _sync_run_id).
AUDIT (name raw_contract);
SELECT @column AS key_value, COUNT(*) AS row_count
FROM @this_model
GROUP BY @column
HAVING COUNT(*) > 1 OR @column IS NULL OR COUNT(_loaded_at) < COUNT(*) OR COUNT(_sync_run_id) < COUNT(*)
