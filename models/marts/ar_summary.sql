MODEL (
  name marts.ar_summary,
  kind FULL,
  grain as_of_date,
  audits (primary_key(column := as_of_date), aging_buckets_sum_to_balance()),
  description 'Practice-wide accounts receivable as of every month end and the run date: the aging buckets summed over families, credit balances, pending insurance, and billing statements of the month.'
);

WITH totals AS (
  SELECT
    as_of_date,
    MAX(CASE WHEN is_current THEN 1 ELSE 0 END) = 1 AS is_current,
    SUM(bal_0_30) AS bal_0_30,
    SUM(bal_31_60) AS bal_31_60,
    SUM(bal_61_90) AS bal_61_90,
    SUM(bal_over_90) AS bal_over_90,
    SUM(bal_total) AS bal_total,
    SUM(ins_est) AS ins_est,
    SUM(CASE WHEN bal_total > 0 THEN bal_total ELSE 0 END) AS receivable,
    SUM(CASE WHEN bal_total < 0 THEN -bal_total ELSE 0 END) AS credit_balances,
    COUNT(CASE WHEN bal_total >= 0.005 THEN 1 END) AS families_owing,
    COUNT(CASE WHEN bal_total <= -0.005 THEN 1 END) AS families_in_credit
  FROM intermediate.int_ar_aging
  GROUP BY 1
), billing AS (
  SELECT
    LAST_DAY(date_sent) AS month_end,
    COUNT(*) AS statements_sent,
    SUM(balance_billed) AS amount_billed,
    SUM(paid_within_30_days) AS paid_within_30_days
  FROM intermediate.int_billing
  WHERE is_sent AND NOT is_receipt_or_invoice AND date_sent IS NOT NULL
  GROUP BY 1
)
SELECT
  t.as_of_date, -- a month end, or the run date
  t.is_current, -- TRUE for the run date
  t.bal_0_30, -- A/R 0-30 days over all families
  t.bal_31_60, -- A/R 31-60 days
  t.bal_61_90, -- A/R 61-90 days
  t.bal_over_90, -- A/R over 90 days
  t.bal_total, -- Total A/R: sum of family balances (credit balances net against it)
  t.receivable, -- sum of the positive family balances
  t.credit_balances, -- sum of the family credit balances (as positive amounts)
  t.ins_est, -- pending insurance estimates
  CAST(t.bal_over_90 AS DOUBLE) / NULLIF(t.bal_total, 0) AS share_over_90, -- A/R over 90 days / total A/R
  t.families_owing, -- families with a positive balance
  t.families_in_credit, -- families with a credit balance
  COALESCE(b.statements_sent, 0) AS statements_sent, -- billing statements sent in the as-of date's month (receipts and invoices excluded)
  COALESCE(b.amount_billed, 0) AS amount_billed, -- balances printed on those statements
  COALESCE(b.paid_within_30_days, 0) AS paid_within_30_days -- what the billed families paid within 30 days of each statement
FROM totals AS t
LEFT JOIN billing AS b
  ON b.month_end = LAST_DAY(t.as_of_date)
