-- Reconciliation: the four aging buckets add up to the family balance (to the cent).
AUDIT (name aging_buckets_sum_to_balance);
SELECT *
FROM @this_model
WHERE ABS(bal_0_30 + bal_31_60 + bal_61_90 + bal_over_90 - bal_total) >= 0.005
