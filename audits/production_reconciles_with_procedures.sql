-- Reconciliation: gross production in the mart equals completed production straight from staging
-- (ProcStatus 2, fee x units), for every month.
AUDIT (name production_reconciles_with_procedures);
WITH mart AS (
  SELECT CAST(DATE_TRUNC('month', date_day) AS DATE) AS month_start, SUM(gross_production) AS amount
  FROM @this_model
  GROUP BY 1
), source AS (
  SELECT CAST(DATE_TRUNC('month', proc_date) AS DATE) AS month_start, SUM(proc_fee * (unit_qty + base_units)) AS amount
  FROM staging.stg_procedurelog
  WHERE proc_status = 2 AND proc_date IS NOT NULL
  GROUP BY 1
)
SELECT COALESCE(m.month_start, s.month_start) AS month_start, m.amount AS mart_amount, s.amount AS source_amount
FROM mart AS m
FULL OUTER JOIN source AS s
  ON s.month_start = m.month_start
WHERE ABS(COALESCE(m.amount, 0) - COALESCE(s.amount, 0)) >= 0.01
