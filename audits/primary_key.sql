-- A key column must be set and unique: one query instead of not_null + unique_values. What the
-- table's unique index and NOT NULL declarations already guarantee is not scanned for
-- (macros/keys.py).
AUDIT (name primary_key);
SELECT * FROM @key_violations(@column) AS violations
