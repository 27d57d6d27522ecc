-- Reconciliation: gross production in the mart equals completed production computed straight from
-- the raw OpenDental table (ProcStatus 2, fee x units), month by month.
AUDIT (name production_reconciles_with_procedures);
WITH mart AS (
  SELECT CAST(DATE_TRUNC('month', date_day) AS DATE) AS month_start, SUM(gross_production) AS amount
  FROM @this_model
  GROUP BY 1
), source AS (
  SELECT CAST(DATE_TRUNC('month', procdate) AS DATE) AS month_start, SUM(procfee * (unitqty + baseunits)) AS amount
  FROM raw.procedurelog
  WHERE procstatus = 2 AND procdate IS NOT NULL AND procdate <> DATE '0001-01-01'
  GROUP BY 1
)
SELECT COALESCE(m.month_start, s.month_start) AS month_start, m.amount AS mart_amount, s.amount AS source_amount
FROM mart AS m
FULL OUTER JOIN source AS s
  ON s.month_start = m.month_start
WHERE ABS(COALESCE(m.amount, 0) - COALESCE(s.amount, 0)) >= 0.01
