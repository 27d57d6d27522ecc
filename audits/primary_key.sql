-- A key column must be set and unique: one query instead of not_null + unique_values.
AUDIT (name primary_key);
SELECT @column AS key_value, COUNT(*) AS row_count
FROM @this_model
GROUP BY @column
HAVING COUNT(*) > 1 OR @column IS NULL
