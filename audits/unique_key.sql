-- A key of several columns is unique and set: one query. When a unique index on the key
-- guarantees uniqueness, only NULLs are looked for (macros/keys.py).
AUDIT (name unique_key);
SELECT * FROM @key_violations(@columns) AS violations
